"""The edges of each documented rule, through the app: the last value the document allows is accepted,
the first one past it is refused with a 422 (in-process Chalice client, moto)."""
import json
from urllib.parse import quote

import pytest

from chalicelib import names

pytestmark = pytest.mark.xdist_group("api-contract-cases")  # one worker builds this module's moto once

LONGEST_NAME = "/".join(["a" * 64, "b" * 64, "c" * 64, "d" * 5])  # 200 characters, 4 segments


def call(client, method: str, path: str, body=None) -> tuple[int, dict]:
    raw = json.dumps(body).encode() if body is not None else b""
    response = client.request(method, path, body=raw, headers={"Content-Type": "application/json"})
    return response.status_code, json.loads(response.body)


def test_a_model_name_of_the_maximum_length_is_accepted_and_one_character_more_is_refused(client):
    assert len(LONGEST_NAME) == names.MAX_NAME_LENGTH

    at_limit = call(client, "GET", f"/models/{quote(LONGEST_NAME, safe='')}/versions")
    over = call(client, "GET", f"/models/{quote(LONGEST_NAME + 'd', safe='')}/versions")

    assert (at_limit[0], at_limit[1]["error"]["code"]) == (404, "not_found")  # a valid name nobody registered
    assert (over[0], over[1]["error"]["code"]) == (422, "invalid_input")
    assert "model name" in over[1]["error"]["message"]


def test_an_alias_of_the_maximum_length_is_accepted_and_one_character_more_is_refused(client, seed):
    seed.version("resnet_18")

    at_limit = call(client, "PUT", f"/aliases/{'a' * 128}", {"model": "resnet_18", "version": 1})
    over = call(client, "PUT", f"/aliases/{'a' * 129}", {"model": "resnet_18", "version": 1})

    assert at_limit[0] == 200 and at_limit[1]["alias"] == "a" * 128
    assert (over[0], over[1]["error"]["code"]) == (422, "invalid_input")


def test_a_version_above_the_bound_is_refused_in_the_path_and_in_a_body(client, seed):
    seed.version("resnet_18")
    bound = names.MAX_NUMBER

    assert call(client, "GET", f"/models/resnet_18/versions/{bound}")[0] == 404
    assert call(client, "GET", f"/models/resnet_18/versions/{bound + 1}")[0] == 422
    assert call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": bound})[0] == 404
    status, body = call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": bound + 1})
    assert (status, body["error"]["details"]["errors"][0]["loc"][:1]) == (422, ["version"])


def test_an_integral_float_revision_is_that_integer_as_json_schema_says(client, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    assert call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 1})[1]["revision"] == 1

    moved = call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 2, "expected_revision": 1.0})
    stale = call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 1, "expected_revision": 1117.0})
    rolled = call(client, "POST", "/aliases/prod/rollback", {"expected_revision": 2.0})

    assert (moved[0], moved[1]["revision"], moved[1]["version"]) == (200, 2, 2)
    assert (stale[0], stale[1]["error"]["details"]["current_revision"]) == (409, 2)  # 1117.0 read as 1117
    assert (rolled[0], rolled[1]["version"]) == (200, 1)


@pytest.mark.parametrize("revision", [1.5, True, "1", 1e300])
def test_a_revision_that_is_not_a_whole_number_in_range_is_refused(client, seed, revision):
    seed.version("resnet_18")

    status, body = call(client, "PUT", "/aliases/prod", {"model": "resnet_18", "version": 1,
                                                         "expected_revision": revision})

    assert (status, body["error"]["code"]) == (422, "invalid_input")


def test_next_token_is_what_a_listing_issued_else_422_for_its_format_and_404_for_an_unknown_one(client, seed):
    for _ in range(3):
        seed.version("resnet_18")
    first = call(client, "GET", "/models/resnet_18/versions?limit=2")[1]

    issued = call(client, "GET", f"/models/resnet_18/versions?limit=2&next_token={first['next_token']}")
    malformed = call(client, "GET", "/models/resnet_18/versions?next_token=" + quote("eyJ+/=", safe=""))
    unknown = call(client, "GET", "/models/resnet_18/versions?next_token=c29tZXRoaW5n")

    assert [v["version"] for v in issued[1]["items"]] == [1]
    assert (malformed[0], malformed[1]["error"]["code"]) == (422, "invalid_input")
    assert (unknown[0], unknown[1]["error"]["code"]) == (404, "not_found")
