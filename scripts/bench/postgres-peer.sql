-- The PostgreSQL peer of agentbox's credential hand-out (loaded by postgres-peer.py into a throwaway cluster).
--
-- The stack agentbox replaces kept its rows in PostgreSQL and handed out credentials from one database function:
-- the same tables as agentbox (docs: SCHEMA.md, only the columns the checks need), credentials encrypted with
-- pgcrypto in a `vault` schema, and handout() below, which checks the rules, decrypts and appends a hash-chained
-- audit record in one transaction.
--
-- The vault key is a per-cluster random key in the custom setting `peer.vault_key`, which postgres-peer.py writes
-- into postgresql.conf: like agentbox's master key it lives outside the tables, and reading it costs no lookup.

CREATE EXTENSION pgcrypto;

CREATE TABLE users (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user'))
);

CREATE TABLE tool_catalog (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    -- Capability name -> description, e.g. {"echo": "Answer with the request"}; its keys are the only capabilities.
    required_capabilities_schema jsonb NOT NULL DEFAULT '{}',
    is_enabled boolean NOT NULL DEFAULT true
);

-- Toolboxes.
CREATE TABLE account_tool_environments (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users,
    name text NOT NULL,
    provider text NOT NULL CHECK (provider IN ('local', 'digitalocean')),
    status text NOT NULL CHECK (status IN ('pending_provision', 'provisioning', 'active', 'error', 'pending_deprovision',
                                           'deprovisioning', 'archived'))
);
CREATE INDEX ON account_tool_environments (user_id);
CREATE INDEX ON account_tool_environments (status);

-- Toolbox tokens, by their SHA-256 only.
CREATE TABLE toolbox_tokens (
    token_hash bytea PRIMARY KEY,
    account_tool_environment_id uuid NOT NULL REFERENCES account_tool_environments ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX ON toolbox_tokens (account_tool_environment_id);

CREATE TABLE account_tool_instances (
    id uuid PRIMARY KEY,
    account_tool_environment_id uuid NOT NULL REFERENCES account_tool_environments,
    tool_catalog_id uuid NOT NULL REFERENCES tool_catalog,
    instance_name_on_toolbox text NOT NULL,
    status_on_toolbox text NOT NULL CHECK (status_on_toolbox IN ('pending_deploy', 'deploying', 'running', 'stopped', 'error',
                                                                 'pending_delete', 'deleting'))
);
CREATE INDEX ON account_tool_instances (account_tool_environment_id);
CREATE INDEX ON account_tool_instances (tool_catalog_id);

CREATE TABLE agents (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users,
    name text NOT NULL
);
CREATE INDEX ON agents (user_id);

CREATE TABLE agent_toolbox_access (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id uuid NOT NULL REFERENCES agents ON DELETE CASCADE,
    account_tool_environment_id uuid NOT NULL REFERENCES account_tool_environments ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, account_tool_environment_id)
);
CREATE INDEX ON agent_toolbox_access (account_tool_environment_id);

CREATE TABLE agent_toolbelt_items (
    id uuid PRIMARY KEY,
    agent_id uuid NOT NULL REFERENCES agents ON DELETE CASCADE,
    account_tool_instance_id uuid NOT NULL REFERENCES account_tool_instances ON DELETE CASCADE,
    is_active_for_agent boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, account_tool_instance_id)
);
CREATE INDEX ON agent_toolbelt_items (account_tool_instance_id);

-- One row per item and capability (unique), so "a denying row wins" is simply: the row must allow.
CREATE TABLE agent_tool_capability_permissions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_toolbelt_item_id uuid NOT NULL REFERENCES agent_toolbelt_items ON DELETE CASCADE,
    capability_name text NOT NULL,
    is_allowed boolean NOT NULL,
    UNIQUE (agent_toolbelt_item_id, capability_name)
);

