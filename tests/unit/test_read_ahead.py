"""The read-ahead thread: the same bytes, the same SHA-256 and the same report as reading in line."""
import hashlib
import io
import threading
from dataclasses import replace

import pytest

from chalicelib.validation import validate_stream
from chalicelib.validation.read_ahead import ReadAhead
from hostile_tarballs import ALL_CASES, multi_member_mxnet, noise, valid_mxnet


class Failing:
    """A stream whose connection drops after `fail_at` bytes."""

    def __init__(self, data: bytes, fail_at: int, step: int = 4096):
        self._data, self._pos, self._fail_at, self._step = data, 0, fail_at, step

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._fail_at:
            raise ConnectionResetError("connection reset by peer")
        chunk = self._data[self._pos : self._pos + min(size, self._step)]
        self._pos += len(chunk)
        return chunk


def read_ahead_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "validation-read-ahead"]


@pytest.mark.parametrize("size,chunk", [(0, 7), (1, 7), (5 << 20, 1 << 20), ((3 << 20) + 11, 1 << 20)])
def test_the_chunks_are_the_stream_in_order_and_the_digest_is_hashlibs(size, chunk):
    data = noise(size)

    with ReadAhead(io.BytesIO(data), chunk, depth=2) as chunks:
        read = b"".join(chunks)
        digest = chunks.hexdigest()

    assert read == data
    assert digest == hashlib.sha256(data).hexdigest()
    assert not read_ahead_threads()


def test_an_error_of_the_stream_reaches_the_reader_and_the_worker_stops():
    with pytest.raises(ConnectionResetError):
        with ReadAhead(Failing(noise(1 << 20), fail_at=100_000), 4096, depth=2) as chunks:
            for _ in chunks:
                pass

    assert not read_ahead_threads()


def test_a_reader_that_stops_early_stops_the_worker_even_when_the_queue_is_full():
    with pytest.raises(KeyError):
        with ReadAhead(io.BytesIO(noise(1 << 20)), 1024, depth=2) as chunks:
            next(iter(chunks))
            raise KeyError("the consumer failed")

    assert not read_ahead_threads()


def test_the_digest_is_refused_before_the_end_of_the_stream():
    with ReadAhead(io.BytesIO(noise(10_000)), 1024, depth=2) as chunks:
        next(iter(chunks))
        with pytest.raises(RuntimeError):
            chunks.hexdigest()


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: f"{case.rule_id}:{case.name}")
def test_every_hostile_report_is_the_same_whatever_the_read_sizes(case):
    data = case.build()

    whole = validate_stream(io.BytesIO(data), case.limits)
    trickled = validate_stream(Failing(data, fail_at=len(data) + 1, step=333), case.limits)

    # how far inflation got before a fatal fault stopped it depends on the read sizes, as it always did
    assert replace(whole, uncompressed_bytes=0) == replace(trickled, uncompressed_bytes=0)
    assert whole.sha256 == hashlib.sha256(data).hexdigest()
    assert whole.compressed_bytes == len(data)


@pytest.mark.parametrize("build", [valid_mxnet, multi_member_mxnet])
def test_a_stream_that_fails_mid_archive_raises_and_leaves_no_worker(build):
    data = build()

    with pytest.raises(ConnectionResetError):
        validate_stream(Failing(data, fail_at=len(data) // 2, step=512))

    assert not read_ahead_threads()
