"""Every alias change and every retirement puts exactly one change event in the outbox, revisions without gaps."""
import json
import threading
from datetime import timedelta

import pytest

from change_events import of_type, outbox_events
from chalicelib.records import utcnow

pytestmark = pytest.mark.xdist_group("aliases")


def events(app) -> list[dict]:
    return outbox_events(app.get_session().client("dynamodb"), app.settings.table)


def moves(app, alias: str) -> list[dict]:
    return [e for e in of_type(events(app), "AliasMoved") if e["alias"] == alias]


def put(client, alias: str, body: dict):
    return client.put(f"/aliases/{alias}", body=json.dumps(body), headers={"Content-Type": "application/json"})


def test_update_rollback_follow_and_delete_each_announce_one_alias_moved(client, seed, registry_app):
    # GIVEN two versions of a model
    seed.version("resnet_18"), seed.version("resnet_18")
    # WHEN the alias is created, moved, rolled back, set to follow the latest, and deleted
    assert put(client, "prod", {"model": "resnet_18", "version": 1}).status_code == 200
    assert put(client, "prod", {"model": "resnet_18", "version": 2}).status_code == 200
    assert client.post("/aliases/prod/rollback").status_code == 200
    assert put(client, "prod", {"model": "resnet_18", "version": "latest"}).status_code == 200
    assert client.delete("/aliases/prod").status_code == 200
    # THEN one AliasMoved per change, in revision order, each saying what it did
    found = moves(registry_app, "prod")
    assert [(e["revision"], e["action"], e["created"]) for e in found] == [
        (1, "update", True), (2, "update", False), (3, "rollback", False), (4, "update", False), (5, "delete", False)]
    assert [e["to"]["targets"][0]["version"] if e["to"] else None for e in found] == [1, 2, 1, 2, None]
    assert [e["from"]["targets"][0]["version"] if e["from"] else None for e in found] == [None, 1, 2, 1, 2]
    assert found[3]["to"]["tracks_latest"] is True
    assert all(e["models"] == ["resnet_18"] for e in found)
    assert len({e["event_id"] for e in found}) == 5


def test_a_weighted_split_announces_its_targets_and_weights(client, seed, registry_app):
    seed.version("resnet_18"), seed.version("resnet_18")

    body = {"targets": [{"model": "resnet_18", "version": 1, "weight": 90},
                        {"model": "resnet_18", "version": 2, "weight": 10}]}
    assert put(client, "canary", body).status_code == 200

    [event] = moves(registry_app, "canary")
    assert event["to"]["targets"] == body["targets"]


def test_a_refused_write_announces_nothing(client, seed, registry_app):
    seed.version("resnet_18")
    assert put(client, "prod", {"model": "resnet_18", "version": 1}).status_code == 200

    assert put(client, "prod", {"model": "resnet_18", "version": 1, "expected_revision": 7}).status_code == 409
    assert put(client, "prod", {"model": "resnet_18", "version": 9}).status_code == 404

    assert [e["revision"] for e in moves(registry_app, "prod")] == [1]


def test_concurrent_unconditional_writers_announce_every_revision_exactly_once(
        client, seed, serialized_dynamodb, registry_app):
    writers = 8
    for _ in range(writers):
        seed.version("resnet_18")

    def write(version: int):
        put(client, "prod", {"model": "resnet_18", "version": version})

    threads = [threading.Thread(target=write, args=(v,)) for v in range(1, writers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = moves(registry_app, "prod")
    assert [e["revision"] for e in found] == list(range(1, writers + 1))
    for newer, older in zip(found[1:], found):
        assert newer["from"] == older["to"]  # each event starts where the previous one ended


def test_retiring_a_version_announces_version_retired_once(registry_app, seed):
    seed.version("resnet_18"), seed.version("resnet_18")
    store, later = registry_app.get_store(), utcnow() + timedelta(days=30)

    assert store.retire_version("resnet_18", 1, later, later, actor="ops")
    assert not store.retire_version("resnet_18", 1, later, later, actor="ops")

    [event] = of_type(events(registry_app), "VersionRetired")
    assert (event["model"], event["version"], event["actor"]) == ("resnet_18", 1, "ops")


def test_a_failed_warm_up_announces_warmup_failed_and_no_alias_move(app_module):
    from aws_fakes import ScriptedRuntime, client_error
    from registry_in_process import ingest

    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(client_error("ModelError", "no GPU")),
           {"alias": "prod"})

    found = [e for e in events(app_module) if e.get("model") == "digits"]
    assert sorted(e["type"] for e in found) == ["ModelVersionRegistered", "WarmupFailed"]
    [failed] = of_type(found, "WarmupFailed")
    assert (failed["model"], failed["version"], failed["held_aliases"]) == ("digits", 1, ["prod"])
    assert "no GPU" in failed["error"] and failed["actor"] == "AWS:AIDAUPLOADER"


def test_a_rest_registration_announces_its_version_by_the_caller_once(client, registry_app):
    from local_stack.demo.sample_models import cached_tarball

    s3 = registry_app.get_session().client("s3")
    s3.put_object(Bucket=registry_app.settings.bucket, Key="team/digits.tar.gz",
                  Body=cached_tarball("digits").read_bytes())
    body = json.dumps({"source": f"s3://{registry_app.settings.bucket}/team/digits.tar.gz"})

    first = client.post("/models/digits/versions", body=body, headers={"Content-Type": "application/json"})
    again = client.post("/models/digits/versions", body=body, headers={"Content-Type": "application/json"})

    assert (first.status_code, again.status_code) == (201, 201)  # the same registration, answered again
    registered = [e for e in of_type(events(registry_app), "ModelVersionRegistered") if e["model"] == "digits"]
    assert [(e["version"], e["source_key"]) for e in registered] == [(1, "team/digits.tar.gz")]
