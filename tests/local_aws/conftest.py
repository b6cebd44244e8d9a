"""The moto-extension tests here set up resources with plain boto3 calls, one after another, as a
fixture would; they test what we added to moto, not AWS's delays. They run with the realism layer
off, except the modules that test it (``REALISM_ON = True``), which set each behaviour themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _realism_off_for_extension_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    if getattr(request.module, "REALISM_ON", False) or "aws_endpoint" not in request.fixturenames:
        yield
        return
    from deploy.local_aws.admin import set_realism

    endpoint = request.getfixturevalue("aws_endpoint")
    set_realism(endpoint, {"enabled": False})
    yield
    set_realism(endpoint, {}, from_defaults=True)
