"""Small bodies that declare something huge, sent to a real MMS: each is a 4xx that says why,
never a 507 (SageMaker would unload other models) nor a worker that dies and reloads."""
from __future__ import annotations

import json

import pytest

from hostile_payloads import deep_json, npy_declaring, png_bomb

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mms")]

ONE_DIGIT = json.dumps({"instances": [[0.5] * 64]})


def worker_starts(server, model: str) -> list:
    return [worker["startTime"] for worker in server.describe(model).json()["workers"]]


@pytest.mark.parametrize("model,body,content_type,status,code", [
    ("digits", npy_declaring((2**40, 4)), "application/x-npy", 400, "invalid_shape"),
    ("digits", npy_declaring((2**40, 64)), "application/x-npy", 400, "invalid_npy"),
    ("digits", deep_json(100_000), "application/json", 400, "invalid_json"),
    ("resnet_18", png_bomb(13_000, 13_000), "image/png", 413, "image_too_large"),
], ids=["npy-shape", "npy-huge", "json-deep", "png-170mpx"])
def test_a_hostile_body_is_a_4xx_and_the_worker_keeps_serving(mms_server, served, model, body, content_type,
                                                            status, code):
    before = worker_starts(mms_server, model)

    answer = mms_server.invoke(model, body, content_type)

    assert answer.status == status, answer.body[:300]
    assert answer.json()["error"]["code"] == code
    assert mms_server.invoke("digits", ONE_DIGIT, "application/json").status == 200
    assert worker_starts(mms_server, model) == before  # the same worker: nothing died, nothing reloaded
