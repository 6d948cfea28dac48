"""Canary rollouts on the emulator (moto server): the routes through Chalice's test client, the advancer judging
each step on metrics put with real PutMetricData and read back with GetMetricData.

The advancer under test is the app's own Rollouts with a clock the test moves, so a bake of minutes passes at once.
"""
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from chalice.test import Client

from change_events import check
from chalicelib.metrics import names
from chalicelib.metrics.reader import MetricsReader
from chalicelib.rollouts.rollouts import Rollouts
from chalicelib.rollouts.state import RolloutStore
from local_stack.aws.cloudwatch_gaps import cloudwatch_gaps
from test_version_metadata import call, outbox_events

pytestmark = pytest.mark.xdist_group("rollouts")
START = {"model": "fraud", "version": 2, "steps": [10, 50, 100], "bake_seconds": 60, "max_error_rate": 0.01,
         "max_p99_ratio": 1.5, "min_requests": 100}


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def after(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def start(client, clock: Clock, body: dict = START) -> tuple[int, dict]:
    """Starts a rollout through the API, whose clock is the real one, and sets the test's clock to the moment the
    rollout's first step started: the calls a test puts then fall in that step's window, however long the set-up
    took (a step's window starts at its own minute)."""
    status, rollout = call(client, "POST", "/aliases/fraud-prod/rollouts", body)
    if status == 201:
        clock.now = max(clock.now, datetime.fromisoformat(rollout["step_started_at"]))
    return status, rollout


@pytest.fixture
def registry(emulated_app, monkeypatch):
    for owner, name, replacement in cloudwatch_gaps():
        monkeypatch.setattr(owner, name, replacement)
    return emulated_app


@pytest.fixture
def client(registry):
    with Client(registry.app, stage_name="local", project_dir=str(Path(registry.__file__).parent)) as test_client:
        yield test_client.http


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def advancer(registry, clock):
    session = registry.get_session()
    store = RolloutStore(session.client("dynamodb"), registry.settings.table)
    return Rollouts(store, registry.get_aliases(), MetricsReader(session.client("cloudwatch")), clock)


@pytest.fixture
def fraud(registry, client, make_seeder):
    """fraud v1 (the incumbent, alias fraud-prod at revision 1) and v2 (the candidate)."""
    seed = make_seeder(registry)
    seed.version("fraud"), seed.version("fraud")
    assert call(client, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})[0] == 200
    return registry


def traffic(registry, version: int, at: datetime, requests: int, failures: int = 0, latency_ms: float = 20.0):
    """What AliasClient records for `requests` calls of fraud v`version` through fraud-prod, put as it puts them."""
    dimensions = [{"Name": names.ALIAS, "Value": "fraud-prod"}, {"Name": names.MODEL, "Value": "fraud"},
                  {"Name": names.VERSION, "Value": str(version)}]
    data = [{"MetricName": names.REQUESTS, "Value": requests, "Unit": "Count"},
            {"MetricName": names.ERRORS_5XX, "Value": failures, "Unit": "Count"},
            {"MetricName": names.LATENCY, "Values": [latency_ms], "Counts": [requests], "Unit": "Milliseconds"}]
    registry.get_session().client("cloudwatch").put_metric_data(
        Namespace=names.NAMESPACE, MetricData=[{**d, "Dimensions": dimensions, "Timestamp": at} for d in data])


def alias(client) -> dict:
    return call(client, "GET", "/aliases/fraud-prod")[1]


def weights(client) -> dict[int, int]:
    return {t["version"]: t["weight"] for t in alias(client)["targets"]}


