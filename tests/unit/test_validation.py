"""The streaming validator: every hostile tarball trips its rule; valid ones pass with facts right."""
import gzip
import hashlib
import io
import re
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chalicelib.validation
from chalicelib.settings import Settings
from chalicelib.validation import Limits, validate_file, validate_stream
from chalicelib.validation.tar_headers import looks_like_tar_header
from hostile_tarballs import (
    ALL_CASES,
    entry,
    gz,
    gzip_bomb,
    multi_member_mxnet,
    mxnet_files,
    tar_bytes,
    tf_files,
    tgz,
    valid_mxnet,
)
from local_stack.demo.sample_models import cached_tarball

RULE_LITERAL = re.compile(r'"((?:format|gzip|tar|safety|limits|archive|layout|mxnet|tensorflow|samples)\.[a-z_]+)"')


def validate(data: bytes, limits: Limits | None = None):
    return validate_stream(io.BytesIO(data), limits)


def rules(report) -> list[str]:
    return [failure.rule for failure in report.failures]


class Trickle:
    """A stream that hands out at most `step` bytes a read, like a slow socket."""

    def __init__(self, data: bytes, step: int):
        self._data, self._pos, self._step = data, 0, step

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._pos : self._pos + min(size, self._step)]
        self._pos += len(chunk)
        return chunk


class Broken(Trickle):
    """A stream whose connection drops after `fail_at` bytes."""

    def __init__(self, data: bytes, fail_at: int):
        super().__init__(data, 4096)
        self._fail_at = fail_at

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._fail_at:
            raise ConnectionResetError("connection reset by peer")
        return super().read(size)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: f"{case.rule_id}:{case.name}")
def test_each_hostile_tarball_is_rejected_for_its_rule(case):
    data = case.build()

    report = validate(data, case.limits)

    assert not report.valid
    assert case.rule_id in rules(report), report.failures
    assert all(failure.message.strip() for failure in report.failures)
    assert report.sha256 == hashlib.sha256(data).hexdigest()  # the whole object, even after a fatal fault
    assert report.compressed_bytes == len(data)


def test_every_rule_in_the_validator_has_a_hostile_tarball():
    package = Path(chalicelib.validation.__file__).parent
    declared = {rule for source in package.glob("*.py") for rule in RULE_LITERAL.findall(source.read_text())}

    covered = {case.rule_id for case in ALL_CASES}

    assert len(declared) > 30
    assert declared - covered == {"archive.unreadable"}  # the catch-all for faults no rule names


def test_a_gzip_bomb_is_stopped_after_a_few_hundred_megabytes():
    claimed = 2 << 30
    report = validate(gzip_bomb(claimed))

    assert rules(report) == ["limits.compression_ratio"]
    assert report.uncompressed_bytes < 300 << 20 < claimed


def test_the_notebook_style_dot_archive_is_valid():
    report = validate(valid_mxnet(dot_root=True))

    assert report.valid, report.failures
    assert (report.layout, report.prefix, report.labels_count) == ("mxnet", "model", 3)
    assert report.input_shapes == [{"name": "data", "shape": [1, 8]}]
    assert [m.name for m in report.members] == ["model-symbol.json", "model-0000.params", "model-shapes.json", "synset.txt"]


def test_an_archive_with_plain_names_is_valid():
    report = validate(valid_mxnet(dot_root=False))

    assert report.valid, report.failures
    assert report.prefix == "model"


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_are_read_in_every_tar_format(fmt):
    deep = "d" * 60 + "/" + "e" * 60 + "/" + "f" * 30 + "/notes.txt"  # over 100 bytes: needs prefix, L or pax
    report = validate(tgz({**tf_files(), f"1/assets/{deep}": b"x"}, fmt=fmt))

    assert report.valid, report.failures
    assert f"1/assets/{deep}" in [m.name for m in report.members]


def test_a_tensorflow_serving_layout_is_valid():
    report = validate(tgz({**tf_files(), "code/inference.py": b"def handler(): pass\n"}))

    assert report.valid, report.failures
    assert report.layout == "tensorflow"
    assert report.input_shapes == [{"name": "x", "dtype": "float32", "shape": [-1, 4]}] and report.prefix is None
    assert report.outputs == [{"name": "y", "dtype": "float32", "shape": [-1, 4]}]


def test_a_multi_member_gzip_is_valid():
    data = multi_member_mxnet()

    report = validate(data)

    assert report.valid, report.failures
    assert report.uncompressed_bytes == len(gzip.decompress(data))
    assert report.prefix == "model"


