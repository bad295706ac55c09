/// The console's pages for toolboxes, instances, agents and toolbelts.
extension ConsoleTemplates {
    static let resources: [(String, String)] = [
        ("toolboxes", toolboxes), ("toolbox", toolbox), ("instance", instance), ("agents", agents), ("agent", agent), ("item", item),
    ]

    static let toolboxes = """
        {{#hasToolboxes}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Region</th><th scope="col">Status</th></tr></thead>
        <tbody>
        {{#toolboxes}}<tr><td><a href="/console/toolboxes/{{id}}">{{name}}</a></td><td>{{provider}}</td><td>{{region}}</td>
        <td data-live="toolbox-status" data-id="{{id}}">{{status}}</td></tr>{{/toolboxes}}
        </tbody></table></div>
        {{/hasToolboxes}}
        {{^hasToolboxes}}<p>No toolbox yet: create one below.</p>{{/hasToolboxes}}
        <h2 id="create-heading">Create a toolbox</h2>
        <form method="post" action="/console/toolboxes" class="card" aria-labelledby="create-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <label for="name">Name</label>
        <input id="name" name="name" value="{{name}}" required>
        <label for="provider">Where</label>
        <select id="provider" name="provider">
        <option value="local">This machine's Docker engine (local)</option>
        {{#digitalOcean}}<option value="digitalocean">A DigitalOcean droplet</option>{{/digitalOcean}}
        </select>
        {{#digitalOcean}}
        <label for="region">Region (DigitalOcean)</label>
        <select id="region" name="region">{{#regions}}<option value="{{slug}}">{{name}} ({{slug}})</option>{{/regions}}</select>
        <label for="size">Size (DigitalOcean)</label>
        <select id="size" name="size">{{#sizes}}<option value="{{slug}}">{{slug}}: {{description}}</option>{{/sizes}}</select>
        {{/digitalOcean}}
        {{^digitalOcean}}<small>{{digitalOceanNote}}</small>{{/digitalOcean}}
        <button type="submit">Create</button>
        </form>

        """

    static let toolbox = """
        <dl class="facts">
        <dt>Status</dt><dd><span data-live="toolbox-status" data-id="{{id}}">{{status}}</span></dd>
        <dt>Detail</dt><dd data-live="toolbox-detail" data-id="{{id}}">{{detail}}</dd>
        <dt>Provider</dt><dd>{{provider}}{{#region}} in {{region}}, {{size}}{{/region}}</dd>
        <dt>Reachability</dt><dd data-live="toolbox-reachability" data-id="{{id}}">{{reachability}}</dd>
        <dt>Last heartbeat</dt><dd data-live="toolbox-heartbeat" data-id="{{id}}">{{heartbeat}}</dd>
        </dl>
        <h2>Instances</h2>
        {{#hasInstances}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Version</th><th scope="col">Host port</th></tr></thead>
        <tbody>
        {{#instances}}<tr><td><a href="/console/instances/{{id}}">{{name}}</a></td><td data-live="instance-status" data-id="{{id}}">{{status}}</td><td>{{version}}</td><td>{{port}}</td></tr>{{/instances}}
        </tbody></table></div>
        {{/hasInstances}}
        {{^hasInstances}}<p>No instance on this toolbox.</p>{{/hasInstances}}
        {{#open}}
        <h2 id="deploy-heading">Deploy a tool</h2>
        <form method="post" action="/console/toolboxes/{{id}}/instances" class="card" aria-labelledby="deploy-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <label for="tool">Tool</label>
        <select id="tool" name="tool">{{#tools}}<option value="{{id}}">{{name}} {{version}}</option>{{/tools}}</select>
        <label for="instance-name">Instance name</label>
        <input id="instance-name" name="name" value="{{instanceName}}" required aria-describedby="instance-name-hint">
        <small id="instance-name-hint">Lowercase letters, digits, '_', '.' or '-'.</small>
        <button type="submit">Deploy</button>
        </form>
        <h2 id="deprovision-heading">Deprovision</h2>
        <form method="post" action="/console/toolboxes/{{id}}/deprovision" class="card" aria-labelledby="deprovision-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label class="check"><input type="checkbox" name="cascade" value="yes"> Delete its instances too</label>
        <label class="check"><input type="checkbox" name="confirm" value="yes" required> Yes, deprovision {{name}}</label>
        <button type="submit" class="danger">Deprovision</button>
        </form>
        {{/open}}

        """

    static let instance = """
        <dl class="facts">
        <dt>Status</dt><dd data-live="instance-status" data-id="{{id}}">{{status}}</dd>
        <dt>Detail</dt><dd data-live="instance-detail" data-id="{{id}}">{{detail}}</dd>
        <dt>Toolbox</dt><dd><a href="/console/toolboxes/{{toolboxID}}">{{toolbox}}</a></dd>
        <dt>Version</dt><dd>{{version}}</dd>
        <dt>Port</dt><dd>{{port}}</dd>
        </dl>
        <div class="actions">
        {{#actions}}
        <form method="post" action="/console/instances/{{id}}/{{action}}" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit"{{#danger}} class="danger"{{/danger}}>{{label}}</button>
        </form>
        {{/actions}}
        </div>
        <h2>Recent events</h2>
        {{^events}}<p>None yet.</p>{{/events}}
        <ul class="events">{{#events}}<li><time>{{at}}</time> <strong>{{kind}}</strong> {{message}}</li>{{/events}}</ul>

        """

