"""Ed25519 keys for signing and verifying evidence bundles, read from the environment only (a key
never sits in a config file, and an error message never echoes it)."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from computewatch.domain.errors import UsageError


def _key_text(env_var: str) -> bytes:
    value = os.environ.get(env_var)
    if not value:
        raise UsageError(f"environment variable {env_var} is not set (it should hold the key)")
    return value.strip().encode()


def load_private_key(env_var: str) -> Ed25519PrivateKey:
    """Ed25519 private key from the environment: PEM (PKCS#8) or the raw 32 bytes in base64."""
    raw = _key_text(env_var)
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw, validate=True))
    except (ValueError, TypeError, binascii.Error):
        key = None  # the message must not echo the secret
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{env_var} does not hold an Ed25519 private key (PEM or base64)")
    return key


def load_public_key(env_var: str) -> Ed25519PublicKey:
    """Ed25519 public key from the environment: PEM (SubjectPublicKeyInfo) or raw base64."""
    raw = _key_text(env_var)
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw, validate=True))
    except (ValueError, TypeError, binascii.Error):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{env_var} does not hold an Ed25519 public key (PEM or base64)")
    return key


def raw_public(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in base64, as the signature block names it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
