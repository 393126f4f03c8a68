"""Key management: versioned HMAC keys for entries, an Ed25519 key for checkpoints and anchors.

* ``BILLY_AUDIT__HMAC_KEYS``: ``v2:<base64>,v1:<base64>``, newest first. New entries use the
  first; every entry records its version, so old entries verify after a rotation as long as
  their key stays in the list.
* ``BILLY_AUDIT__SIGNING_KEY`` (base64 seed or PEM) or ``BILLY_AUDIT__SIGNING_KEY_FILE``.
  ``BILLY_AUDIT__PUBLIC_KEYS`` keeps retired public keys verifiable.
* Neither configured (development, sandbox): keys are generated once into a 0600 key file
  beside the SQLite database, with a warning that production must configure them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from loguru import logger

from billy_core.errors import StartupError
from billy_core.settings import default_database_url

MIN_HMAC_KEY_BYTES = 16
KEY_FILE_NAME = "audit-keys.json"
_VERSION = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True, slots=True)
class HmacKey:
    version: str
    secret: bytes = field(repr=False)


class HmacKeyring:
    """HMAC keys by version; the first is the one new entries use."""

    def __init__(self, keys: Sequence[HmacKey]) -> None:
        if not keys:
            raise ValueError("no HMAC key")
        self.keys = tuple(keys)
        self._by_version = {key.version: key.secret for key in keys}
        if len(self._by_version) != len(self.keys):
            raise ValueError("an HMAC key version appears twice")

    @property
    def current(self) -> HmacKey:
        return self.keys[0]

    def get(self, version: str) -> bytes | None:
        return self._by_version.get(version)

    @classmethod
    def parse(cls, text: str, setting: str = "BILLY_AUDIT__HMAC_KEYS") -> HmacKeyring:
        keys = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            version, sep, encoded = item.partition(":")
            if not sep or not _VERSION.match(version):
                raise StartupError(f"{setting}: write each key as version:base64 (e.g. v1:...)")
            secret = _b64(encoded, f"{setting} key {version}")
            if len(secret) < MIN_HMAC_KEY_BYTES:
                raise StartupError(f"{setting}: key {version} has {len(secret)} bytes; use at least 32")
            keys.append(HmacKey(version, secret))
        try:
            return cls(keys)
        except ValueError as exc:
            raise StartupError(f"{setting}: {exc}") from None


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: 16 hex of SHA-256 of its raw bytes."""
    return hashlib.sha256(public_raw(public)).hexdigest()[:16]


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Signer:
    """Signs checkpoint and anchor payloads."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, payload: str) -> str:
        return base64.b64encode(self.private.sign(payload.encode())).decode()

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_base64(self) -> str:
        return base64.b64encode(public_raw(self.public)).decode()


class SignatureChecker:
    """Public keys by key id: the signer's own and retired ones."""

    def __init__(self, keys: Sequence[Ed25519PublicKey]) -> None:
        self.keys = {key_id(key): key for key in keys}

    def knows(self, kid: str) -> bool:
        return kid in self.keys

    def valid(self, kid: str, payload: str, signature: str) -> bool:
        try:
            self.keys[kid].verify(base64.b64decode(signature, validate=True), payload.encode())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


@dataclass(frozen=True)
class AuditKeys:
    hmac: HmacKeyring
    signer: Signer
    checker: SignatureChecker
    source: str


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise StartupError(f"{what} is not valid base64") from None


def load_private_key(text: str, what: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except ValueError as exc:
            raise StartupError(f"{what}: cannot read the PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise StartupError(f"{what}: the PEM key is not an Ed25519 key")
        return key
    seed = _b64(text, what)
    if len(seed) != 32:
        raise StartupError(f"{what}: an Ed25519 seed has 32 bytes, this one {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_public_key(text: str, what: str) -> Ed25519PublicKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise StartupError(f"{what}: not an Ed25519 public key")
        return key
    raw = _b64(text, what)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise StartupError(f"{what}: an Ed25519 public key has 32 bytes, this one {len(raw)}") from None


def default_key_file(database_url: str) -> Path:
    """``audit-keys.json`` beside the SQLite database (the default one for other databases)."""
    url = database_url if database_url.startswith("sqlite:///") else default_database_url()
    path = url.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        path = default_database_url().removeprefix("sqlite:///")
    return Path(path).expanduser().parent / KEY_FILE_NAME


def read_or_create_key_file(path: Path) -> dict[str, Any]:
    """The development key file; created (0600, atomically) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        document = {
            "hmac_keys": f"v1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
            "signing_key": base64.b64encode(seed).decode(),
            "note": "development keys made by billy-mcp; production must set BILLY_AUDIT__HMAC_KEYS "
            "and BILLY_AUDIT__SIGNING_KEY",
        }
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        try:
            os.link(temporary, path)  # fails if another process got there first: use theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StartupError(f"cannot read the audit key file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise StartupError(f"the audit key file {path} is not a JSON object")
    return document


def load_keys(
    *,
    hmac_keys: str | None,
    signing_key: str | None,
    signing_key_file: Path | None,
    public_keys: Sequence[str],
    key_file: Path,
) -> AuditKeys:
    """The configured keys; what is not configured comes from the development key file."""
    private: Ed25519PrivateKey | None = None
    if signing_key:
        private = load_private_key(signing_key, "BILLY_AUDIT__SIGNING_KEY")
    elif signing_key_file is not None:
        try:
            text = signing_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise StartupError(
                f"BILLY_AUDIT__SIGNING_KEY_FILE: cannot read {signing_key_file}: {exc}"
            ) from None
        private = load_private_key(text, "BILLY_AUDIT__SIGNING_KEY_FILE")
    keyring = HmacKeyring.parse(hmac_keys) if hmac_keys else None
    source = "configured"
    if keyring is None or private is None:
        document = read_or_create_key_file(key_file)
        missing = [name for name, value in (("HMAC", keyring), ("signing", private)) if value is None]
        logger.warning(
            "audit: {} key(s) come from the development key file {}; production must set "
            "BILLY_AUDIT__HMAC_KEYS and BILLY_AUDIT__SIGNING_KEY (or _SIGNING_KEY_FILE)",
            " and ".join(missing),
            key_file,
        )
        if keyring is None:
            keyring = HmacKeyring.parse(str(document.get("hmac_keys", "")), f"{key_file} hmac_keys")
        if private is None:
            private = load_private_key(str(document.get("signing_key", "")), f"{key_file} signing_key")
        source = f"key file {key_file}"
    signer = Signer(private)
    retired = [load_public_key(text, "BILLY_AUDIT__PUBLIC_KEYS") for text in public_keys]
    return AuditKeys(keyring, signer, SignatureChecker([signer.public, *retired]), source)
