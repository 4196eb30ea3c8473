"""The same contract against the local-directory backend and the S3 backend (moto server)."""

import pytest

from lakehouse.errors import Conflict, InvalidInput, NotFound, TooLarge
from lakehouse.storage import open_store


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, settings):
    if request.param == "s3":
        return open_store(request.getfixturevalue("s3_settings"))
    return open_store(settings.model_copy(update={"max_list": 50}))


def test_put_get_head_delete(store):
    info = store.put("a/b.txt", b"hello")
    assert info.key == "a/b.txt" and info.size == 5
    assert store.get("a/b.txt") == b"hello"
    assert b"".join(store.iter_chunks("a/b.txt", 2)) == b"hello"
    assert store.head("a/b.txt").size == 5
    store.delete("a/b.txt")
    with pytest.raises(NotFound):
        store.get("a/b.txt")
    with pytest.raises(NotFound):
        store.delete("a/b.txt")


def test_overwrite_changes_the_version(store):
    first = store.put("k", b"one")
    second = store.put("k", b"two!")
    assert store.get("k") == b"two!"
    assert first.etag != second.etag


def test_conditional_create(store):
    store.put("only-once", b"first", if_absent=True)
    with pytest.raises(Conflict):
        store.put("only-once", b"second", if_absent=True)
    assert store.get("only-once") == b"first"


def test_size_cap_refuses_and_writes_nothing(store):
    with pytest.raises(TooLarge):
        store.put("big", b"x" * (store.max_object_bytes + 1))
    assert not store.exists("big")
    assert store.list("big").objects == []


@pytest.mark.parametrize("key", ["", "../etc/passwd", "/abs", "a//b", "nul\x00"])
def test_invalid_keys_are_refused_and_write_nothing(store, key):
    before = store.list().objects
    with pytest.raises(InvalidInput):
        store.put(key, b"x")
    assert store.list().objects == before


def test_list_by_prefix_in_order_with_cap(store):
    for i in range(60):
        store.put(f"p/{i:03d}", b"x")
    store.put("q/other", b"y")
    page = store.list("p/")
    assert [o.key for o in page.objects] == [f"p/{i:03d}" for i in range(50)]
    assert page.truncated
    small = store.list("p/", limit=3)
    assert [o.key for o in small.objects] == ["p/000", "p/001", "p/002"] and small.truncated
    assert [o.key for o in store.list("q/").objects] == ["q/other"]
    assert not store.list("q/").truncated


def test_move_and_local_path(store, tmp_path):
    store.put("staging/x", b"payload")
    store.move("staging/x", "final/x")
    assert not store.exists("staging/x")
    assert store.local_path("final/x").read_bytes() == b"payload"
    store.put("final/x", b"new")
    assert store.local_path("final/x").read_bytes() == b"new"


def test_put_file_consume(store, tmp_path):
    src = tmp_path / "f.bin"
    src.write_bytes(b"abc" * 1000)
    store.put_file("files/f.bin", src, consume=True)
    assert not src.exists()
    assert store.get("files/f.bin") == b"abc" * 1000


def test_list_pages_with_start_after(store):
    for i in range(7):
        store.put(f"pg/{i}", b"x")
    first = store.list("pg/", limit=3)
    second = store.list("pg/", limit=3, start_after=first.objects[-1].key)
    third = store.list("pg/", limit=3, start_after=second.objects[-1].key)
    keys = [o.key for page in (first, second, third) for o in page.objects]
    assert keys == [f"pg/{i}" for i in range(7)]
    assert first.truncated and second.truncated and not third.truncated
