"""Key management: configured keys, the development key file, rotation, bad configuration."""

from __future__ import annotations

import stat

import pytest
from billy_audit.chain import canonical, plain
from billy_audit.keys import HmacKeyring, load_keys
from billy_audit.verify import Verifier
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from loguru import logger
from pydantic import SecretStr

from billy_core.errors import StartupError
from tests.audit.helpers import SIGNING_KEY, b64, fill, make_log, public_key_b64

pytestmark = pytest.mark.anyio


def keys(tmp_path, **given):
    options = {"hmac_keys": None, "signing_key": None, "signing_key_file": None, "public_keys": []}
    options.update(given)
    return load_keys(key_file=tmp_path / "audit-keys.json", **options)


def test_canonical_json_is_sorted_compact_and_keeps_decimals_exact():
    from decimal import Decimal

    value = plain({"b": Decimal("1234.50"), "a": [1.5, "æ"], "c": {"z": None, "y": True}})
    assert canonical(value) == '{"a":["1.5","æ"],"b":"1234.50","c":{"y":true,"z":null}}'


def test_unconfigured_keys_come_from_a_private_key_file_once(tmp_path):
    warnings: list[str] = []
    sink = logger.add(warnings.append, level="WARNING", format="{message}")
    try:
        first = keys(tmp_path)
        again = keys(tmp_path)
    finally:
        logger.remove(sink)
    path = tmp_path / "audit-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.hmac.current.secret == again.hmac.current.secret
    assert first.signer.key_id == again.signer.key_id
    assert "production must set BILLY_AUDIT__HMAC_KEYS" in warnings[0] and str(path) in warnings[0]


def test_configured_keys_need_no_file(tmp_path):
    loaded = keys(
        tmp_path, hmac_keys="v2:" + b64(b"a" * 32) + ",v1:" + b64(b"b" * 32), signing_key=SIGNING_KEY
    )
    assert loaded.source == "configured" and not (tmp_path / "audit-keys.json").exists()
    assert [key.version for key in loaded.hmac.keys] == ["v2", "v1"]
    assert loaded.signer.public_base64() == public_key_b64()


def test_a_pem_signing_key_file(tmp_path):
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "signing.pem").write_bytes(pem)
    loaded = keys(tmp_path, hmac_keys="v1:" + b64(b"c" * 32), signing_key_file=tmp_path / "signing.pem")
    assert loaded.source == "configured"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v1", "write each key as version:base64"),
        ("v1:not base64!", "is not valid base64"),
        ("v1:" + b64(b"short"), "use at least 32"),
        ("v1:" + b64(b"a" * 32) + ",v1:" + b64(b"b" * 32), "appears twice"),
    ],
)
def test_bad_hmac_keys_name_the_setting(text, message):
    with pytest.raises(StartupError, match=message) as caught:
        HmacKeyring.parse(text)
    assert "BILLY_AUDIT__HMAC_KEYS" in str(caught.value)


async def test_a_bad_key_stops_start_up(make_kernel, monkeypatch):
    monkeypatch.setenv("BILLY_AUDIT__SIGNING_KEY", b64(b"too short"))
    kernel = make_kernel()
    with pytest.raises(StartupError, match="BILLY_AUDIT__SIGNING_KEY"):
        await kernel.start()
    await kernel.stop()


async def test_checkpoints_of_a_retired_signing_key_verify_only_with_its_public_key(sqlite_url):
    old = make_log(sqlite_url)
    await fill(old, 5)
    await old.checkpoint()
    await old.aclose()
    new_seed = b64(bytes(range(100, 132)))
    without = make_log(sqlite_url, signing_key=SecretStr(new_seed))
    report = await Verifier(await without.ready(), without.keys).run()
    assert report.status == "unverifiable" and "BILLY_AUDIT__PUBLIC_KEYS" in report.problem.message
    with_retired = make_log(sqlite_url, signing_key=SecretStr(new_seed), public_keys=[public_key_b64()])
    assert (await Verifier(await with_retired.ready(), with_retired.keys).run()).status == "intact"
    await without.aclose()
    await with_retired.aclose()
