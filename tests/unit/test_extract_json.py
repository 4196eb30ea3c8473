"""extract_json: the table of model-output shapes it must handle, and its failures."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.errors import InvalidInput, Unprocessable
from lakehouse.extract import MAX_CHARS, extract_json

FOUND = [
    ("bare object", '{"a": 1}', {"a": 1}),
    ("fenced json", 'Here:\n```json\n{"a": 1}\n```\nThanks', {"a": 1}),
    ("fenced JSON upper-case tag", '```JSON\n{"a": 2}\n```', {"a": 2}),
    ("bare fence", 'Result:\n```\n{"b": [1, 2]}\n```', {"b": [1, 2]}),
    ("fence on one line", '```json {"c": true}```', {"c": True}),
    (
        "json fence wins over an earlier bare fence",
        '```\n{"x": 1}\n```\n```json\n{"y": 2}\n```',
        {"y": 2},
    ),
    ("first object among prose", 'I think {"a": 1} and then {"b": 2}.', {"a": 1}),
    (
        "nested objects",
        'x {"a": {"b": {"c": [1, {"d": null}]}}} y',
        {"a": {"b": {"c": [1, {"d": None}]}}},
    ),
    (
        "unicode",
        '{"name": "Zoë Ñúñez", "city": "Québec", "emoji": "✅"}',
        {"name": "Zoë Ñúñez", "city": "Québec", "emoji": "✅"},
    ),
    ("unicode escapes", '{"s": "\\u00e9\\u4e2d"}', {"s": "é中"}),
    (
        "escaped quotes in strings",
        '{"q": "she said \\"hi\\" {not a brace}"}',
        {"q": 'she said "hi" {not a brace}'},
    ),
    (
        "escaped backslash before a quote",
        '{"p": "C:\\\\dir\\\\", "n": 1}',
        {"p": "C:\\dir\\", "n": 1},
    ),
    ("braces inside strings", '{"t": "}}}{{{", "u": "]"}', {"t": "}}}{{{", "u": "]"}),
    ("empty object", "{}", {}),
    ("empty object in prose", "The answer is {} really", {}),
    ("top-level array: first object", '[{"a": 1}, {"b": 2}]', {"a": 1}),
    ("array of scalars then object", '[1, 2, "x", {"k": "v"}]', {"k": "v"}),
    ("array with no object, object later", 'ids [1, 2] -> {"ok": true}', {"ok": True}),
    ("trailing garbage", '{"a": 1} }}} ]] trailing {', {"a": 1}),
    ("trailing prose after a fence", '```json\n{"a": 1}\n```\nand {broken', {"a": 1}),
    ("prose with invalid braces first", 'Use {curly} braces: {"a": 1}', {"a": 1}),
    ("unclosed outer, valid inner", '{"wrap": {"a": 1}', {"a": 1}),
    ("whitespace and newlines", '\n\n  {\n  "a" :\t1\n}\n', {"a": 1}),
    ("think block before", '<think>maybe {x}</think>\n{"a": 1}', {"a": 1}),
    ("invalid fence falls back to text", '```json\n{oops}\n```\n{"a": 3}', {"a": 3}),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in FOUND], ids=[c[0] for c in FOUND])
def test_extracts(text: str, expected: dict) -> None:
    assert extract_json(text) == expected


FAILS = [
    ("no JSON at all", "I could not find any workers, sorry.", "no JSON object found"),
    ("empty text", "", "no JSON object found"),
    ("balanced but invalid: trailing comma", '{"a": 1,}', "no valid JSON object"),
    ("balanced but invalid: single quotes", "{'a': 1}", "no valid JSON object"),
    ("balanced but invalid: bare keys", "{a: 1}", "no valid JSON object"),
    ("unbalanced", '{"a": 1', "no valid JSON object"),
    ("NaN is not JSON", '{"a": NaN}', "NaN is not valid JSON"),
    ("Infinity is not JSON", '[{"a": -Infinity}]', "-Infinity is not valid JSON"),
    ("array without objects", "[1, 2, 3]", "no JSON object found"),
    ("only a scalar", '"just a string" 42', "no JSON object found"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in FAILS], ids=[c[0] for c in FAILS])
def test_fails_clearly(text: str, message: str) -> None:
    with pytest.raises(Unprocessable) as info:
        extract_json(text)
    assert message in info.value.message
    assert info.value.status == 422


def test_rejects_non_strings_and_huge_text() -> None:
    with pytest.raises(InvalidInput):
        extract_json(b'{"a": 1}')  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        extract_json("{" + " " * MAX_CHARS + "}")


@pytest.mark.parametrize("text", ["{" * 100_000, "[" * 100_000, '{"a":' * 40_000])
def test_pathological_nesting_is_a_clean_error(text: str) -> None:
    # one decode attempt per bracket is capped, and deep nesting never escapes as a crash
    with pytest.raises(Unprocessable):
        extract_json(text)


# Backticks are left out of strings: a fence inside a JSON string would end the fence.
_text = st.text(alphabet=st.characters(blacklist_characters="`"), max_size=20)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    obj=st.dictionaries(_text, _json, max_size=5),
    before=st.text(alphabet=st.characters(blacklist_characters="{["), max_size=40),
    after=st.text(alphabet=st.characters(blacklist_characters="`"), max_size=40),
    fenced=st.booleans(),
)
def test_any_object_round_trips_through_prose(
    obj: dict, before: str, after: str, fenced: bool
) -> None:
    body = json.dumps(obj, ensure_ascii=bool(len(before) % 2))
    text = f"{before}```json\n{body}\n```{after}" if fenced else f"{before}{body}{after}"
    assert extract_json(text) == obj