-- The vault: pgp_sym_encrypt(secret, peer.vault_key), never plain text.
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (
    id uuid PRIMARY KEY,
    secret bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_tool_credentials (
    id uuid PRIMARY KEY,
    agent_toolbelt_item_id uuid NOT NULL REFERENCES agent_toolbelt_items ON DELETE CASCADE,
    credential_type text NOT NULL,
    vault_secret_id uuid NOT NULL REFERENCES vault.secrets,
    status text NOT NULL CHECK (status IN ('active', 'revoked', 'requires_reauth', 'error')),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The newest credential of an item is the one in force.
CREATE INDEX ON agent_tool_credentials (agent_toolbelt_item_id, created_at);
CREATE INDEX ON agent_tool_credentials (vault_secret_id);

-- Append-only and hash-chained like agentbox's: hash = HMAC-SHA256(vault key, prev_hash || the record's fields), the
-- first record following 32 zero bytes; never a secret, only ids, names and the rule that denied.
CREATE TABLE audit_log (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    target_type text,
    target_id text,
    outcome text NOT NULL CHECK (outcome IN ('ok', 'denied')),
    detail jsonb NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

-- The calls pgbench makes (the world's hand-outs), numbered 1..n for `\set b random(1, :nbindings)`.
CREATE TABLE bench_bindings (
    id integer PRIMARY KEY,
    token text NOT NULL,
    agent_id uuid NOT NULL,
    instance_id uuid NOT NULL,
    capability text NOT NULL
);

-- The hand-out: a toolbox, by its token, asks for the credential of the agent that calls p_capability of
-- p_instance. The rules are agentbox's, in its order, and the first that fails denies with agentbox's code (plus
-- toolbox_not_active, a rule agentbox's hand-out does not have); 'ok' comes with the secret. Every outcome appends
-- one audit record in the caller's transaction, so no audit record means no credential.
--
-- agentbox also redeems a single-use call ticket (the binding comes from it, not from the caller); the peer takes
-- the binding as arguments and skips that step, which flatters the peer.
CREATE FUNCTION handout(p_token text, p_agent uuid, p_instance uuid, p_capability text)
RETURNS TABLE (code text, secret text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_key text := current_setting('peer.vault_key');
    v_toolbox account_tool_environments;
    v_instance account_tool_instances;
    v_item agent_toolbelt_items;
    v_allowed boolean;
    v_credential agent_tool_credentials;
    v_prev bytea;
    v_record audit_log;
BEGIN
    code := 'ok';
    <<checks>>
    BEGIN
        SELECT e.* INTO v_toolbox
          FROM toolbox_tokens t JOIN account_tool_environments e ON e.id = t.account_tool_environment_id
         WHERE t.token_hash = digest(p_token, 'sha256') AND t.revoked_at IS NULL;
        IF NOT FOUND THEN code := 'toolbox_token_invalid'; EXIT checks; END IF;

        SELECT * INTO v_instance FROM account_tool_instances WHERE id = p_instance;
        IF NOT FOUND OR v_instance.account_tool_environment_id <> v_toolbox.id THEN
            code := 'instance_not_on_toolbox'; EXIT checks;
        END IF;

        IF v_toolbox.status <> 'active' THEN code := 'toolbox_not_active'; EXIT checks; END IF;

        PERFORM FROM agent_toolbox_access WHERE agent_id = p_agent AND account_tool_environment_id = v_toolbox.id;
        IF NOT FOUND THEN code := 'toolbox_access_denied'; EXIT checks; END IF;

        SELECT * INTO v_item FROM agent_toolbelt_items WHERE agent_id = p_agent AND account_tool_instance_id = p_instance;
        IF NOT FOUND THEN code := 'toolbelt_item_missing'; EXIT checks; END IF;
        IF NOT v_item.is_active_for_agent THEN code := 'toolbelt_item_inactive'; EXIT checks; END IF;

        PERFORM FROM tool_catalog WHERE id = v_instance.tool_catalog_id AND required_capabilities_schema ? p_capability;
        IF NOT FOUND THEN code := 'capability_unknown'; EXIT checks; END IF;

        SELECT is_allowed INTO v_allowed FROM agent_tool_capability_permissions
         WHERE agent_toolbelt_item_id = v_item.id AND capability_name = p_capability;
        IF v_allowed IS NOT TRUE THEN code := 'capability_denied'; EXIT checks; END IF;

        SELECT * INTO v_credential FROM agent_tool_credentials
         WHERE agent_toolbelt_item_id = v_item.id ORDER BY created_at DESC, id DESC LIMIT 1;
        IF NOT FOUND THEN code := 'credential_missing'; EXIT checks; END IF;
        -- credential_revoked, credential_requires_reauth, credential_error
        IF v_credential.status <> 'active' THEN code := 'credential_' || v_credential.status; EXIT checks; END IF;

        SELECT pgp_sym_decrypt(s.secret, v_key) INTO secret FROM vault.secrets s WHERE s.id = v_credential.vault_secret_id;
    END checks;

    -- The audit record. Its previous hash must be the newest record's, so appenders take turns: an advisory lock
    -- held to the end of the transaction (agentbox's audit chain is serialised too, by SQLite's single writer).
    PERFORM pg_advisory_xact_lock(hashtext('audit_log'));
    SELECT hash INTO v_prev FROM audit_log ORDER BY seq DESC LIMIT 1;
    v_record.at := now();
    v_record.actor := CASE WHEN v_toolbox.id IS NULL THEN 'anonymous' ELSE 'toolbox:' || v_toolbox.id::text END;
    v_record.action := 'credential.handout';
    v_record.target_type := 'account_tool_instance';
    v_record.target_id := p_instance::text;
    v_record.outcome := CASE WHEN code = 'ok' THEN 'ok' ELSE 'denied' END;
    v_record.detail := jsonb_build_object('toolbox_id', v_toolbox.id::text, 'agent_id', p_agent::text,
                                          'capability', p_capability)
                       || CASE WHEN code = 'ok' THEN jsonb_build_object('credential_id', v_credential.id::text)
                               ELSE jsonb_build_object('rule', code) END;
    v_record.prev_hash := coalesce(v_prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    v_record.hash := hmac(v_record.prev_hash || convert_to(jsonb_build_array(v_record.at, v_record.actor, v_record.action,
                              v_record.target_type, v_record.target_id, v_record.outcome, v_record.detail)::text, 'UTF8'),
                          convert_to(v_key, 'UTF8'), 'sha256');
    INSERT INTO audit_log (at, actor, action, target_type, target_id, outcome, detail, prev_hash, hash)
    VALUES (v_record.at, v_record.actor, v_record.action, v_record.target_type, v_record.target_id, v_record.outcome,
            v_record.detail, v_record.prev_hash, v_record.hash);
    RETURN NEXT;
END;
$$;
