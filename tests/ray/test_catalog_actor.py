"""The catalog actor: congruent with the core, and it survives being killed."""

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray

from actors.catalog import CatalogActor, actor_name, catalog_actor
from actors.remote.facade import Facade
from lakehouse.catalog import Column
from lakehouse.errors import InvalidInput, NotFound, SchemaDrift
from lakehouse.storage import open_store

pytestmark = pytest.mark.usefixtures("ray_session")
COLS = [Column("id", "int64")]


def stage(store, key: str, n: int = 2) -> str:
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(n))}), sink)
    store.put(key, sink.getvalue())
    return key


def scenario(catalog: Facade, store) -> list:
    """Same calls, same answers, whatever runs the catalog."""
    out = []
    out.append(catalog.call_sync("register", "a", COLS, 2, stage(store, "staging/1")))
    out.append(catalog.call_sync("register", "a", COLS, 3, stage(store, "staging/2", 3)))
    for call in (
        lambda: catalog.call_sync(
            "register", "a", [Column("id", "string")], 1, stage(store, "staging/3")
        ),
        lambda: catalog.call_sync("get", "missing"),
        lambda: catalog.call_sync("get", "bad-name"),
    ):
        try:
            call()
        except (SchemaDrift, NotFound, InvalidInput) as exc:
            out.append((type(exc).__name__, exc.status, exc.details))
    out.append(catalog.call_sync("register", "b", COLS, 2, stage(store, "staging/4")))
    out.append([m.name for m in catalog.call_sync("list")])
    out.append(catalog.call_sync("snapshot", -1)[1] is not None)
    return out


def normalise(results: list) -> list:
    def strip(item):
        if hasattr(item, "to_dict"):
            d = item.to_dict()
            return {k: v for k, v in d.items() if k not in ("created_at", "updated_at", "etag")}
        return item

    return [strip(r) for r in results]


def test_congruence_core_vs_actor(settings, tmp_path):
    plain_settings = settings
    actor_settings = settings.model_copy(update={"data_dir": tmp_path / "actor-data"})
    plain = scenario(Facade(CatalogActor(plain_settings)), open_store(plain_settings))
    handle = catalog_actor(actor_settings)
    remote = scenario(Facade(handle), open_store(actor_settings))
    ray.kill(handle, no_restart=True)
    assert normalise(plain) == normalise(remote)
    assert [r for r in plain if isinstance(r, tuple)] == [
        ("SchemaDrift", 409, pytest.approx(plain[2][2])),
        ("NotFound", 404, {}),
        ("InvalidInput", 400, {"field": "name"}),
    ]


def test_killed_actor_restarts_with_every_acknowledged_dataset(settings):
    store = open_store(settings)
    handle = catalog_actor(settings)
    acknowledged = []
    for i in range(6):
        ray.get(handle.register.remote(f"d{i}", COLS, 2, stage(store, f"staging/{i}")))
        acknowledged.append(f"d{i}")
        if i in (2, 4):
            ray.kill(handle, no_restart=False)  # Ray restarts it; __init__ rehydrates
    again = ray.get_actor(actor_name(settings), namespace="lakehouse")
    names = [m.name for m in ray.get(again.list.remote())]
    assert names == acknowledged
    status = ray.get(again.status.remote())
    assert status["datasets"] == 6 and status["load_errors"] == []
    ray.kill(again, no_restart=True)


def test_actor_errors_keep_their_type_across_the_process_boundary(settings):
    handle = catalog_actor(settings)
    with pytest.raises(NotFound) as info:
        ray.get(handle.get.remote("nothing"))
    assert info.value.status == 404
    ray.kill(handle, no_restart=True)
