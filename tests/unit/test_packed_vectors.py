"""The packed vector form: float32 little-endian rows as base64, decoded once with numpy."""

import base64

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lakehouse.errors import InvalidInput
from lakehouse.vectors import packed as codec


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)))
def test_round_trip_is_bit_exact(array):
    sent = codec.encode(array)
    assert sent["encoding"] == "base64-f32le" and sent["dim"] == array.shape[1]
    back = codec.decode(sent["data"], sent["dim"], max_rows=array.shape[0])
    assert back.dtype == np.float32 and back.tobytes() == array.tobytes()


def test_the_bytes_are_little_endian_float32_whatever_the_input_dtype():
    sent = codec.encode(np.array([1.0, -2.5], dtype=">f8"))
    assert base64.b64decode(sent["data"]) == np.array([1.0, -2.5], dtype="<f4").tobytes()
    assert sent["dim"] == 2


def test_one_vector_is_one_row():
    assert codec.decode(codec.encode([1, 2, 3])["data"], 3).shape == (1, 3)
    one = codec.unpack_one(codec.PackedVectors(**codec.encode([1, 2, 3])))
    assert one.shape == (3,) and one.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("data", "dim", "max_rows"),
    [
        ("not base64!", 2, 10),  # alphabet
        ("AAAA", 2, 10),  # 3 bytes: not whole float32s
        (base64.b64encode(b"\0" * 12).decode(), 2, 10),  # 3 floats: not whole 2-d rows
        (base64.b64encode(b"\0" * 24).decode(), 2, 2),  # 3 rows over a cap of 2
        ("", 2, 10),  # no rows
    ],
)
def test_bad_packed_data_is_invalid_input(data, dim, max_rows):
    with pytest.raises(InvalidInput) as err:
        codec.decode(data, dim, max_rows=max_rows)
    assert err.value.status == 400 and err.value.code == "invalid_input"


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=16))
def test_responses_decode_in_either_form(values):
    rows = [values, values]
    want = np.asarray(rows, dtype=np.float32)
    assert codec.from_response(codec.encode(rows)).tobytes() == want.tobytes()
    assert codec.from_response(rows).tobytes() == want.tobytes()


def test_encode_refuses_three_dimensions():
    with pytest.raises(InvalidInput):
        codec.encode(np.zeros((2, 2, 2)))