def test_zero_padding_after_the_last_gzip_member_is_tolerated_like_gzip_does():
    report = validate(valid_mxnet() + bytes(300))

    assert report.valid, report.failures


@pytest.mark.parametrize("step", [1, 7, 511, 513, 4097])
@pytest.mark.parametrize("build", [valid_mxnet, multi_member_mxnet], ids=["one_member", "three_members"])
def test_a_stream_that_returns_short_reads_gives_the_same_report(step, build):
    data = build()

    report = validate_stream(Trickle(data, step))

    assert report == validate(data)
    assert report.valid


def test_errors_of_the_stream_itself_propagate():
    with pytest.raises(ConnectionResetError):
        validate_stream(Broken(valid_mxnet(), fail_at=4096))


def test_many_failures_of_one_rule_collapse_into_one_line():
    links = [entry(f"link{i}", kind=tarfile.SYMTYPE, linkname="x") for i in range(50)]

    report = validate(tgz({}, links))

    symlink = [failure for failure in report.failures if failure.rule == "safety.symlink"]
    assert len(symlink) == 1
    assert symlink[0].message.endswith("(and 49 more like it)")


def test_the_root_dot_entry_is_not_a_member_and_names_lose_their_dot_slash():
    report = validate(tgz({"a/b.txt": b"x"}, [entry("./a/", kind=tarfile.DIRTYPE)], dot_root=True))

    assert [(m.name, m.type) for m in report.members] == [("a/b.txt", "file"), ("a", "dir")]


def test_limits_come_from_the_settings():
    settings = Settings(max_members=7, max_uncompressed_bytes=99, max_compression_ratio=3.5, max_input_elements=64)

    limits = Limits.from_settings(settings)

    assert limits == Limits(max_members=7, max_uncompressed_bytes=99, max_compression_ratio=3.5, max_input_elements=64)


def test_the_input_element_cap_reaches_the_shapes_rule():
    archive = tgz({**mxnet_files(), "model-shapes.json": b'[{"name": "data", "shape": [1, 3, 8, 8]}]'})

    assert validate(archive).valid
    assert rules(validate(archive, Limits(max_input_elements=191))) == ["mxnet.shapes_too_large"]


def test_a_pax_header_at_its_size_cap_is_read():
    near_cap = entry("f", b"x", pax_headers={"comment": "c" * ((256 << 10) - 100)})

    assert validate(tgz(mxnet_files(), [near_cap])).valid


def test_global_pax_records_count_together_across_headers():
    headers = b"".join(tarfile.TarInfo.create_pax_global_header({f"k{i}": "v"}) for i in range(256))

    assert validate(gz(headers + tar_bytes(mxnet_files()))).valid
    assert rules(validate(gz(headers * 2 + tar_bytes(mxnet_files())))) == ["limits.pax_records"]


