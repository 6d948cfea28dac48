"""Description, tags, model card and approval of a version: compare-and-set edits, history, events, limits."""
import json
import threading

import pytest

from change_events import check

pytestmark = pytest.mark.xdist_group("version_metadata")


def call(client, method: str, path: str, body=None):
    data = json.dumps(body) if body is not None else None
    response = client.request(method, path, body=data, headers={"Content-Type": "application/json"})
    return response.status_code, json.loads(response.body) if response.body else None


def outbox_events(app, kind: str) -> list[dict]:
    from chalicelib.outbox.items import Outbox

    events = [p.event for p in Outbox(app.get_session().client("dynamodb"), app.settings.table).pending(1000)]
    return [e for e in events if e["type"] == kind]


def test_a_version_reads_with_the_defaults_when_nothing_was_said_of_it(client, seed):
    seed.version("fraud")

    status, version = call(client, "GET", "/models/fraud/versions/1")

    assert status == 200
    assert (version["description"], version["tags"], version["metadata_revision"]) == ("", {}, 0)
    assert version["approval"] == {"status": "PendingManualApproval", "reason": None, "actor": None, "at": None}
    assert version["card"]["metrics"] == {} and version["card"]["links"] == []


def test_an_edit_sets_description_tags_and_card_and_keeps_who_when_what(client, seed, registry_app):
    seed.version("fraud")
    card = {"intended_use": "scoring card payments", "metrics": {"auc": 0.93}, "owner": "risk",
            "links": [{"title": "run", "url": "https://ci.example.com/runs/7"}]}

    status, version = call(client, "PATCH", "/models/fraud/versions/1", {
        "description": "gradient boosted", "tags": {"team": "fraud", "stage": "beta"}, "card": card,
        "expected_revision": 0})
    status2, version2 = call(client, "PATCH", "/models/fraud/versions/1", {
        "tags": {"stage": None}, "expected_revision": 1})

    assert (status, status2) == (200, 200)
    assert version["metadata_revision"] == 1 and version["card"]["metrics"] == {"auc": 0.93}
    assert (version2["tags"], version2["metadata_revision"], version2["description"]) == \
        ({"team": "fraud"}, 2, "gradient boosted")
    _, history = call(client, "GET", "/models/fraud/versions/1/history")
    assert [(e["revision"], e["kind"], e["actor"]) for e in history["entries"]] == \
        [(2, "metadata", "anonymous"), (1, "metadata", "anonymous")]
    assert history["entries"][0]["change"] == {"tags": {"set": {}, "removed": ["stage"]}}
    assert call(client, "GET", "/models/fraud/versions?tag=stage:beta")[1]["items"] == []  # the index followed
    assert [m["name"] for m in call(client, "GET", "/models?tag=team:fraud")[1]["items"]] == ["fraud"]
    events = outbox_events(registry_app, "VersionMetadataChanged")
    assert [(e["revision"], e["changed"]) for e in events] == [(1, ["card", "description", "tags"]), (2, ["tags"])]
    for event in events:
        check(event)


def test_two_racing_edits_from_the_same_revision_one_wins_one_is_409(client, seed, serialized_dynamodb):
    seed.version("fraud")
    answers = []

    def edit(text):
        answers.append(call(client, "PATCH", "/models/fraud/versions/1",
                            {"description": text, "expected_revision": 0}))

    threads = [threading.Thread(target=edit, args=(f"edit {i}",)) for i in range(2)]
    [t.start() for t in threads], [t.join() for t in threads]

    assert sorted(status for status, _ in answers) == [200, 409]
    [(_, refused)] = [a for a in answers if a[0] == 409]
    assert refused["error"]["code"] == "revision_conflict"
    _, history = call(client, "GET", "/models/fraud/versions/1/history")
    assert len(history["entries"]) == 1


def test_a_stale_expected_revision_is_409_revision_conflict_naming_the_current_one(client, seed):
    seed.version("fraud")
    call(client, "PATCH", "/models/fraud/versions/1", {"description": "a", "expected_revision": 0})

    status, error = call(client, "PATCH", "/models/fraud/versions/1", {"description": "b", "expected_revision": 0})

    assert status == 409
    assert error["error"]["code"] == "revision_conflict" and error["error"]["details"]["current_revision"] == 1


