"""A push-style tar walker over decompressed bytes: headers parsed, bodies skipped.

Why by hand: `tarfile` on a stream cannot be told to capture only the few small
files the layout rules need while skipping hundreds of megabytes of weights in
bulk, and it accepts links and devices silently. The walker keeps only member
metadata and the captured heads, so its memory does not grow with the archive.
"""
from __future__ import annotations

from collections.abc import Callable

from . import tar_headers as th
from .gzip_stream import StreamProblem
from .member_names import Entry, collisions, name_problems
from .messages import shown

__all__ = ["Entry", "TarWalker"]
MAX_LONG_NAME = 1 << 20  # a GNU long name or link; names past PATH_MAX are refused later, by rule


class TarWalker:
    """Feed decompressed bytes, then `finish()`; read `members` and `captured` afterwards.

    `capture_limit(name)` says how many leading bytes of a regular file to keep (0: none);
    `report(rule, message)` receives every non-fatal finding; fatal ones raise StreamProblem;
    `captured` is where the heads go (a dict, or one that decides what it keeps).
    """

    def __init__(self, max_members: int, capture_limit: Callable[[str], int], report: Callable[[str, str], None],
                 captured: dict[str, bytes] | None = None):
        self.max_members = max_members
        self.capture_limit = capture_limit
        self.report = report
        self.members: list[Entry] = []
        self.captured: dict[str, bytes] = {} if captured is None else captured
        self._headers = 0
        self._count = 0
        self._partial = bytearray()  # a header split across two pieces
        self._remaining = 0  # bytes of the current body and its padding still to pass
        self._sink = bytearray()
        self._sink_left = 0
        self._on_body: Callable[[bytes], None] | None = None
        self._long_name: bytes | None = None
        self._long_link = False
        self._pax_local: dict[str, str] = {}
        # Global pax records are never merged into members: none may set a path, size or link,
        # so all a member needs from them is whether one made it sparse.
        self._global_sparse = False
        self._global_bytes = self._global_records = 0
        self._trailing_zeros = -1  # -1 until the first zero block

    def feed(self, data: bytes) -> None:
        view, pos, end = memoryview(data), 0, len(data)
        while pos < end:
            if self._remaining:  # the hot path: skip a body in one step, keeping a captured head
                take = min(self._remaining, end - pos)
                if self._sink_left:
                    keep = min(take, self._sink_left)
                    self._sink += view[pos : pos + keep]
                    self._sink_left -= keep
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._body_done()
            elif self._trailing_zeros >= 0:
                rest = view[pos:].tobytes()
                if rest.count(0) != len(rest):
                    raise StreamProblem(
                        "tar.data_after_end",
                        "there is data after the tar end-of-archive marker; some tools would unpack it, others not",
                    )
                self._trailing_zeros += len(rest)
                pos = end
            elif not self._partial and end - pos >= th.BLOCK:
                self._header(view[pos : pos + th.BLOCK].tobytes())
                pos += th.BLOCK
            else:
                take = min(th.BLOCK - len(self._partial), end - pos)
                self._partial += view[pos : pos + take]
                pos += take
                if len(self._partial) == th.BLOCK:
                    block, self._partial = bytes(self._partial), bytearray()
                    self._header(block)

    def finish(self) -> None:
        if self._headers == 0 and not self._partial:
            raise StreamProblem("format.not_tar", "the gzip stream is empty: there is no tar archive inside")
        if self._remaining or self._partial:
            raise StreamProblem("tar.truncated", "the tar archive ends in the middle of a member: it is truncated")
        if self._trailing_zeros < th.BLOCK:
            raise StreamProblem(
                "tar.truncated", "the tar archive has no end-of-archive marker (two zero blocks): it is truncated"
            )
        for rule, message in collisions(self.members):
            self.report(rule, message)

    def _header(self, block: bytes) -> None:
        self._headers += 1
        if block == th.ZERO_BLOCK:
            if self._long_name is not None or self._long_link or self._pax_local:
                raise StreamProblem("tar.bad_header", "an extended tar header is not followed by a member")
            self._trailing_zeros = 0
            return
        try:
            header = th.decode(block)
        except ValueError as exc:
            if self._headers == 1:
                raise StreamProblem("format.not_tar", "the decompressed content is not a tar archive") from None
            raise StreamProblem("tar.bad_header", f"tar header #{self._headers} is corrupt ({exc})") from None
        if header.kind in th.EXTENDED:
            if header.kind in th.PAX:
                self._check_pax_size(header)
            elif header.size > MAX_LONG_NAME:
                raise StreamProblem("tar.bad_header", f"an extended tar header of {header.size} bytes is too large")
            # tarfile reads an extended header's padding too, so it is kept and must be zeros
            self._start_body(header.size, th.padded(header.size), lambda body: self._extended(header, body))
        else:
            self._member(header)

    def _extended(self, header: th.Header, padded_body: bytes) -> None:
        """Extended headers; any combination tarfile and GNU tar would read differently is refused."""
        body, kind = padded_body[: header.size], header.kind
        if padded_body.count(0, header.size) != len(padded_body) - header.size:
            raise StreamProblem("tar.bad_header", "an extended tar header has data beyond its declared size")
        if kind == b"L":
            if self._long_name is not None or b"\0" not in body:
                raise StreamProblem("tar.bad_header", "a GNU long name is repeated or not NUL-terminated")
            self._long_name = body.split(b"\0", 1)[0]
        elif kind == b"K":
            if self._long_link:
                raise StreamProblem("tar.bad_header", "two GNU long-link headers precede one member")
            self._long_link = True
        elif kind == b"x":
            if self._pax_local:
                raise StreamProblem("tar.bad_header", "two pax headers precede one member")
            self._pax_local = th.parse_pax(body, th.MAX_PAX_RECORDS)
        else:
            records = th.parse_pax(body, th.MAX_PAX_RECORDS - self._global_records)
            if {"path", "size", "linkpath"} & records.keys():
                raise StreamProblem("tar.bad_header", "a global pax header sets a member's path or size")
            self._global_records += len(records)
            self._global_sparse = self._global_sparse or th.is_sparse(records)
        if self._long_name is not None and "path" in self._pax_local:
            raise StreamProblem("tar.bad_header", "a member has both a GNU long name and a pax path")

    def _check_pax_size(self, header: th.Header) -> None:
        """A pax header, and all global ones together, stay under MAX_PAX_BYTES."""
        if header.kind == b"g":
            self._global_bytes += header.size
        if max(header.size, self._global_bytes) > th.MAX_PAX_BYTES:
            which = "the global pax headers add up to" if header.kind == b"g" else "a pax header has"
            raise StreamProblem("limits.pax_header", f"{which} more than {th.MAX_PAX_BYTES // 1024} KiB of records; "
                                "tar tools write a few hundred bytes")

    def _member(self, header: th.Header) -> None:
        pax = self._pax_local
        raw = self._long_name if self._long_name is not None else header.name
        if "path" in pax:
            raw = pax["path"].encode("utf-8", "surrogateescape")
        self._long_name, self._long_link, self._pax_local = None, False, {}
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "replace")
            self.report("safety.name_encoding", f"member name {shown(name)} is not valid UTF-8")
        size, kind = header.size, header.kind
        if "size" in pax:
            if not pax["size"].isascii() or not pax["size"].isdigit():
                raise StreamProblem("tar.bad_header", f"a pax header gives a bad size {shown(pax['size'])}")
            size = int(pax["size"])
        if kind in th.REGULAR and name.endswith("/"):
            # GNU tar makes a folder of it and skips no data; tarfile makes a file (of a pax or GNU
            # long name, or of a '0' type) and reads the data: neither reading is safe to pick.
            raise StreamProblem("tar.bad_header", f"member {shown(name)} is a regular file with a folder's name "
                                "(ending in '/'): tar tools disagree on whether it is a file or a folder")
        self._count += 1
        if self._count > self.max_members:
            raise StreamProblem("limits.members", f"the archive has more than {self.max_members} members")
        normal, failures = name_problems(name, kind == th.DIRECTORY)
        for rule, message in failures:
            self.report(rule, message)
        if any(rule == "safety.name_too_long" for rule, _ in failures):
            normal = ""  # kept out of the member list: the list's memory stays bounded by PATH_MAX a member
        unsafe = th.unsafe_type(kind, self._global_sparse or th.is_sparse(pax))
        if unsafe:
            rule, what = unsafe
            self.report(rule, f"member {shown(name)} {what}: only regular files and directories are allowed")
            self._start_body(0 if kind in th.UNSAFE else size, 0, None)  # as tarfile: links carry no data
        elif kind == th.DIRECTORY:
            if normal:
                self.members.append(Entry(normal, 0, "dir"))
        else:
            if normal:
                self.members.append(Entry(normal, size, "file"))
            keep = min(size, self.capture_limit(normal)) if normal else 0
            self._start_body(size, keep, (lambda body: self.captured.__setitem__(normal, body)) if keep else None)

    def _start_body(self, size: int, keep: int, on_body: Callable[[bytes], None] | None) -> None:
        self._remaining = th.padded(size)
        self._sink = bytearray()
        self._sink_left = keep if on_body else 0
        self._on_body = on_body
        if not self._remaining:
            self._body_done()

    def _body_done(self) -> None:
        if self._on_body is not None:
            on_body, self._on_body = self._on_body, None
            on_body(bytes(self._sink))
