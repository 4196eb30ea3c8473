"""DELETE /v1/catalog/datasets/{name}: the view goes, the objects go, the roster is guarded,
and every refusal leaves the store and the catalog as they were."""

from tests.api.test_routes import CSV, ingest, objects


def sql(api, text):
    return api.post("/v1/sql", json={"sql": text})


def test_delete_drops_the_view_the_manifest_and_the_parquet(api):
    assert ingest(api, "people", CSV).status_code == 201
    assert ingest(api, "kept", CSV).status_code == 201
    assert sql(api, "SELECT count(*) FROM people").json()["rows"] == [[2]]
    resp = api.delete("/v1/catalog/datasets/people")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["name"] == "people" and "corpora" in body["notice"]
    assert body["deleted"][0] == "catalog/people/manifest.parquet"
    assert [k for k in objects(api) if "people" in k] == []
    assert api.get("/v1/catalog/datasets/people").status_code == 404
    assert sql(api, "SELECT count(*) FROM people").status_code == 400
    assert sql(api, "SELECT count(*) FROM kept").json()["rows"] == [[2]]
    assert ingest(api, "people", CSV).status_code == 201, "the name can be used again"
    assert sql(api, "SELECT count(*) FROM people").json()["rows"] == [[2]]


def test_unknown_and_invalid_names_change_nothing(api):
    ingest(api, "people", CSV)
    before = objects(api)
    assert api.delete("/v1/catalog/datasets/nobody").status_code == 404
    assert api.delete("/v1/catalog/datasets/1bad-name").status_code == 400
    assert objects(api) == before


def test_the_roster_needs_force(api):
    roster = api.services.settings.roster_dataset
    ingest(api, roster, CSV)
    before = objects(api)
    resp = api.delete(f"/v1/catalog/datasets/{roster}")
    assert resp.status_code == 409 and "force=true" in resp.json()["message"]
    assert objects(api) == before
    assert api.delete(f"/v1/catalog/datasets/{roster}", params={"force": "true"}).status_code == 200
    assert api.get(f"/v1/catalog/datasets/{roster}").status_code == 404


def test_a_catalog_reloaded_after_delete_does_not_bring_it_back(api, settings):
    from lakehouse.catalog.catalog import Catalog

    ingest(api, "people", CSV)
    api.delete("/v1/catalog/datasets/people")
    assert [m.name for m in Catalog(api.services.store).list()] == []
