"""The frame codec: round trips, hard limits, and a fuzzed decoder."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.trust import frames
from engine.trust.frames import Frame, FrameDecoder, FrameError


def decode_all(data: bytes, max_frame: int = 1024, step: int = 7) -> list[Frame]:
    dec = FrameDecoder(max_frame)
    out: list[Frame] = []
    for i in range(0, len(data), step):
        dec.feed(data[i : i + step])
        out.extend(dec.frames())
    return out


def test_round_trip_message_and_data() -> None:
    wire = frames.encode_message({"op": "stat", "path": "/x"}) + frames.encode_data(b"\x00\xff" * 10)
    got = decode_all(wire)
    assert got[0].message() == {"op": "stat", "path": "/x"}
    assert got[1] == Frame(frames.KIND_DATA, b"\x00\xff" * 10)


def test_oversized_length_fails_before_body_arrives() -> None:
    dec = FrameDecoder(max_frame=100)
    with pytest.raises(FrameError, match="exceeds the maximum"):
        dec.feed(struct.pack(">I", 0xFFFFFFFF))
    assert dec.failed
    assert dec.pending == 4  # nothing of the announced 4 GiB was awaited or buffered


def test_frame_at_the_limit_passes_one_over_fails() -> None:
    body = b"x" * 100
    assert decode_all(frames.encode_data(body), max_frame=100)[0].body == body
    with pytest.raises(FrameError):
        decode_all(frames.encode_data(body + b"y"), max_frame=100)


@pytest.mark.parametrize(
    "wire",
    [
        struct.pack(">I", 0),  # empty frame
        struct.pack(">I", 2) + b"Z1",  # unknown kind
        struct.pack(">I", 4) + b"J[1]",  # JSON but not an object
        struct.pack(">I", 3) + b"J\xff\xfe",  # not UTF-8
    ],
)
def test_malformed_frames_raise_frame_error(wire: bytes) -> None:
    with pytest.raises(FrameError):
        decode_all(wire)


def test_message_of_data_frame_is_an_error() -> None:
    with pytest.raises(FrameError):
        Frame(frames.KIND_DATA, b"{}").message()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=64))
def test_decoder_never_fails_other_than_frame_error(data: bytes, step: int) -> None:
    dec = FrameDecoder(max_frame=256)
    try:
        for i in range(0, len(data), step):
            dec.feed(data[i : i + step])
            for f in dec.frames():
                assert len(f.body) <= 256
                if f.is_json:
                    assert isinstance(f.message(), dict)
    except FrameError:
        assert dec.failed
    assert dec.pending <= 4 + 257 + step


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300).map(lambda b: (frames.KIND_DATA, b)),
            st.dictionaries(st.text(max_size=8), json_values, max_size=5).map(
                lambda d: (frames.KIND_JSON, json.dumps(d).encode())
            ),
        ),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=50),
)
@pytest.mark.slow
def test_any_split_of_valid_frames_decodes_to_the_same_frames(
    items: list[tuple[int, bytes]], step: int
) -> None:
    wire = b"".join(frames.encode(k, b) for k, b in items)
    got = decode_all(wire, max_frame=4096, step=step)
    assert [(f.kind, f.body) for f in got] == items