def best_cpu_seconds(archive: bytes, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        validate(archive)
        best = min(best, time.process_time() - started)
    return best


def test_global_pax_records_cost_nothing_per_member():
    # GIVEN 5,000 members, alone and after 250 global pax records
    files = {**mxnet_files(), **{f"extra/{i}": b"" for i in range(5000)}}
    records = tarfile.TarInfo.create_pax_global_header({f"k{i}": "v" * 100 for i in range(250)})

    # WHEN both are validated
    alone, after_globals = best_cpu_seconds(tgz(files)), best_cpu_seconds(gz(records + tar_bytes(files)))

    # THEN the records are read once, not merged into every member (which took 2.5 times as long)
    assert after_globals < 1.5 * alone


def test_a_git_archive_comment_in_a_global_pax_header_is_fine():
    comment = tarfile.TarInfo.create_pax_global_header({"comment": "5f3c1e2d" * 5})

    assert validate(gz(comment + tar_bytes(mxnet_files()))).valid


def test_a_global_sparse_record_marks_the_members_after_it_sparse():
    sparse = tarfile.TarInfo.create_pax_global_header({"GNU.sparse.realsize": "1024"})

    assert "safety.member_type" in rules(validate(gz(sparse + tar_bytes(mxnet_files()))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_archives_give_a_report_never_an_exception(data):
    original = valid_mxnet(dot_root=True)
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    damaged = bytes(damaged[: data.draw(st.integers(0, len(damaged)))])

    report = validate(damaged)

    assert report.sha256 == hashlib.sha256(damaged).hexdigest()
    assert "archive.unreadable" not in rules(report)
    assert report.valid == (not report.failures)


LONG = "1/assets/" + "x" * 90 + "/" + "y" * 60  # needs a ustar prefix, a GNU long name or a pax path
DIFFERENTIAL_BASES = [
    tar_bytes(mxnet_files(params_size=600), dot_root=True),
    tar_bytes(mxnet_files(params_size=700), fmt=tarfile.GNU_FORMAT),
    *(tar_bytes({**tf_files(), LONG: b"z"}, fmt=fmt) for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT)),
]
INTERESTING_BYTES = st.sampled_from(b"\x00 ./0125789LKxg\x80\xff") | st.integers(0, 255)


def _reseal(tar: bytearray, headers: list[int]) -> None:
    """Recomputes the checksums of the header blocks, so a mutation reaches the field checks."""
    for offset in headers:
        block = bytearray(tar[offset : offset + 512])
        block[148:156] = b" " * 8
        tar[offset + 148 : offset + 156] = b"%06o\0 " % sum(block)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_accepted_archive_lists_exactly_what_tarfile_lists(data):
    # GIVEN a valid tar whose headers are mutated and re-sealed with a correct checksum
    tar = bytearray(data.draw(st.sampled_from(DIFFERENTIAL_BASES)))
    headers = [at for at in range(0, len(tar), 512) if any(tar[at : at + 512]) and looks_like_tar_header(tar[at : at + 512])]
    for _ in range(data.draw(st.integers(1, 3))):
        tar[data.draw(st.sampled_from(headers)) + data.draw(st.integers(0, 1023))] = data.draw(INTERESTING_BYTES)
    _reseal(tar, headers)
    archive = gz(bytes(tar))

    # WHEN the validator accepts it
    report = validate(archive)
    if not report.valid:
        return

    # THEN tarfile reads the very same members: no member can hide from the validator
    with tarfile.open(fileobj=io.BytesIO(archive)) as reference:
        listed = [("/".join(p for p in m.name.split("/") if p not in ("", ".")), m) for m in reference]
    expected = [(name, m.size if m.isfile() else 0, "file" if m.isfile() else "dir") for name, m in listed if name]
    assert [(m.name, m.size, m.type) for m in report.members] == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,prefix,labels,shape",
    [
        ("resnet_18", "resnet-18", 1000, [1, 3, 224, 224]),
        ("squeezenet_v1.0", "squeezenet_v1.0", 1000, [1, 3, 224, 224]),
        ("digits", "digits", 10, [1, 64]),
    ],
)
def test_the_real_sample_models_are_valid(name, prefix, labels, shape):
    path = cached_tarball(name)

    report = validate_file(path)

    assert report.valid, report.failures
    assert (report.layout, report.prefix, report.labels_count) == ("mxnet", prefix, labels)
    assert report.input_shapes == [{"name": "data", "shape": shape}]
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with tarfile.open(path) as tar:
        listed = [(m.name.removeprefix("./"), m.size) for m in tar if m.isfile()]
    assert [(m.name, m.size) for m in report.members if m.type == "file"] == listed


def test_the_report_as_json_keeps_every_field_in_its_order():
    data = valid_mxnet(dot_root=True)

    as_json = validate(data).as_json()

    assert as_json == {
        "valid": True, "layout": "mxnet", "sha256": hashlib.sha256(data).hexdigest(),
        "compressed_bytes": len(data), "uncompressed_bytes": 10240,
        "members": [{"name": "model-symbol.json", "size": 97, "type": "file"},
                    {"name": "model-0000.params", "size": 4096, "type": "file"},
                    {"name": "model-shapes.json", "size": 35, "type": "file"},
                    {"name": "synset.txt", "size": 14, "type": "file"}],
        "failures": [], "input_shapes": [{"name": "data", "shape": [1, 8]}], "labels_count": 3, "prefix": "model",
        "outputs": None, "samples": [],
    }
    assert list(as_json) == ["valid", "layout", "sha256", "compressed_bytes", "uncompressed_bytes", "members",
                             "failures", "input_shapes", "outputs", "labels_count", "prefix", "samples"]


@pytest.mark.parametrize("field,value", [("max_members", 0), ("max_uncompressed_bytes", -1),
                                         ("max_compression_ratio", 0), ("max_input_elements", "8")])
def test_a_limit_out_of_its_range_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})
