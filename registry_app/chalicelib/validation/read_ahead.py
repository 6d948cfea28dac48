"""Reads the compressed stream and hashes it (SHA-256) on a worker thread, a few chunks ahead.

Why a thread: file and socket reads, hashlib's update (on buffers over 2 KiB) and ISA-L's
inflate all release the GIL, so with a second core the read and the hash cost the pass no
wall time (they were a third of it), and on one core a network read still overlaps the
inflate. The queue holds at most `depth` chunks, so memory stays bounded whatever the size.
Errors of the stream itself are raised in the consuming thread, as a plain read would.
"""
from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class ReadAhead:
    """`with ReadAhead(stream, size) as chunks: for chunk in chunks: ...`, then `chunks.hexdigest()`.

    Leaving the `with` block early (an exception in the consumer) stops the worker and joins it.
    """

    def __init__(self, stream: Any, chunk_size: int, depth: int = 4):
        self._read, self._chunk_size = stream.read, chunk_size
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._digest = hashlib.sha256()
        self._done = False
        self._thread = threading.Thread(target=self._produce, name="validation-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        get = self._queue.get
        while (item := get()) is not _END:
            if isinstance(item, _Failed):
                self._done = True
                raise item.error
            yield item
        self._done = True

    def hexdigest(self) -> str:
        """The SHA-256 of every byte read; only once the iteration has ended."""
        if not self._done:
            raise RuntimeError("the stream has not been read to its end")
        return self._digest.hexdigest()

    def close(self) -> None:
        """Stops the worker: it finishes the read under way, then sees the stop and ends."""
        self._stop.set()
        while self._thread.is_alive():
            try:  # unblock a worker waiting for room in the queue
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(0.05)

    def _produce(self) -> None:
        read, size, update, put, stop = self._read, self._chunk_size, self._digest.update, self._queue.put, self._stop
        try:
            while not stop.is_set():
                chunk = read(size)
                if not chunk:
                    break
                update(chunk)
                put(chunk)
            put(_END)
        except BaseException as error:  # handed to the consumer, which raises it
            put(_Failed(error))