def test_a_healthy_candidate_moves_step_by_step_and_is_promoted(fraud, client, advancer, clock):
    # GIVEN a rollout of fraud-prod to v2 in steps of 10, 50 and 100 %
    status, started = start(client, clock)
    assert (status, started["status"], started["percent"]) == (201, "running", 10)
    assert weights(client) == {1: 90, 2: 10}
    # WHEN each bake passes with healthy calls on both versions
    traffic(fraud, 2, clock.after(5), 150, failures=1, latency_ms=22.0)
    traffic(fraud, 1, clock(), 1350, latency_ms=20.0)
    clock.after(60)
    assert advancer.advance_all() == {"fraud-prod": "running"}
    assert weights(client) == {1: 50, 2: 50}
    traffic(fraud, 2, clock.after(5), 500, latency_ms=21.0)
    traffic(fraud, 1, clock(), 500, latency_ms=20.0)
    clock.after(60)
    assert advancer.advance_all() == {"fraud-prod": "promoted"}
    # THEN the alias points at v2 alone; each move is in the alias history as the rollout's, by its starter
    assert weights(client) == {2: 100}
    history = call(client, "GET", "/aliases/fraud-prod/history")[1]["items"]
    rollout_moves = [(c["action"], c["by"], c["reason"]) for c in history[:3]]
    assert rollout_moves == [("rollout", "anonymous", "rollout 1 promoted fraud v2"),
                             ("rollout", "anonymous", "rollout 1: 50 % to fraud v2"),
                             ("rollout", "anonymous", "rollout 1: 10 % to fraud v2")]
    listing = call(client, "GET", "/aliases/fraud-prod/rollouts")[1]
    assert listing["current"] is None
    [done] = listing["items"]
    assert (done["status"], done["percent"]) == ("promoted", 100)
    assert [(d["verdict"], d["percent"]) for d in done["decisions"]] == [("started", 10), ("pass", 10), ("pass", 50)]
    assert done["decisions"][1]["candidate"] == {"requests": 150, "failures": 1, "failure_rate": 1 / 150,
                                                 "p50_ms": 22.0, "p99_ms": 22.0}
    events = outbox_events(fraud, "RolloutChanged")
    assert [e["action"] for e in events] == ["started", "step", "promoted"]
    for event in events + outbox_events(fraud, "AliasMoved"):
        check(event)


def test_a_failing_candidate_is_rolled_back_within_one_bake(fraud, client, advancer, clock):
    start(client, clock)
    # GIVEN 3 % of the candidate's calls failing during the first step
    traffic(fraud, 2, clock.after(5), 200, failures=6)
    traffic(fraud, 1, clock(), 1800)
    # WHEN the bake is over
    clock.after(60)
    assert advancer.advance_all() == {"fraud-prod": "rolled_back"}
    # THEN the incumbent is back alone, and the history and the rollout say why
    assert weights(client) == {1: 100}
    last = call(client, "GET", "/aliases/fraud-prod/history")[1]["items"][0]
    assert last["action"] == "rollout" and "rolled back: failure rate 0.0300 (6 of 200 calls) > max 0.01" in \
        last["reason"]
    [rolled] = call(client, "GET", "/aliases/fraud-prod/rollouts")[1]["items"]
    assert (rolled["status"], rolled["percent"], rolled["decisions"][-1]["verdict"]) == ("rolled_back", 0, "breach")
    assert [e["action"] for e in outbox_events(fraud, "RolloutChanged")] == ["started", "rolled_back"]


def test_a_breach_rolls_back_even_after_the_policy_stopped_naming_the_starter(fraud, client, advancer, clock):
    # GIVEN a running rollout, then a policy that names other movers and requires approval the incumbent lacks
    start(client, clock)
    assert call(client, "PUT", "/aliases/fraud-prod/policy", {"movers": ["arn:aws:iam::1:role/someone-else"],
                                                              "require": ["approved"], "expected_revision": 0})[0] == 200
    # WHEN the candidate fails during its first step and the bake is over
    traffic(fraud, 2, clock.after(5), 200, failures=6)
    traffic(fraud, 1, clock(), 1800)
    clock.after(60)
    # THEN it is rolled back all the same: nothing keeps a failing candidate in the traffic
    assert advancer.advance_all() == {"fraud-prod": "rolled_back"}
    assert weights(client) == {1: 100}
    # while a step forward is still the policy's to allow
    assert call(client, "POST", "/aliases/fraud-prod/rollouts", START)[0] == 403


