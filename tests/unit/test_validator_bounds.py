"""What the validator hands on has a stated maximum size: what a version records of an accepted
archive (recorded.py), and a rejection's failures (report.py); a rule that crashes is a rejection."""
import io
import json
import tarfile

from chalicelib.validation import Limits, validate_stream
from chalicelib.validation import tensorflow as tensorflow_rules
from chalicelib.validation.messages import MAX_MESSAGE_BYTES, capped, count, listed
from chalicelib.validation.recorded import MAX_NAME_BYTES, MAX_RANK, MAX_TENSORS, WORST_CASE_BYTES
from chalicelib.validation.report import MAX_FAILURES, MAX_FAILURES_BYTES
from hostile_tarballs import PARAMS_MAGIC, entry, tf_files, tgz
import saved_model_bytes as sm

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def validate(data: bytes, limits: Limits | None = None):
    return validate_stream(io.BytesIO(data), limits)


def recorded_from(report) -> dict:
    """What the ingest copies from a report onto the version record (versions/ingest.py, _accept)."""
    return {"input_shapes": report.input_shapes, "outputs": report.outputs, "labels_count": report.labels_count,
            "framework": report.layout}


def widest_name(number: int) -> str:
    """A name of exactly MAX_NAME_BYTES bytes of 2-byte characters, each 6 bytes once JSON escapes it."""
    suffix = f"{number:02d}"
    return "é" * ((MAX_NAME_BYTES - len(suffix)) // 2) + suffix


def test_the_largest_signature_a_version_records_stays_within_its_stated_worst_case():
    # GIVEN serving_default at every bound: 32 inputs and 32 outputs, 128-byte names, 8 dimensions, the
    # outputs' the longest int64, the inputs' the largest there are (under an element cap set that high)
    tensor_in = sm.tensor_info(shape=[-1] + [INT64_MAX] * (MAX_RANK - 1))
    tensor_out = sm.tensor_info(shape=[INT64_MIN] * MAX_RANK)
    signature = sm.signature({widest_name(i): tensor_in for i in range(MAX_TENSORS)},
                             {widest_name(i): tensor_out for i in range(MAX_TENSORS)})
    archive = tgz({**tf_files(), "1/saved_model.pb": sm.saved_model({"serving_default": signature})})

    # WHEN it is validated
    report = validate(archive, Limits(max_input_elements=INT64_MAX ** MAX_RANK))

    # THEN it is accepted, and what a version records of it is at its stated worst case, within it
    assert report.valid, report.failures
    size = len(json.dumps(recorded_from(report)))
    assert WORST_CASE_BYTES * 0.95 < size <= WORST_CASE_BYTES


def test_a_rejection_breaking_every_rule_it_can_stays_within_the_reports_stated_size():
    # GIVEN an archive breaking more rules than a report lists, each member named as long as a path may be,
    # in characters a message quotes as 10 (the invisible U+E0001, which repr writes \U000e0001)
    deep = "/".join(["\U000e0001" * 60] * 16)  # 3,855 bytes: under PATH_MAX, each folder under NAME_MAX
    members = [
        entry(f"../{deep}", b"x"), entry(f"/{deep}a", b"x"), entry(f"{deep}/\x1b[2J", b"x"),
        entry(f"{deep}/l", kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
        entry(f"{deep}/h", kind=tarfile.LNKTYPE, linkname="x"),
        entry(f"{deep}/c", kind=tarfile.CHRTYPE), entry(f"{deep}/b", kind=tarfile.BLKTYPE),
        entry(f"{deep}/f", kind=tarfile.FIFOTYPE), entry(f"{deep}/k", b"x", kind=tarfile.CONTTYPE),
        entry(f"{deep}/d", b"x"), entry(f"{deep}/d", b"y"), entry(f"{deep}/D", b"y"),
        entry(f"{deep}/e", b"x"), entry(f"{deep}/e/y", b"y"), entry(f"{deep}/{'n' * 256}", b"x"),
        entry(f"{deep}/.", b"x"), entry(f"{deep}/caf\udce9", b"x"),
    ]
    prefixes = ["\U0001F600" * 50 + str(i) for i in range(30)]
    files = {f"{p}-0000.params": b"not params" for p in prefixes}
    files |= {f"{prefixes[0]}-symbol.json": b"{", f"{prefixes[0]}-shapes.json": b"[]", "synset.txt": b"\xff",
              f"{prefixes[1]}-1.params": PARAMS_MAGIC}

    # WHEN it is validated
    report = validate(tgz(files, members, fmt=tarfile.GNU_FORMAT))

    # THEN the report lists MAX_FAILURES rules, counts the rest, and fits its stated size
    failures = [failure.as_json() for failure in report.failures]
    assert len(failures) == MAX_FAILURES + 1 and failures[-1]["rule"] == "validator.more_rules"
    assert all(len(f["message"].encode()) <= MAX_MESSAGE_BYTES for f in failures)
    size = sum(len(key) + len(value.encode()) for failure in failures for key, value in failure.items())
    assert MAX_FAILURES_BYTES * 0.75 < size <= MAX_FAILURES_BYTES  # a few rules only ever say a short sentence


def test_a_rule_that_crashes_is_a_rejection_naming_it_without_a_traceback(monkeypatch):
    # GIVEN a fault injected into one TensorFlow rule (no archive makes a rule raise once each is fixed)
    def fails(what, spec, max_elements):
        raise RecursionError("x" * 100_000)

    monkeypatch.setattr(tensorflow_rules, "_input_failures", fails)

    # WHEN a valid TensorFlow archive is validated
    report = validate(tgz(tf_files()))

    # THEN it is refused by the guard's own rule, which names the function, not the exception's text
    (failure,) = report.failures
    assert not report.valid and failure.rule == "validator.rule_crashed"
    assert "tensorflow._signature_failures" in failure.message and "RecursionError" in failure.message
    assert "xxx" not in failure.message and "Traceback" not in failure.message


def test_a_list_of_60000_names_is_cut_with_a_count_of_the_rest():
    text = listed(f"sig_{i:05d}" for i in range(60_000))

    assert text.endswith("'sig_00009', … and 59,990 more") and len(text) < 200


def test_a_number_too_long_to_print_is_given_as_a_power_of_two():
    assert count((2**62) ** 300) == "about 2^18600" and count(1_048_576) == "1,048,576"


def test_a_message_is_cut_at_its_byte_limit_on_a_character_boundary():
    cut = capped("\U0001F600" * 1000)

    assert len(cut.encode()) <= MAX_MESSAGE_BYTES and cut.endswith("…")
