"""Tarball validation in one streaming pass: hash, gunzip, tar walk, safety and layout rules.

Why one pass: the ingest Lambda reads the upload straight from S3 once, in
constant memory, and never writes it to disk. Every problem in the archive
becomes a RuleFailure with a stable id; only errors raised by the stream itself
(network, disk) propagate, so the caller can decide whether to retry.

`sha256` and `compressed_bytes` always describe the whole object: after a fatal
problem (a cap crossed, a corrupt stream) decompression stops at once, but the
remaining bytes are still read and hashed.

Rule id families: `format.*` (not a gzip'd tar at all), `gzip.*` (CRC, length,
truncation), `tar.*` (headers, end marker), `safety.*` (member types and names,
member_names.py), `limits.*` (members, size, ratio, pax headers), `archive.empty`,
`layout.unknown`, `mxnet.*` and `tensorflow.*` (mxnet.py, shapes.py, tensorflow.py:
layout and the serving_default signature), `samples.*` (samples.py: the reference requests);
`archive.unreadable` is the catch-all for a
fault no other rule names. tests/hostile_tarballs.py has an archive for each.

The layout rules run under a guard too: an exception in one is the failure
`validator.rule_crashed`, naming the rule's function, never a crash of the caller.

How large a report gets: at most MAX_FAILURES broken rules are listed, the rest counted in one
more (`validator.more_rules`), and each message is cut to MAX_MESSAGE_BYTES (messages.py), so
`failures` stays within MAX_FAILURES_BYTES (22,848) of UTF-8, what an upload record and the CLI carry;
what a version records of an accepted archive is bounded in recorded.py. `members` (the S3
report beside a rejected upload and `validate --json` only) is bounded by the member cap
(Limits.max_members) times PATH_MAX (member_names.py).
"""
from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from . import layouts
from .gzip_stream import GzipInflater, StreamProblem
from .limits import Limits
from .messages import MAX_MESSAGE_BYTES, capped, listed
from .read_ahead import ReadAhead
from .samples import Sample
from .tar_headers import looks_like_tar_header
from .tar_walk import TarWalker

READ_CHUNK = 1 << 20
# Below this many uncompressed bytes the ratio cap does not apply: tar headers and
# padding of a small archive compress far better than any model weights.
RATIO_FLOOR_BYTES = 16 << 20
MAX_FAILURES = 20  # broken rules a report lists; more than a person fixes in one go
# UTF-8 bytes of `failures` as DynamoDB counts them (attribute names and values; JSON escapes add up to twice
# that): each {"rule": <under 40 bytes>, "message": <at most MAX_MESSAGE_BYTES>}, and one more counting the rest.
MAX_FAILURES_BYTES = (MAX_FAILURES + 1) * (MAX_MESSAGE_BYTES + 64)


