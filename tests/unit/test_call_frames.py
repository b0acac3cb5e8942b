"""Call frames (the raw or npz bytes each call's inputs travel in) are remembered by content: the same
instances are sent to every candidate without encoding them again, and a changed array, dtype,
shape or name is never served a stale frame."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from adrs.sandbox import _call_frame


def decoded(frame: bytes) -> dict[str, np.ndarray]:
    assert frame[:1] in (b"C", b"R") and int.from_bytes(frame[1:5], "big") == len(frame) - 5
    if frame[:1] == b"R":  # raw: JSON [name, dtype, shape] list, then the arrays' bytes
        size = int.from_bytes(frame[5:9], "big")
        offset, arrays = 9 + size, {}
        for name, dtype, shape in json.loads(frame[9:9 + size]):
            n = int(np.prod(shape)) * np.dtype(dtype).itemsize
            arrays[name] = np.frombuffer(frame[offset:offset + n], dtype).reshape(shape)
            offset += n
        assert offset == len(frame)
        return arrays
    with np.load(io.BytesIO(frame[5:]), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def test_the_same_call_is_encoded_once_and_decodes_to_its_arrays() -> None:
    call = {"p": np.arange(6, dtype=np.int64).reshape(2, 3), "w": np.float64(2.5)}
    first = _call_frame(0, call)
    assert _call_frame(1, dict(call)) is first  # equal contents, another dict: the same frame
    got = decoded(first)
    assert got["p"].tolist() == [[0, 1, 2], [3, 4, 5]] and got["w"] == 2.5


def test_any_change_gives_a_new_frame() -> None:
    array = np.zeros(4, dtype=np.int32)
    before = _call_frame(0, {"x": array})
    array[2] = 7  # changed in place: same object, new contents
    after = _call_frame(0, {"x": array})
    assert decoded(after)["x"].tolist() == [0, 0, 7, 0] and decoded(before)["x"].tolist() == [0] * 4
    same_bytes = np.zeros(4, dtype=np.float32)  # the same 16 zero bytes, another dtype
    assert decoded(_call_frame(0, {"x": np.zeros(4, dtype=np.int32)}))["x"].dtype == np.int32
    assert decoded(_call_frame(0, {"x": same_bytes}))["x"].dtype == np.float32
    assert decoded(_call_frame(0, {"x": np.zeros((2, 2), dtype=np.int32)}))["x"].shape == (2, 2)
    assert set(decoded(_call_frame(0, {"y": np.zeros(4, dtype=np.int32)}))) == {"y"}
    strided = np.arange(10)[::2]  # not contiguous
    assert decoded(_call_frame(0, {"x": strided}))["x"].tolist() == [0, 2, 4, 6, 8]


def test_object_arrays_are_still_refused() -> None:
    with pytest.raises(TypeError, match="object arrays"):
        _call_frame(3, {"x": np.array([object()])})


def test_plain_arrays_travel_raw_and_others_as_npz() -> None:
    call = {"s": np.array("text ü"), "b": np.array(b"raw"), "f": np.arange(6.0).reshape(2, 3).T,
            "e": np.zeros((0, 3), dtype=">i4"), "c": np.array([1 + 2j])}
    frame = _call_frame(0, call)
    assert frame[:1] == b"R"
    got = decoded(frame)
    assert set(got) == set(call)
    for name, value in call.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        assert np.array_equal(got[name], value)
    record = {"r": np.zeros(2, dtype=[("a", "i4"), ("b", "f8")])}  # structured: as npz
    frame = _call_frame(0, record)
    assert frame[:1] == b"C" and decoded(frame)["r"].dtype.names == ("a", "b")
    times = {"t": np.array(["2026-12-05", "2027-01-01"], dtype="datetime64[D]"),
             "d": np.array(3, dtype="timedelta64[s]")}  # dates and durations: as npz
    frame = _call_frame(0, times)
    assert frame[:1] == b"C" and _call_frame(1, dict(times)) is frame
    got = decoded(frame)
    assert np.array_equal(got["t"], times["t"]) and got["d"] == times["d"]


def test_the_remembered_frames_stay_within_their_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from adrs import sandbox

    monkeypatch.setattr(sandbox, "_FRAMES_MAX_BYTES", 64 << 10)
    for seed in range(100):  # about 0.8 kB each: the oldest are dropped
        _call_frame(0, {"x": np.full(100, seed, dtype=np.int64)})
    held = sum(len(frame) for frame in sandbox._FRAMES.values())
    assert held == sandbox._FRAMES_SIZE[0] <= 64 << 10 and 60 <= len(sandbox._FRAMES) < 100
    latest = _call_frame(0, {"x": np.full(100, 99, dtype=np.int64)})
    assert _call_frame(1, {"x": np.full(100, 99, dtype=np.int64)}) is latest
