"""Bearer tokens (two valid during rotation), the CIDR allowlist and loopback-only open mode."""

import pytest

from deployments.app import check_bind
from lakehouse.errors import InvalidInput
from tests.api.conftest import make_client


@pytest.fixture
def secured(settings):
    client, _ = make_client(settings.model_copy(update={"auth_tokens": "old-token,new-token"}))
    with client:
        yield client


def test_health_is_open(secured):
    assert secured.get("/health").status_code == 200


def test_401_without_or_with_a_wrong_token(secured):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic old-token"}):
        resp = secured.get("/v1/catalog/datasets", headers=headers)
        assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
        assert resp.headers["www-authenticate"] == "Bearer"
        assert "old-token" not in resp.text


def test_both_tokens_work_during_rotation(secured):
    for token in ("old-token", "new-token"):
        resp = secured.get("/v1/catalog/datasets", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200


def test_401_writes_nothing(secured, settings):
    resp = secured.put("/v1/storage/objects/x", content=b"data")
    assert resp.status_code == 401
    assert not (settings.objects_dir / "x").exists()


def test_allowlist_denies_other_addresses(settings):
    denied, _ = make_client(settings.model_copy(update={"allow_cidrs": "10.0.0.0/8"}))
    with denied:
        resp = denied.get("/v1/catalog/datasets")
        assert resp.status_code == 403 and resp.json()["error"] == "forbidden"
    allowed, _ = make_client(
        settings.model_copy(update={"allow_cidrs": "10.0.0.0/8", "auth_tokens": "t"}),
        client=("10.1.2.3", 1234),
        headers={"Authorization": "Bearer t"},
    )
    with allowed:
        assert allowed.get("/v1/catalog/datasets").status_code == 200


def test_open_mode_serves_loopback_only(settings):
    remote, _ = make_client(settings, client=("192.0.2.7", 1234))
    with remote:
        assert remote.get("/v1/catalog/datasets").status_code == 403
        assert remote.get("/health").status_code == 200


def test_refuse_to_bind_non_loopback_without_a_token(settings):
    with pytest.raises(InvalidInput, match="LAKEHOUSE_AUTH_TOKENS"):
        check_bind(settings.model_copy(update={"host": "0.0.0.0"}))
    check_bind(settings.model_copy(update={"host": "0.0.0.0", "auth_tokens": "t"}))
    check_bind(settings)