# Plain dataclasses, not pydantic models: the pass builds them from values it made itself, so
# there is nothing to validate, and importing pydantic took 0.09 s of CPU, 15% of the whole
# `validate` command on the 220 MB ResNet-152 tarball.
@dataclass(frozen=True)
class Member:
    name: str
    size: int
    type: Literal["file", "dir"]


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    message: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    layout: Literal["mxnet", "tensorflow"] | None
    sha256: str
    compressed_bytes: int
    uncompressed_bytes: int
    members: list[Member]
    failures: list[RuleFailure]
    input_shapes: list[dict] | None = None  # MXNet: shapes.json; TensorFlow: serving_default's inputs, with dtype
    outputs: list[dict] | None = None  # TensorFlow: serving_default's outputs
    labels_count: int | None = None
    prefix: str | None = None
    samples: list[Sample] = field(default_factory=list)  # the reference requests under samples/ (samples.py)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (the rejection report beside a rejected upload, `validate --json`);
        samples by name only, their bodies stay out of it."""
        document = asdict(replace(self, samples=[]))
        document["samples"] = [sample.name for sample in self.samples]
        return document

    def with_failure(self, failure: RuleFailure) -> ValidationReport:
        """This report with one more broken rule (one the pass itself does not check, such as the model name)."""
        return replace(self, valid=False, failures=[*self.failures, failure])


class _Findings:
    """Failures by rule, first message kept: 10,000 symlinks make one readable line."""

    def __init__(self) -> None:
        self._by_rule: dict[str, list] = {}

    def add(self, rule: str, message: str) -> None:
        seen = self._by_rule.setdefault(rule, [message, 0])
        seen[1] += 1

    def failures(self) -> list[RuleFailure]:
        """At most MAX_FAILURES rules, each message within MAX_MESSAGE_BYTES, and one failure counting the rest."""
        shown = list(self._by_rule.items())[:MAX_FAILURES]
        failures = [RuleFailure(rule=rule, message=_with_count(message, count)) for rule, (message, count) in shown]
        rest = list(self._by_rule)[MAX_FAILURES:]
        if rest:
            failures.append(RuleFailure(rule="validator.more_rules", message=capped(
                f"{len(rest):,} more rules are broken, not described here: {listed(rest)}")))
        return failures


def _with_count(message: str, count: int) -> str:
    """The message within MAX_MESSAGE_BYTES, the count of its repeats kept whole at its end."""
    if count == 1:
        return capped(message)
    more = f" (and {count - 1:,} more like it)"
    return capped(message, MAX_MESSAGE_BYTES - len(more)) + more


def _rule_crashed(exc: Exception) -> tuple[str, str]:
    """A rule that raised: named by the innermost validator function, without the traceback or the exception's
    text (it may quote megabytes of the archive)."""
    package = Path(__file__).parent
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename).parent == package]
    where = f"{Path(frames[-1].filename).stem}.{frames[-1].name}" if frames else "layouts.check_layout"
    return ("validator.rule_crashed", f"the rule {where} failed on this archive ({type(exc).__name__}): it is "
            "refused rather than let through unchecked; please report the file to the registry's maintainers")


def human_size(count: float) -> str:
    """1048576 → '1 MiB', for messages people read."""
    unit = "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if count < 1024:
            break
        count, unit = count / 1024, bigger
    return f"{count:.1f}".removesuffix(".0") + f" {unit}"


def _not_gzip_message(head: bytes) -> str:
    """Names what the file is instead, so the fix is obvious."""
    fix = "pack the model with `tar -C model_dir -czf model.tar.gz .`"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return f"this is a zip archive, not a gzip-compressed tar: {fix}"
    if looks_like_tar_header(head):
        return f"this is an uncompressed tar archive; it must be gzip-compressed: {fix}"
    for magic, kind in ((b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd")):
        if head.startswith(magic):
            return f"this is a {kind}-compressed file; it must be gzip-compressed: {fix}"
    return f"the file is not gzip-compressed (it does not start with the bytes 1f 8b): {fix}"


class _Pass:
    """The state of one validation pass; `run()` reads the stream to its end."""

    def __init__(self, stream: Any, limits: Limits):
        self.stream, self.limits = stream, limits
        self.sha256 = ""
        self.compressed = self.uncompressed = 0
        self.head = b""
        self.findings = _Findings()
        self.inflater = GzipInflater()
        self.walker = TarWalker(limits.max_members, layouts.capture_limit, self.findings.add, layouts.captures())

    def run(self) -> StreamProblem | None:
        problem = None
        with ReadAhead(self.stream, READ_CHUNK) as chunks:  # errors of the stream itself propagate
            for chunk in chunks:
                self.compressed += len(chunk)
                if len(self.head) < 512:
                    self.head += chunk[: 512 - len(self.head)]
                if problem is None:
                    problem = self._guarded(self._feed, chunk)
            self.sha256 = chunks.hexdigest()
        if problem is None:
            problem = self._guarded(self._finish)
        return problem

    def _feed(self, chunk: bytes) -> None:
        limits, walker = self.limits, self.walker
        for piece in self.inflater.feed(chunk):
            self.uncompressed += len(piece)
            if self.uncompressed > limits.max_uncompressed_bytes:
                raise StreamProblem(
                    "limits.uncompressed_size",
                    f"the archive unpacks to more than {human_size(limits.max_uncompressed_bytes)}",
                )
            if self.uncompressed > max(RATIO_FLOOR_BYTES, limits.max_compression_ratio * self.compressed):
                raise StreamProblem(
                    "limits.compression_ratio",
                    f"the archive expands more than {limits.max_compression_ratio:g} times "
                    "(a compression bomb?): decompression was stopped",
                )
            walker.feed(piece)

    def _finish(self) -> None:
        if not self.compressed:
            raise StreamProblem("format.empty_file", "the file is empty (0 bytes)")
        self.inflater.finish()
        self.walker.finish()

    @staticmethod
    def _guarded(step, *args) -> StreamProblem | None:
        try:
            step(*args)
        except StreamProblem as problem:
            return problem
        except Exception as exc:  # a malformed archive must become a failure, never a crash
            return StreamProblem("archive.unreadable", f"the archive could not be read: {type(exc).__name__}: {exc}")
        return None


def validate_stream(stream: Any, limits: Limits | None = None) -> ValidationReport:
    """Validates a .tar.gz read once from `stream` (anything with `.read(n)`)."""
    run = _Pass(stream, limits or Limits())
    problem = run.run()
    result = layouts.LayoutResult()
    if problem is not None:
        message = _not_gzip_message(run.head) if problem.rule == "format.not_gzip" else problem.message
        run.findings.add(problem.rule, message)
    else:
        try:
            result = layouts.check_layout(run.walker.members, run.walker.captured, run.limits.max_input_elements)
        except Exception as exc:  # a bug in a rule must become a rejection, never a crash
            result = layouts.LayoutResult(failures=[_rule_crashed(exc)])
        for rule, message in result.failures:
            run.findings.add(rule, message)
    failures = run.findings.failures()
    return ValidationReport(
        valid=not failures,
        layout=result.layout,
        sha256=run.sha256,
        compressed_bytes=run.compressed,
        uncompressed_bytes=run.uncompressed,
        members=[Member(name=m.name, size=m.size, type=m.type) for m in run.walker.members],
        failures=failures,
        input_shapes=result.input_shapes,
        labels_count=result.labels_count,
        prefix=result.prefix,
        outputs=result.outputs,
        samples=result.samples,
    )


def validate_file(path: str | Path, limits: Limits | None = None) -> ValidationReport:
    """Validates a local .tar.gz (the CLI's check before an upload)."""
    with open(path, "rb", buffering=0) as stream:
        return validate_stream(stream, limits)
