"""X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>, compared in constant time."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from deploy.delivery.signature import sign, verify

from .conftest import fixture_bytes

# The published example of this scheme (the same header format and algorithm Bitbucket uses).
KNOWN_SECRET = b"It's a Secret to Everybody"
KNOWN_BODY = b"Hello, World!"
KNOWN_HEADER = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_known_answer():
    assert sign(KNOWN_SECRET, KNOWN_BODY) == KNOWN_HEADER
    assert verify(KNOWN_SECRET, KNOWN_BODY, KNOWN_HEADER)


def test_signature_of_a_real_body_is_hmac_of_the_exact_bytes():
    body = fixture_bytes("server/refs_changed_develop.json")
    header = sign(b"s3cret", body)
    assert header == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert verify(b"s3cret", body, header)
    assert verify(b"s3cret", body, header.upper().replace("SHA256=", "sha256="))  # hex case does not matter
    assert verify(b"s3cret", body, "  " + header + " ")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + hmac.new(KNOWN_SECRET, KNOWN_BODY, hashlib.sha1).hexdigest(),
        KNOWN_HEADER[len("sha256="):],  # no algorithm prefix
        KNOWN_HEADER[:-1] + "0",
        "sha256=" + "é" * 64,
        sign(b"another secret", KNOWN_BODY),
    ],
)
def test_missing_malformed_or_wrong_signatures_are_refused(header):
    assert verify(KNOWN_SECRET, KNOWN_BODY, header) is False


def test_a_changed_body_or_an_empty_secret_is_refused():
    assert verify(KNOWN_SECRET, KNOWN_BODY + b" ", KNOWN_HEADER) is False
    assert verify(b"", KNOWN_BODY, sign(b"", KNOWN_BODY)) is False
