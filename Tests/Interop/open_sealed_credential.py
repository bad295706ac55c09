#!/usr/bin/env python3
"""Opens one sealed agent credential from an agentbox SQLite file with PyNaCl.

An independent implementation of docs/vault-format.md: if this script can open what
agentbox sealed, the format is documented well enough to recover data without agentbox.

usage: open_sealed_credential.py DATABASE KEY_FILE CREDENTIAL_ID
Prints the plaintext credential to standard output.
"""
import base64
import sqlite3
import sys

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.hash import blake2b
from nacl.encoding import RawEncoder

FORMAT = 1
NONCE = 24


def netstrings(fields):
    out = b""
    for field in fields:
        data = field.encode()
        out += str(len(data)).encode() + b":" + data + b","
    return out


def main(database, key_file, credential_id):
    with open(key_file, "rb") as handle:
        text = handle.read()
    master = text if len(text) == 32 else base64.b64decode(text.strip())

    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    kcv = db.execute("SELECT key_check_value FROM vault_meta WHERE id = 1").fetchone()[0]
    if blake2b(b"agentbox vault key check v1", key=master, digest_size=32, encoder=RawEncoder) != kcv:
        sys.exit("the key file does not match this vault's key check value")

    blob, item_id, agent_id = db.execute(
        "SELECT c.encrypted_credentials, c.agent_toolbelt_item_id, i.agent_id "
        "FROM agent_tool_credentials c JOIN agent_toolbelt_items i ON i.id = c.agent_toolbelt_item_id "
        "WHERE c.id = ?", (credential_id,)).fetchone()
    if blob[0] != FORMAT:
        sys.exit(f"unknown sealed format {blob[0]}")
    version = int.from_bytes(blob[1:5], "big")
    nonce, ciphertext = blob[5:5 + NONCE], blob[5 + NONCE:]

    wrapped = db.execute("SELECT wrapped_key FROM vault_keys WHERE version = ?", (version,)).fetchone()[0]
    data_key = crypto_aead_xchacha20poly1305_ietf_decrypt(
        wrapped[1 + NONCE:], netstrings(["agentbox-vault-key", str(FORMAT), str(version)]), wrapped[1:1 + NONCE], master)

    aad = netstrings([
        "agentbox-vault", str(FORMAT), "agent_tool_credentials", credential_id,
        f"agent_id={agent_id}", f"agent_toolbelt_item_id={item_id}", f"key={version}",
    ])
    sys.stdout.buffer.write(crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, data_key))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