@pytest.mark.parametrize("body, rule", [
    ({"tags": {"k": "v" * 257}}, "tags.value"),
    ({"tags": {"k!": "v"}}, "tags.key"),
    ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags.count"),
    ({"description": "d" * 1025}, "description.length"),
    ({"card": {"limitations": "l" * 4097}}, "card.text"),
    ({"card": {"metrics": {f"m{i}": 1 for i in range(33)}}}, "card.metrics"),
    ({"card": {"metrics": {"loss": 1e-300}}}, "card.metrics"),  # DynamoDB cannot hold it
    ({"card": {"metrics": {"loss": 1e200}}}, "card.metrics"),
    ({"card": {"links": [{"title": "x", "url": "ftp://example.com/x"}]}}, "card.links"),
    ({"card": {"links": [{"url": f"https://e.com/{i}"} for i in range(17)]}}, "card.links"),
])
def test_an_edit_over_a_limit_is_422_naming_the_rule_and_changes_nothing(client, seed, body, rule):
    seed.version("fraud")

    status, error = call(client, "PATCH", "/models/fraud/versions/1", {**body, "expected_revision": 0})

    assert status == 422
    assert rule in error["error"]["message"] or error["error"]["details"].get("rule") == rule
    assert call(client, "GET", "/models/fraud/versions/1")[1]["metadata_revision"] == 0


def test_approval_records_the_verified_caller_and_emits_an_event(client, seed, registry_app):
    seed.version("fraud")

    status, version = call(client, "PUT", "/models/fraud/versions/1/approval",
                           {"status": "Approved", "reason": "passed the backtest"})

    assert status == 200
    approval = version["approval"]
    assert (approval["status"], approval["reason"], approval["actor"]) == ("Approved", "passed the backtest",
                                                                          "anonymous")
    assert approval["at"] is not None and version["metadata_revision"] == 1
    _, history = call(client, "GET", "/models/fraud/versions/1/history")
    assert history["entries"][0]["kind"] == "approval"
    [event] = outbox_events(registry_app, "VersionApprovalChanged")
    assert (event["status"], event["actor"]) == ("Approved", "anonymous")
    check(event)


def test_an_approval_body_naming_its_actor_is_refused(client, seed):
    seed.version("fraud")

    status, _ = call(client, "PUT", "/models/fraud/versions/1/approval", {"status": "Approved", "actor": "boss"})

    assert status == 422


def test_an_approval_reason_over_its_limit_is_422(client, seed):
    seed.version("fraud")

    status, error = call(client, "PUT", "/models/fraud/versions/1/approval", {"status": "Approved",
                                                                             "reason": "r" * 1025})

    assert status == 422 and error["error"]["details"]["rule"] == "reason.length"


def test_versions_are_found_by_approval_and_tag_and_a_malformed_tag_query_is_422(client, seed):
    for _ in range(3):
        seed.version("fraud")
    call(client, "PUT", "/models/fraud/versions/2/approval", {"status": "Approved"})
    call(client, "PATCH", "/models/fraud/versions/3", {"tags": {"team": "fraud"}, "expected_revision": 0})

    approved = call(client, "GET", "/models/fraud/versions?approval=Approved")[1]["items"]
    tagged = call(client, "GET", "/models/fraud/versions?tag=team:fraud&tag=team:fraud")[1]["items"]
    status, error = call(client, "GET", "/models?tag=team")

    assert [v["version"] for v in approved] == [2]
    assert [v["version"] for v in tagged] == [3]
    assert status == 422 and "rule search.tag" in error["error"]["message"]


def test_an_edit_rewriting_more_tag_index_entries_than_one_transaction_holds_is_422(client, seed):
    seed.version("fraud")
    call(client, "PATCH", "/models/fraud/versions/1", {"tags": {f"a{n}": "v" for n in range(50)},
                                                      "expected_revision": 0})

    patch = {**{f"a{n}": None for n in range(50)}, **{f"b{n}": "v" for n in range(50)}}
    status, error = call(client, "PATCH", "/models/fraud/versions/1", {"tags": patch, "expected_revision": 1})

    assert (status, error["error"]["details"]["rule"]) == (422, "tags.edit_size")
