"""Named inputs for models with several of them: the JSON forms, the npz form, and what is refused."""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "container"))

import handler_inputs  # noqa: E402
import handler_payloads as payloads  # noqa: E402

TWO = {"pixels": [1, 1, 2, 2], "extra": [1, 3]}
PIXELS = np.arange(8, dtype="float32").reshape(2, 1, 2, 2)
EXTRA = np.array([[1, 2, 3], [4, 5, 6]], dtype="float32")


def decode(body, content_type="application/json", inputs=TWO):
    if isinstance(body, dict):
        body = json.dumps(body)
    return handler_inputs.decode(body, content_type, None, inputs)


def refusal(body, content_type="application/json", inputs=TWO) -> payloads.PayloadError:
    with pytest.raises(payloads.PayloadError) as caught:
        decode(body, content_type, inputs)
    return caught.value


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def assert_both_inputs(decoded):
    assert list(decoded.batch) == ["pixels", "extra"]
    np.testing.assert_array_equal(decoded.batch["pixels"], PIXELS)
    np.testing.assert_array_equal(decoded.batch["extra"], EXTRA)


def test_columnar_json_gives_a_batch_per_input():
    assert_both_inputs(decode({"inputs": {"extra": EXTRA.tolist(), "pixels": PIXELS.tolist()}}))


def test_row_json_gives_the_same_batches():
    rows = [{"pixels": p.tolist(), "extra": e.tolist()} for p, e in zip(PIXELS, EXTRA)]

    assert_both_inputs(decode({"instances": rows}))


def test_an_npz_gives_the_same_batches():
    assert_both_inputs(decode(npz(pixels=PIXELS, extra=EXTRA.astype("float64")), "application/x-npz"))


def test_a_one_input_model_takes_the_named_forms_and_the_plain_one():
    one = {"data": [1, 3]}

    for body, kind in ((json.dumps({"inputs": {"data": EXTRA.tolist()}}), "application/json"),
                       (json.dumps({"inputs": EXTRA.tolist()}), "application/json"),
                       (json.dumps({"instances": EXTRA.tolist()}), "application/json"),
                       (npz(data=EXTRA), "application/x-npz")):
        np.testing.assert_array_equal(decode(body, kind, one).batch["data"], EXTRA)


@pytest.mark.parametrize(
    "body,content_type",
    [({"instances": [[1, 2, 3]]}, "application/json"), (b"\x93NUMPY", "application/x-npy"),
     (b"\x89PNG", "image/png")],
    ids=["unnamed-json", "npy", "image"],
)
def test_an_unnamed_body_to_a_model_of_several_inputs_says_how_to_name_them(body, content_type):
    error = refusal(body, content_type)

    assert (error.status, error.code) == (400, "multiple_inputs") and "pixels, extra" in error.message


@pytest.mark.parametrize(
    "body",
    [{"inputs": {"pixels": PIXELS.tolist()}},
     {"inputs": {"pixels": PIXELS.tolist(), "extra": EXTRA.tolist(), "x": [1]}},
     {"instances": [{"pixels": PIXELS[0].tolist()}]}],
    ids=["missing", "unknown", "row-missing"],
)
def test_the_names_must_be_exactly_the_models_inputs(body):
    assert refusal(body).code == "invalid_inputs"


def test_every_input_needs_the_same_number_of_instances():
    error = refusal({"inputs": {"pixels": PIXELS.tolist(), "extra": EXTRA[:1].tolist()}})

    assert error.code == "invalid_shape" and "same number" in error.message


def test_a_wrongly_shaped_input_is_named_in_the_refusal():
    error = refusal({"inputs": {"pixels": PIXELS.tolist(), "extra": [[1, 2], [3, 4]]}})

    assert error.code == "invalid_shape" and "'extra'" in error.message


def test_npz_members_are_checked_by_name_and_header():
    assert refusal(npz(pixels=PIXELS), "application/x-npz").code == "invalid_inputs"
    assert refusal(b"not a zip", "application/x-npz").code == "invalid_npz"
    assert refusal(npz(pixels=PIXELS, extra=np.array(["a", "b", "c"])), "application/x-npz").code == "invalid_npy"


def test_an_npz_that_would_unpack_past_the_limit_is_refused_before_it_is_read():
    # GIVEN a body of a few kB whose members declare more than the limit once unpacked
    rows = handler_inputs.MAX_NPZ_BYTES // (3 * 4) + 1
    body = npz(pixels=np.zeros((rows, 1, 2, 2), "float32"), extra=np.zeros((rows, 3), "float32"))
    assert len(body) < 2**20

    # THEN it is a 413, decided from the zip's directory alone
    error = refusal(body, "application/x-npz")
    assert (error.status, error.code) == (413, "payload_too_large")


def test_an_npz_with_an_array_twice_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        for name in ("pixels.npy", "extra.npy", "extra.npy"):
            member = io.BytesIO()
            np.save(member, EXTRA)
            archive.writestr(name, member.getvalue())

    assert refusal(buffer.getvalue(), "application/x-npz").code == "invalid_npz"
