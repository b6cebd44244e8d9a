"""``X-Hub-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body with the webhook secret.

Bitbucket Cloud and Server/DC both sign this way. The comparison is constant-time.
"""
from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The header value Bitbucket sends for ``body``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """True only for a well-formed ``sha256=`` header that matches the body."""
    if not secret or not header:
        return False
    algorithm, _, digest = header.strip().partition("=")
    if algorithm.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.lower().encode())