def test_a_candidate_slower_than_the_ratio_allows_is_rolled_back(fraud, client, advancer, clock):
    start(client, clock)
    traffic(fraud, 2, clock.after(5), 200, latency_ms=80.0)
    traffic(fraud, 1, clock(), 1800, latency_ms=20.0)
    clock.after(60)

    assert advancer.advance_all() == {"fraud-prod": "rolled_back"}

    assert weights(client) == {1: 100}
    assert "p99 80.0 ms > 1.5 x the incumbent's 20.0 ms" in alias_reason(client)


def alias_reason(client) -> str:
    return call(client, "GET", "/aliases/fraud-prod/history")[1]["items"][0]["reason"]


def test_a_step_with_too_few_candidate_calls_keeps_baking_and_moves_nothing(fraud, client, advancer, clock):
    start(client, clock)
    revision = alias(client)["revision"]
    traffic(fraud, 2, clock.after(5), 40)
    clock.after(60)

    assert advancer.advance_all()["fraud-prod"].startswith("waiting: 40 candidate calls of the 100 needed")

    assert alias(client)["revision"] == revision and weights(client) == {1: 90, 2: 10}
    current = call(client, "GET", "/aliases/fraud-prod/rollouts")[1]["current"]
    assert current["status"] == "running" and current["waiting"]["candidate"]["requests"] == 40


def test_a_rollout_stops_as_superseded_when_an_operator_moves_the_alias(fraud, client, advancer, clock):
    start(client, clock)
    # GIVEN an operator rolls the alias back by hand during the first step
    assert call(client, "POST", "/aliases/fraud-prod/rollback")[0] == 200
    revision = alias(client)["revision"]
    traffic(fraud, 2, clock.after(5), 200)
    clock.after(60)
    # WHEN the advancer runs
    assert advancer.advance_all() == {"fraud-prod": "superseded"}
    # THEN the operator's move stands: the rollout wrote nothing to the alias
    assert alias(client)["revision"] == revision and weights(client) == {1: 100}
    [stopped] = call(client, "GET", "/aliases/fraud-prod/rollouts")[1]["items"]
    assert stopped["status"] == "superseded" and "moved by someone else" in stopped["decisions"][-1]["reason"]
    assert advancer.advance_all() == {}


def test_two_advancers_at_once_move_the_alias_once(fraud, client, advancer, clock, serialized_dynamodb):
    start(client, clock)
    revision = alias(client)["revision"]
    traffic(fraud, 2, clock.after(5), 200)
    traffic(fraud, 1, clock(), 1800)
    clock.after(60)
    # WHEN two runs of the advancer judge the same step at the same moment
    barrier, outcomes = threading.Barrier(2), []

    def run():
        barrier.wait()
        outcomes.append(advancer.advance_all()["fraud-prod"])

    threads = [threading.Thread(target=run) for _ in range(2)]
    [t.start() for t in threads], [t.join() for t in threads]
    # THEN exactly one moved the alias to the next step; the other found it changed and wrote nothing
    assert "running" in outcomes and alias(client)["revision"] == revision + 1
    assert weights(client) == {1: 50, 2: 50}
    assert [e["action"] for e in outbox_events(fraud, "RolloutChanged")] == ["started", "step"]


def test_cancel_puts_the_incumbent_back_and_records_who_cancelled(fraud, client):
    call(client, "POST", "/aliases/fraud-prod/rollouts", START)

    status, cancelled = call(client, "DELETE", "/aliases/fraud-prod/rollouts/current")

    assert (status, cancelled["status"]) == (200, "cancelled")
    assert weights(client) == {1: 100}
    assert "cancelled by anonymous" in alias_reason(client)
    assert call(client, "DELETE", "/aliases/fraud-prod/rollouts/current")[0] == 404


BAD = [({"steps": [50, 25, 100]}, 422, "rollout.steps"), ({"steps": [0, 50, 100]}, 422, "rollout.steps"),
       ({"steps": [10, 50]}, 422, "rollout.steps"), ({"bake_seconds": 2}, 422, "rollout.bake"),
       ({"max_error_rate": 1.5}, 422, "rollout.max_error_rate"),
       ({"max_p99_ratio": 0.5}, 422, "rollout.max_p99_ratio"),
       ({"version": 7}, 404, "fraud v7 does not exist"), ({"version": 1}, 422, "rollout.candidate")]


