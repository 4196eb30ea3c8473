"""Ingest parsing over HTTP: every malformed CSV is 400 with a message the client can act on,
and nothing is registered or stored."""

import pytest

from lakehouse.settings import Settings
from tests.api.conftest import make_client
from tests.api.test_routes import ingest, objects

BAD = {
    "header not UTF-8": (b"id,n\xff\xfeame\n1,2\n", "not valid UTF-8"),
    "body not UTF-8": (b"id,name\n1,ab\xffc\n", "UTF8"),
    "unterminated quote, last column": (b'id,name\n1,"abc\n2,def\n3,ghi\n', "never closed"),
    "unterminated quote, empty": (b'id,name\n1,"', "never closed"),
    "unterminated quote, middle column": (b'id,name,x\n1,"abc,1\n2,def,2\n', "Expected 3"),
    "NUL byte": (b"id,name\n1,a\x00b\n", "NUL"),
    "too many columns": (",".join(f"c{i}" for i in range(60)).encode() + b"\n" + b"1," * 59
                         + b"1\n", "at most 50"),
    "field past the field cap": (b"id,name\n1," + b"x" * (300 * 1024) + b"\n", "field cap"),
}  # fmt: skip


@pytest.fixture
def small(tmp_path):
    settings = Settings(
        data_dir=tmp_path / "data",
        ingest_block_bytes=64 * 1024,
        ingest_max_field_bytes=256 * 1024,
        ingest_max_columns=50,
    )
    client, services = make_client(settings)
    with client:
        client.services = services
        yield client


def state(api):
    return objects(api), api.get("/v1/catalog/datasets").json()


@pytest.mark.parametrize("case", list(BAD))
def test_a_malformed_csv_is_400_and_nothing_is_registered(small, case):
    body, words = BAD[case]
    assert ingest(small, "kept", b"id,name\n1,a\n").status_code == 201
    before = state(small)
    resp = ingest(small, "people", body)
    assert resp.status_code == 400, resp.text
    assert words in resp.json()["message"]
    assert state(small) == before
    assert list((small.services.settings.tmp_dir).glob("ingest-*")) == []


@pytest.mark.parametrize(
    "body",
    [b'id,name\n1,""', b'id,name\n1,"ab\n"\n', b'id,name\n1,"say ""hi"""\n', b"id,h\n1,5'10\"\n"],
)
def test_closed_quotes_and_a_stray_quote_are_accepted(small, body):
    assert ingest(small, "people", body).status_code == 201


def test_a_field_longer_than_a_block_but_under_the_row_cap_is_accepted(small):
    resp = ingest(small, "people", b"id,name\n1," + b"x" * (100 * 1024) + b"\n2,y\n")
    assert resp.status_code == 201 and resp.json()["row_count"] == 2
