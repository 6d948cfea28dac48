"""Fuzz: mutated gzip, tar, pax and shapes bytes always give a report, in bounded time and memory.

The validator's promise to ingest is that a hostile upload becomes a report, never an
exception (only the stream's own errors propagate) and never a stall: ingest then
records the upload either way. `archive.unreadable` is the catch-all a fault no rule
names falls into, so it must not appear either.
"""
import hashlib
import io
import json
import tarfile
import time
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.validation import validate_stream
from hostile_tarballs import entry, gz, mxnet_files, tar_bytes, tf_files

MAX_SECONDS = 2.0  # CPU seconds for an archive of a few kilobytes; a normal one takes milliseconds
MAX_PEAK_BYTES = 32 << 20
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASES = [
    tar_bytes(mxnet_files(params_size=300), dot_root=True),
    tar_bytes({**tf_files(), "1/assets/" + "x" * 120: b"long"}, fmt=tarfile.GNU_FORMAT),
    tar_bytes(mxnet_files(params_size=200), [entry("é/" + "y" * 150, b"z", pax_headers={"comment": "c" * 40})]),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.sampled_from(["name", "shape", "x"]), inner, max_size=3),
    max_leaves=40,
)
shape_lists = st.lists(
    st.fixed_dictionaries({"name": st.sampled_from(["data", "data", "", "x"]),
                           "shape": st.lists(st.integers(-1, 2**40), max_size=12)}),
    max_size=3,
)


def checked(archive: bytes):
    """Validates `archive` and holds the report to the promises above."""
    tracemalloc.start()
    started = time.process_time()
    try:
        report = validate_stream(io.BytesIO(archive))
        seconds = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rules = [failure.rule for failure in report.failures]
    assert "archive.unreadable" not in rules, report.failures
    assert report.valid == (not rules)
    assert report.sha256 == hashlib.sha256(archive).hexdigest()
    assert all(failure.message for failure in report.failures)
    assert seconds < MAX_SECONDS
    assert peak < MAX_PEAK_BYTES
    return report


def mutate(data: bytes, draw) -> bytes:
    """Overwrites, inserts or deletes a few bytes."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        how = draw(st.sampled_from(["set", "set", "insert", "delete"]))
        if how == "set" and buf:
            buf[at] = draw(st.integers(0, 255))
        elif how == "insert":
            buf[at:at] = draw(st.binary(min_size=1, max_size=600))
        else:
            del buf[at : at + draw(st.integers(1, 600))]
    return bytes(buf)


def reseal(tar: bytes) -> bytes:
    """Recomputes every plausible header checksum, so a mutation gets past the checksum to the fields."""
    buf = bytearray(tar)
    for at in range(0, len(buf) - 511, 512):
        block = buf[at : at + 512]
        if block[257:262] == b"ustar":
            block[148:156] = b" " * 8
            buf[at + 148 : at + 156] = b"%06o\0 " % sum(block)
    return bytes(buf)


@FUZZ
@given(data=st.data())
def test_mutated_gzip_bytes_give_a_report(data):
    checked(mutate(gz(data.draw(st.sampled_from(BASES))), data.draw))


@FUZZ
@given(data=st.data(), sealed=st.booleans())
def test_mutated_tar_bytes_give_a_report(data, sealed):
    tar = mutate(data.draw(st.sampled_from(BASES)), data.draw)

    checked(gz(reseal(tar) if sealed else tar))


@FUZZ
@given(records=st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=40), st.integers(-3, 3)), max_size=8))
def test_arbitrary_pax_records_give_a_report(records):
    body = b""
    for key, value, skew in records:  # `<length> <key>=<value>\n`, the length sometimes wrong
        record = f" {key}={value}\n".encode("utf-8", "surrogatepass")
        length = len(record) + len(str(len(record)))
        body += str(max(length + skew, 0)).encode() + record
    header = entry("pax", kind=tarfile.XHDTYPE, size=len(body)).tobuf(tarfile.USTAR_FORMAT)

    checked(gz(header + body + bytes(-len(body) % 512) + tar_bytes(mxnet_files(), fmt=tarfile.USTAR_FORMAT)))


@FUZZ
@given(shapes=json_values | shape_lists)
def test_arbitrary_shapes_json_gives_a_report(shapes):
    files = {**mxnet_files(), "model-shapes.json": json.dumps(shapes).encode()}

    report = checked(gz(tar_bytes(files)))

    if report.valid:  # what validates is what the warm-up and the handler can bind
        for item in report.input_shapes:
            assert 2 <= len(item["shape"]) <= 8 and all(type(d) is int and d > 0 for d in item["shape"])


@FUZZ
@given(raw=st.binary(max_size=2048))
def test_arbitrary_shapes_file_bytes_give_a_report(raw):
    checked(gz(tar_bytes({**mxnet_files(), "model-shapes.json": raw})))
