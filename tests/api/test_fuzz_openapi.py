"""schemathesis over /openapi.json against the in-process app: a bounded number of generated
requests per operation, and none may answer 5xx except the documented 503 of chat and iterate
when no chat provider is configured (none is, here)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import status_code_conformance

from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.settings import Settings
from tests.api.conftest import make_client

TOKEN = "fuzz-token"
EXAMPLES = int(
    os.environ.get("LAKEHOUSE_FUZZ_EXAMPLES", "20")
)  # per operation: bounded, so `make test` stays short
NO_PROVIDER_503 = {"/v1/chat", "/v1/iterate"}


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("fuzz")
    cfg = Settings(data_dir=root / "data", auth_tokens=TOKEN, sql_timeout_s=2.0, sql_workers=1)
    client, services = make_client(cfg)
    services.embedder = LazyEmbedder(EmbedConfig(cache_dir=model_cache))
    services.embedder.embed_query(["warm the model before the clock starts"])
    with client:
        client.post(
            "/v1/ingest",
            params={"name": "workers"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            files={"file": ("w.csv", b"worker_id,role\nw1,cook\nw2,nurse\n")},
        )
        yield client.app


def test_no_undocumented_5xx(fuzzed_app):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app, headers=auth)
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        failures += _fuzz(operation, auth, calls)
    assert failures == []
    assert len(calls) > 5 * len(operations), "the fuzzer really sent requests"


def _fuzz(operation, auth, calls: list[int]) -> list[str]:
    """Run ``EXAMPLES`` generated cases of one operation; the undocumented 5xx it answered."""
    seen: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        response = case.call(headers=auth, timeout=60)
        calls.append(1)
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500 and not (
            response.status_code == 503 and case.path in NO_PROVIDER_503
        ):
            seen.append(f"{where}: {response.text[:200]}")
        try:  # every status a route answers is in the OpenAPI document
            case.validate_response(response, checks=[status_code_conformance])
        except Exception:  # schemathesis raises a failure group naming the check
            seen.append(f"{where}: status not documented")

    run()
    return seen[:3]


def _documented(app, method, path, auth, **parts):
    """Send one request through schemathesis and check its status is in the document."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
    operation = schema[path][method]
    case = operation.Case(**parts)
    response = case.call(headers=auth, timeout=60)
    case.validate_response(response, checks=[status_code_conformance])
    return response.status_code


def test_statuses_outside_the_fuzzers_reach_are_documented(fuzzed_app):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    trace = {"content": {"placed": "w1"}, "tags": []}
    for expected in (201, 200):  # the replay of an idempotent add answers 200
        status = _documented(fuzzed_app, "POST", "/v1/pathway/traces", auth,
                             query={"idempotent": "true"}, body=trace)  # fmt: skip
        assert status == expected
    corpus = {"name": "documented", "dim": 4}
    for expected in (201, 200):  # the same corpus again answers 200, created: false
        assert _documented(fuzzed_app, "POST", "/v1/vectors/corpora", auth, body=corpus) == expected
    csv = "id,x\n1,2\n"
    status = _documented(fuzzed_app, "POST", "/v1/ingest", auth, query={"name": "documented"},
                         body=csv, media_type="text/csv")  # fmt: skip
    assert status == 201
    status = _documented(fuzzed_app, "POST", "/v1/ingest", auth, query={"name": "documented"},
                         body="id,x\n1,\"open\n", media_type="text/csv")  # fmt: skip
    assert status == 400


def test_every_write_declares_its_request_body(fuzzed_app):
    bodiless = {("post", "/v1/pathway/traces/{uid}/retire")}  # an action: the uid says it all
    doc = fuzzed_app.openapi()
    missing = [
        (method, path)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if method in ("post", "put", "patch") and "requestBody" not in op
    ]
    assert set(missing) == bodiless
    assert set(doc["paths"]["/v1/ingest"]["post"]["requestBody"]["content"]) == {
        "multipart/form-data",
        "text/csv",
    }
