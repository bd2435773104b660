#!/usr/bin/env python3
"""An independent vault reader, written from docs/FORMAT.md alone (not from the Rust code).

    decrypt_vault.py VAULT_DIR KEY_FILE ACCOUNT NAMESPACE [NAME]

With NAME: prints the item's value as hex. Without: prints the namespace's names, one per line.
Exits 3 when the item does not exist, 4 on any authentication failure, 5 when the value's data
key is a bound key (purpose 32 + class: only the app's auth-bound keystore opens it).
Needs the `cryptography` package (AES-GCM).
"""
import hashlib
import hmac
import sqlite3
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def open_envelope(key: bytes, aad: bytes, envelope: bytes) -> bytes:
    if len(envelope) < 1 + 12 + 16 or envelope[0] != 1:
        raise InvalidTag()
    return AESGCM(key).decrypt(envelope[1:13], envelope[13:], aad)


def add256(a: int, b: int) -> int:
    return (a + b) % (1 << 256)


def main() -> int:
    vault_dir, key_file, account, namespace = sys.argv[1:5]
    name = sys.argv[5] if len(sys.argv) > 5 else None
    db = sqlite3.connect(f"file:{vault_dir}/vault.sqlite3?mode=ro", uri=True)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2

    root = open(key_file, "rb").read()
    assert len(root) == 32

    def file_kek(alias: str):
        return mac(root, b"rukasec.filekey.kek.v1\0" + alias.encode()), b"rukasec.filekey.wrap.v1\0" + alias.encode()

    # §2: the vault's id key, from the first copy this key file opens.
    meta = dict(db.execute("SELECT name, value FROM meta"))
    vault_id = meta["vault_id"]
    id_key = None
    for meta_name, wrapped in sorted(meta.items()):
        if not meta_name.startswith("id_key."):
            continue
        alias = f"rukasec.idk.v2.{vault_id[:16].hex()}.{int(meta_name[7:])}"
        kek, wrap_aad = file_kek(alias)
        try:
            payload = open_envelope(kek, wrap_aad, wrapped)
        except InvalidTag:
            continue
        assert payload[:42] == b"RKSK" + bytes([2, 3]) + struct.pack(">I", 1) + vault_id
        id_key = payload[42:]
        break
    assert id_key is not None, "no id key copy opens with this key file"
    tag = mac(id_key, b"rukasec.vault.account.v2\0" + account.encode())

    row = db.execute(
        "SELECT kek_alias, kek_version, canary, format, state FROM accounts WHERE account_tag = ?", (tag,)
    ).fetchone()
    if row is None:
        return 3
    alias, kek_version, canary, fmt, state = row
    assert fmt == 2
    assert alias == f"rukasec.kek.v2.{tag[:16].hex()}.{kek_version}", alias

    kek, wrap_aad = file_kek(alias)
    assert open_envelope(kek, wrap_aad, canary) == b"rukasec.vault.canary.v1\0" + tag

    keys = {}
    for purpose, version, wrapped in db.execute(
        "SELECT purpose, version, wrapped FROM keys WHERE account_tag = ?", (tag,)
    ):
        if 32 <= purpose <= 35:
            # A bound data key (§3): wrapped by the auth-bound keystore, not by this key file.
            keys[(purpose, version)] = None
            continue
        payload = open_envelope(kek, wrap_aad, wrapped)
        header = b"RKSK" + bytes([2, purpose]) + struct.pack(">I", version) + tag
        assert len(payload) == 74 and payload[:42] == header, "key payload header"
        keys[(purpose, version)] = payload[42:]
    index_key, names_key = keys[(1, 1)], keys[(2, 1)]

    # §6a: the account state covers every row.
    state_key = mac(index_key, b"rukasec.vault.state-key.v2\0")
    assert len(state) == 81 and state[0] == 2
    write_counter, item_count = struct.unpack(">QQ", state[1:17])
    state_sum = state[17:49]
    expected_mac = mac(state_key, b"rukasec.vault.state.v2\0" + tag + state[1:49])
    assert hmac.compare_digest(expected_mac, state[49:]), "state MAC"
    total, count = 0, 0
    for item_id, ns_tag, class_code, key_version, expires_at, counter, name_env in db.execute(
        "SELECT item_id, namespace_tag, class, key_version, expires_at, counter, name FROM items WHERE account_tag = ?",
        (tag,),
    ):
        assert 1 <= counter <= write_counter
        element = mac(
            state_key,
            b"rukasec.vault.element.v2\0" + item_id + ns_tag + bytes([class_code])
            + struct.pack(">I", key_version) + struct.pack(">q", expires_at) + struct.pack(">Q", counter)
            + hashlib.sha256(name_env).digest(),
        )
        total = add256(total, int.from_bytes(element, "big"))
        count += 1
    assert count == item_count and total.to_bytes(32, "big") == state_sum, "account state"

    def open_name(item_id: bytes, envelope: bytes):
        plain = open_envelope(names_key, b"rukasec.vault.name.v1\0" + b"\x02" + tag + item_id, envelope)
        (ns_len,) = struct.unpack(">I", plain[:4])
        ns, nm = plain[4 : 4 + ns_len].decode(), plain[4 + ns_len :].decode()
        assert mac(index_key, b"rukasec.vault.item.v1\0" + lp(ns.encode()) + lp(nm.encode())) == item_id
        return ns, nm

    if name is None:
        ns_tag = mac(index_key, b"rukasec.vault.namespace.v1\0" + lp(namespace.encode()))
        names = []
        for item_id, envelope in db.execute(
            "SELECT item_id, name FROM items WHERE account_tag = ? AND namespace_tag = ?", (tag, ns_tag)
        ):
            ns, nm = open_name(item_id, envelope)
            assert ns == namespace
            names.append(nm)
        print("\n".join(sorted(names)))
        return 0

    item_id = mac(index_key, b"rukasec.vault.item.v1\0" + lp(namespace.encode()) + lp(name.encode()))
    row = db.execute(
        "SELECT class, key_version, expires_at, name, value, counter FROM items WHERE account_tag = ? AND item_id = ?",
        (tag, item_id),
    ).fetchone()
    if row is None:
        return 3
    class_code, key_version, expires_at, name_envelope, value_envelope, counter = row
    assert open_name(item_id, name_envelope) == (namespace, name)
    aad = (
        b"rukasec.vault.value.v2\0" + b"\x02" + tag + lp(namespace.encode()) + lp(name.encode())
        + bytes([class_code]) + struct.pack(">I", key_version) + struct.pack(">q", expires_at)
        + struct.pack(">Q", counter)
    )
    if (32 + class_code, key_version) in keys:
        return 5
    value = open_envelope(keys[(16 + class_code, key_version)], aad, value_envelope)
    print(value.hex())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (InvalidTag, AssertionError) as error:
        print(f"authentication failed: {type(error).__name__} {error}", file=sys.stderr)
        sys.exit(4)
