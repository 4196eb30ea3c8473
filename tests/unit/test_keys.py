import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakehouse.errors import InvalidInput
from lakehouse.storage import validate_key, validate_prefix


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/../b", "..", "a/./b", "a//b", "trail/", "nul\x00x", "tab\tx", "del\x7f",
     "back\\slash", "x" * 1025, "é" * 513],
)  # fmt: skip
def test_bad_keys_are_refused(key):
    with pytest.raises(InvalidInput):
        validate_key(key)


@pytest.mark.parametrize(
    "key", ["a", "a/b/c.parquet", "x" * 1024, "unicodé/ключ", "a..b", ".hidden"]
)
def test_good_keys_pass(key):
    assert validate_key(key) == key


def test_prefixes_may_be_empty_or_end_with_slash():
    assert validate_prefix("") == ""
    assert validate_prefix("a/b/") == "a/b/"
    with pytest.raises(InvalidInput):
        validate_prefix("../")


@given(st.text(max_size=60))
def test_accepted_keys_never_escape_the_root(key):
    try:
        validate_key(key)
    except InvalidInput:
        return
    parts = key.split("/")
    assert ".." not in parts and "" not in parts and not key.startswith("/")
    assert all(ord(c) >= 0x20 and ord(c) != 0x7F for c in key)