    static let agents = """
        {{#hasAgents}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Description</th></tr></thead>
        <tbody>{{#agents}}<tr><td><a href="/console/agents/{{id}}">{{name}}</a></td><td>{{description}}</td></tr>{{/agents}}</tbody>
        </table></div>
        {{/hasAgents}}
        {{^hasAgents}}<p>No agent yet.</p>{{/hasAgents}}
        <h2 id="create-heading">Create an agent</h2>
        <form method="post" action="/console/agents" class="card" aria-labelledby="create-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <label for="name">Name</label>
        <input id="name" name="name" value="{{name}}" required>
        <label for="description">Description</label>
        <input id="description" name="description" value="{{description}}">
        <button type="submit">Create</button>
        </form>

        """

    static let agent = """
        {{#description}}<p>{{description}}</p>{{/description}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <h2>Tokens</h2>
        {{#newToken}}
        <div class="card" role="status">
        <p><strong>The agent's new token, shown this once:</strong> copy it now.</p>
        <p><code id="new-token">{{newToken}}</code></p>
        </div>
        {{/newToken}}
        <ul>{{#tokens}}<li><code>{{prefix}}…</code> {{name}} {{#revoked}}(revoked){{/revoked}}
        {{^revoked}}<form method="post" action="/console/agents/{{agentID}}/tokens/{{id}}/revoke" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="danger">Revoke</button></form>{{/revoked}}</li>{{/tokens}}</ul>
        <form method="post" action="/console/agents/{{id}}/tokens" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">Issue a token</button>
        </form>
        <h2>Toolbox access</h2>
        <ul>{{#access}}<li>{{name}}</li>{{/access}}</ul>
        <form method="post" action="/console/agents/{{id}}/access" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="toolbox">Toolbox</label>
        <select id="toolbox" name="toolbox">{{#grantable}}<option value="{{id}}">{{name}}</option>{{/grantable}}</select>
        <button type="submit">Grant access</button>
        </form>
        <h2>Toolbelt</h2>
        {{#hasItems}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Instance</th><th scope="col">Active</th><th scope="col">Settings</th></tr></thead>
        <tbody>{{#items}}<tr><td>{{instance}}</td><td>{{active}}</td><td><a href="/console/toolbelt/{{id}}">Permissions and credentials</a></td></tr>{{/items}}</tbody>
        </table></div>
        {{/hasItems}}
        <form method="post" action="/console/agents/{{id}}/items" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="instance">Instance</label>
        <select id="instance" name="instance">{{#instances}}<option value="{{id}}">{{name}} on {{toolbox}}</option>{{/instances}}</select>
        <button type="submit">Add to the toolbelt</button>
        </form>

        """

    static let item = """
        <p>Agent <a href="/console/agents/{{agentID}}">{{agent}}</a>, instance <a href="/console/instances/{{instanceID}}">{{instance}}</a> of {{tool}}.</p>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/console/toolbelt/{{id}}/active" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="active" value="{{toggleTo}}">
        <span>{{#active}}Active for the agent.{{/active}}{{^active}}Switched off for the agent.{{/active}}</span>
        <button type="submit">{{toggleLabel}}</button>
        </form>
        <h2 id="permissions-heading">Capabilities the agent may call</h2>
        <form method="post" action="/console/toolbelt/{{id}}/permissions" class="card" aria-labelledby="permissions-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#capabilities}}<label class="check"><input type="checkbox" name="allow" value="{{name}}"{{#allowed}} checked{{/allowed}}> {{name}}: {{description}}</label>{{/capabilities}}
        <button type="submit">Save permissions</button>
        </form>
        <h2 id="credentials-heading">Credentials</h2>
        <ul>{{#credentials}}<li>{{type}} {{identifier}} ({{status}})</li>{{/credentials}}</ul>
        {{^credentials}}<p>No credential stored.</p>{{/credentials}}
        <form method="post" action="/console/toolbelt/{{id}}/credentials" class="card" aria-labelledby="credentials-heading" autocomplete="off">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#credentialError}}<p class="error" role="alert">{{credentialError}}</p>{{/credentialError}}
        <label for="credential_type">Type</label>
        <input id="credential_type" name="credential_type" value="api_key" required>
        <label for="account_identifier">Account (shown masked)</label>
        <input id="account_identifier" name="account_identifier">
        {{#secretFields}}
        <label for="secret-{{name}}">{{name}}{{#required}} (required){{/required}}</label>
        <input id="secret-{{name}}" name="secret.{{name}}" type="password" autocomplete="new-password">
        {{/secretFields}}
        {{^secretFields}}
        <label for="secret-json">Credentials (a JSON object)</label>
        <textarea id="secret-json" name="secret_json" rows="3"></textarea>
        {{/secretFields}}
        <button type="submit">Store the credential</button>
        </form>

        """
}
