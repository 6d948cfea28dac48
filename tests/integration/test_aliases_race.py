"""Invariant 5: concurrent alias updates with the same expected revision: exactly one wins."""
import json
import threading
from collections import Counter

import pytest

pytestmark = pytest.mark.xdist_group("aliases-race")  # one worker builds this module's moto once

WRITERS = 20
UNCONDITIONAL_WRITERS = 8  # each loser re-reads and retries: contention costs grow with the square of this


def race(client, alias: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Sends every body at once from its own thread; answers in the order of `bodies`."""
    answers: list = [None] * len(bodies)
    start = threading.Barrier(len(bodies))

    def writer(i: int) -> None:
        start.wait()
        response = client.request("PUT", f"/aliases/{alias}", body=json.dumps(bodies[i]).encode(),
                                  headers={"Content-Type": "application/json"})
        answers[i] = (response.status_code, json.loads(response.body))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_twenty_writers_with_the_same_expected_revision_make_one_200_and_nineteen_409s(
        client, seed, serialized_dynamodb, registry_app):
    # GIVEN an alias at revision 1 and twenty versions to move it to
    for _ in range(WRITERS + 1):
        seed.version("resnet_18")
    assert client.request("PUT", "/aliases/prod", body=b'{"model": "resnet_18", "version": 1}').status_code == 200

    # WHEN twenty writers each move it to a different version, all expecting revision 1
    bodies = [{"model": "resnet_18", "version": v, "expected_revision": 1} for v in range(2, WRITERS + 2)]
    answers = race(client, "prod", bodies)

    # THEN exactly one wins, the others learn the revision it made, and history gained exactly one entry
    statuses = Counter(status for status, _ in answers)
    assert statuses == {200: 1, 409: WRITERS - 1}
    [winner] = [body for status, body in answers if status == 200]
    assert winner["revision"] == 2
    losers = [body["error"]["details"]["current_revision"] for status, body in answers if status == 409]
    assert set(losers) == {2}
    changes, _ = registry_app.get_alias_store().history("prod", 100, None)
    assert [c.revision for c in changes] == [2, 1]
    assert changes[0].after.targets[0].version == winner["version"]
    assert json.loads(client.get("/aliases/prod").body)["version"] == winner["version"]


def test_unconditional_writers_all_land_in_order_with_no_lost_history(
        client, seed, serialized_dynamodb, registry_app):
    for _ in range(UNCONDITIONAL_WRITERS):
        seed.version("resnet_18")

    answers = race(client, "prod", [{"model": "resnet_18", "version": v} for v in range(1, UNCONDITIONAL_WRITERS + 1)])

    assert {status for status, _ in answers} == {200}
    changes, _ = registry_app.get_alias_store().history("prod", 100, None)
    assert [c.revision for c in changes] == list(range(UNCONDITIONAL_WRITERS, 0, -1))
    for newer, older in zip(changes, changes[1:]):
        assert newer.before == older.after  # every change starts where the previous one ended