def test_each_bad_rollout_request_is_refused_naming_its_rule_and_moves_nothing(fraud, client):
    before = alias(client)
    for change, status, rule in BAD:
        answer = call(client, "POST", "/aliases/fraud-prod/rollouts", {**START, **change})

        assert (answer[0], change) == (status, change) and rule in answer[1]["error"]["message"]
    assert alias(client) == before
    assert call(client, "GET", "/aliases/fraud-prod/rollouts")[1]["items"] == []


def test_a_second_rollout_an_unknown_alias_and_a_split_alias_are_refused(fraud, client):
    assert call(client, "POST", "/aliases/fraud-prod/rollouts", START)[0] == 201
    before = alias(client)

    second = call(client, "POST", "/aliases/fraud-prod/rollouts", START)
    unknown = call(client, "POST", "/aliases/nobody/rollouts", START)
    call(client, "PUT", "/aliases/split", {"targets": [{"model": "fraud", "version": 1, "weight": 1},
                                                       {"model": "fraud", "version": 2, "weight": 1}]})
    split = call(client, "POST", "/aliases/split/rollouts", START)

    assert (second[0], unknown[0], split[0]) == (409, 404, 409)
    assert "rollout.one_at_a_time" in second[1]["error"]["message"]
    assert "rollout.single_target" in split[1]["error"]["message"]
    assert alias(client) == before


def test_a_candidate_whose_framework_has_no_endpoint_is_refused(registry, reconfigure, make_seeder):
    app = reconfigure(REGISTRY_TENSORFLOW_ENDPOINT="")
    seed = make_seeder(app)
    seed.version("fraud"), seed.version("fraud", framework="tensorflow")
    with Client(app.app, stage_name="local", project_dir=str(Path(app.__file__).parent)) as test_client:
        http = test_client.http
        call(http, "PUT", "/aliases/fraud-prod", {"model": "fraud", "version": 1})
        status, error = call(http, "POST", "/aliases/fraud-prod/rollouts", START)
        assert (status, error["error"]["code"]) == (409, "no_endpoint")
        assert weights(http) == {1: 100}


def test_the_largest_rollout_stays_within_its_record_budget(registry, advancer, clock, make_seeder):
    # GIVEN the longest model and alias names, ten steps, and a starter with IAM's longest ARN
    from chalicelib.aliases.alias_store import AliasTarget, history_pk
    from chalicelib.dynamo import item_size, to_item
    from chalicelib.records import BUDGETS
    from chalicelib.rollouts.rules import Plan
    from chalicelib.rollouts.state import rollout_sk

    model, name = "/".join(["m" * 64, "n" * 64, "o" * 64, "p" * 5]), "a" * 128
    arn = "arn:aws:sts::123456789012:assumed-role/" + "r" * 1990 + "/s"
    seed = make_seeder(registry)
    seed.version(model), seed.version(model)
    registry.get_aliases().point(name, [AliasTarget(model=model, version=1)], False, None, arn)
    steps = (1, 2, 3, 5, 8, 13, 21, 34, 55, 100)
    advancer.start(name, AliasTarget(model=model, version=2), Plan(steps, 60, 0.01, 1.5, 1), arn)
    # WHEN every step passes, to the promotion
    put = registry.get_session().client("cloudwatch").put_metric_data
    for _ in steps[:-1]:
        clock.after(61)
        put(Namespace=names.NAMESPACE, MetricData=[{"MetricName": names.REQUESTS, "Value": 5, "Timestamp": clock(),
            "Dimensions": [{"Name": names.ALIAS, "Value": name}, {"Name": names.MODEL, "Value": model},
                           {"Name": names.VERSION, "Value": "2"}]}])
        advancer.advance_all()
    # THEN the record, read back as DynamoDB counts it, is within its budget
    dynamodb = registry.get_session().client("dynamodb")
    item = dynamodb.get_item(TableName=registry.settings.table, ConsistentRead=True,
                             Key=to_item({"pk": history_pk(name), "sk": rollout_sk(1)}))["Item"]
    assert item["status"]["S"] == "promoted" and len(item["decisions"]["L"]) == 10
    assert item_size(item) <= BUDGETS["rollout"]
