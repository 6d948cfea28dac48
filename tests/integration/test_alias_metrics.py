"""Per-model metrics put into the emulator's CloudWatch with PutMetricData are read back by the reader
(window totals, series) and by GET /aliases/{alias}/metrics, per version of the alias."""
import json
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from chalicelib.metrics import names
from chalicelib.metrics.reader import MetricsReader, choose_period, window_bounds
from chalicelib.records import utcnow

pytestmark = pytest.mark.xdist_group("moto-server")


@pytest.fixture
def cloudwatch(emulator, cloudwatch_answers):
    return emulator.session.client("cloudwatch")


@pytest.fixture
def emulated_api(emulated_app):
    from chalice.test import Client

    with Client(emulated_app.app, stage_name="local", project_dir=str(Path(emulated_app.__file__).parent)) as client:
        yield client.http


def record(cloudwatch, alias, model, version, at, counts, latencies=()):
    """One minute's aggregate of one version, as the client's recorder writes it (names.py)."""
    dimensions = [{"Name": names.ALIAS, "Value": alias}, {"Name": names.MODEL, "Value": model},
                  {"Name": names.VERSION, "Value": str(version)}]
    data = [{"MetricName": metric, "Dimensions": dimensions, "Timestamp": at, "Value": value, "Unit": "Count"}
            for metric, value in counts.items()]
    if latencies:
        values = sorted(set(latencies))
        data.append({"MetricName": names.LATENCY, "Dimensions": dimensions, "Timestamp": at, "Unit": "Milliseconds",
                     "Values": values, "Counts": [latencies.count(v) for v in values]})
    cloudwatch.put_metric_data(Namespace=names.NAMESPACE, MetricData=data)


def point(api, alias, targets):
    body = json.dumps({"targets": [{"model": m, "version": v, "weight": w} for m, v, w in targets]}).encode()
    answer = api.put(f"/aliases/{alias}", body=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.body


def get(api, path):
    answer = api.get(path)
    return answer.status_code, json.loads(answer.body)


def test_the_window_totals_count_every_kind_of_error_and_only_that_version(cloudwatch):
    # GIVEN two minutes of calls to resnet v2 under "classifier", and calls to v1 and to another alias
    now = utcnow()
    start, end = window_bounds(now, 60, 60)
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=3),
           {names.REQUESTS: 40, names.ERRORS_4XX: 3, names.ERRORS_5XX: 2, names.THROTTLES: 1, names.NOT_READY: 1,
            names.COLD_LOADS: 1})
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=1), {names.REQUESTS: 10})
    record(cloudwatch, "classifier", "resnet", 1, now - timedelta(minutes=1), {names.REQUESTS: 7, names.ERRORS_5XX: 7})
    record(cloudwatch, "other", "resnet", 2, now - timedelta(minutes=1), {names.REQUESTS: 99})

    # WHEN the reader reads v2's window
    stats = MetricsReader(cloudwatch).window("classifier", "resnet", 2, start, end)

    # THEN the counts are v2's under "classifier" only; failures are 5xx and not ready, not the caller's 4xx
    assert (stats.requests, stats.errors_4xx, stats.errors_5xx, stats.throttles, stats.not_ready) == (50, 3, 2, 1, 1)
    assert (stats.failures, stats.cold_loads, stats.failure_rate) == (3, 1, 3 / 50)


def test_the_window_p99_is_cloudwatch_p99_over_the_window_not_an_average_of_minutes(cloudwatch):
    # GIVEN a quick minute (100 calls of 10 ms) and a slow one (40 of 10 ms, 60 of 1000 ms)
    now = utcnow()
    start, end = window_bounds(now, 60, 60)
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=3), {}, [10.0] * 100)
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=1), {}, [10.0] * 40 + [1000.0] * 60)

    # WHEN the window is read
    stats = MetricsReader(cloudwatch).window("classifier", "resnet", 2, start, end)

    # THEN p50 and p99 are those of the 200 calls (the averages of the minutes' would be 505 ms for both)
    assert (stats.p50_ms, stats.p99_ms) == (10.0, 1000.0)


def test_a_window_outside_the_data_reads_zero_and_no_rate(cloudwatch):
    now = utcnow()
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=1), {names.REQUESTS: 10})
    start, end = window_bounds(now - timedelta(hours=3), 60, 60)

    stats = MetricsReader(cloudwatch).window("classifier", "resnet", 2, start, end)

    assert (stats.requests, stats.failures, stats.failure_rate, stats.p50_ms, stats.p99_ms) == (0, 0, None, None, None)


def test_the_series_puts_each_minute_on_its_point_for_each_target(cloudwatch):
    # GIVEN calls to v1 three minutes ago and to v2 one minute ago
    now = utcnow()
    period = choose_period(30)
    start, end = window_bounds(now, 30, period)
    three_ago, one_ago = now - timedelta(minutes=3), now - timedelta(minutes=1)
    record(cloudwatch, "classifier", "resnet", 1, three_ago, {names.REQUESTS: 8, names.THROTTLES: 2})
    record(cloudwatch, "classifier", "resnet", 2, one_ago, {names.REQUESTS: 5, names.ERRORS_4XX: 1})

    # WHEN both are read as series
    v1, v2 = MetricsReader(cloudwatch).series("classifier", [("resnet", 1), ("resnet", 2)], start, end, period)

    # THEN each has 30 points, each count on its own minute, zeros elsewhere
    assert len(v1.timestamps) == 30 and v1.timestamps == v2.timestamps
    minute = [t.replace(second=0, microsecond=0) for t in (three_ago, one_ago)]
    assert [(t, r) for t, r in zip(v1.timestamps, v1.requests) if r] == [(minute[0], 8)]
    assert [(t, e) for t, e in zip(v1.timestamps, v1.errors["throttled"]) if e] == [(minute[0], 2)]
    assert [(t, r) for t, r in zip(v2.timestamps, v2.requests) if r] == [(minute[1], 5)]
    assert sum(v2.errors["4xx"]) == 1 and sum(v2.errors["5xx"]) == 0
    assert (v1.totals.requests, v1.totals.throttles, v2.totals.requests, v2.totals.errors_4xx) == (8, 2, 5, 1)


def test_the_route_reads_each_weighted_target_and_the_version_the_alias_left(emulated_api, emulated_app, cloudwatch,
                                                                             make_seeder):
    # GIVEN classifier on v1, then split 90/10 between v2 and v3, with calls recorded for each
    seed = make_seeder(emulated_app)
    for _ in range(3):
        seed.version("resnet")
    point(emulated_api, "classifier", [("resnet", 1, 100)])
    point(emulated_api, "classifier", [("resnet", 2, 90), ("resnet", 3, 10)])
    now = utcnow()
    record(cloudwatch, "classifier", "resnet", 1, now - timedelta(minutes=4), {names.REQUESTS: 6, names.ERRORS_5XX: 6})
    record(cloudwatch, "classifier", "resnet", 2, now - timedelta(minutes=1),
           {names.REQUESTS: 90, names.ERRORS_4XX: 2, names.COLD_LOADS: 1})
    record(cloudwatch, "classifier", "resnet", 3, now - timedelta(minutes=1), {names.REQUESTS: 10, names.NOT_READY: 1})

    # WHEN the console asks for the last hour
    status, body = get(emulated_api, "/aliases/classifier/metrics?minutes=60")

    # THEN the current targets come first, then v1 that the alias pointed at earlier in the hour
    assert status == 200, body
    assert (body["minutes"], body["period_seconds"], len(body["timestamps"])) == (60, 60, 60)
    found = {v["version"]: v for v in body["versions"]}
    assert [(v["version"], v["current"]) for v in body["versions"]] == [(2, True), (3, True), (1, False)]
    assert (found[1]["totals"]["requests"], found[1]["totals"]["errors_5xx"], found[1]["totals"]["failure_rate"]) \
        == (6, 6, 1.0)
    assert (found[2]["totals"]["requests"], found[2]["totals"]["errors_4xx"], found[2]["totals"]["failures"],
            found[2]["totals"]["cold_loads"]) == (90, 2, 0, 1)
    assert (found[3]["totals"]["requests"], found[3]["totals"]["not_ready"], found[3]["totals"]["failures"]) \
        == (10, 1, 1)
    assert sum(found[2]["requests"]) == 90 and len(found[3]["not_ready"]) == 60


def test_a_version_left_before_the_window_is_not_read_but_the_one_it_began_on_is(emulated_app, make_seeder):
    # GIVEN classifier on v1 three hours ago, on v2 two hours ago, and on v3 now
    from chalicelib.aliases.alias_metrics import AliasMetricsReport
    from chalicelib.aliases.alias_store import AliasTarget
    from chalicelib.aliases.aliases import Aliases

    seed = make_seeder(emulated_app)
    for _ in range(3):
        seed.version("resnet")
    now = utcnow()
    for hours_ago, version in ((3, 1), (2, 2), (0, 3)):
        aliases = Aliases(emulated_app.get_store(), emulated_app.get_alias_store(),
                          clock=lambda: now - timedelta(hours=hours_ago), endpoints=emulated_app.get_endpoints())
        aliases.point("classifier", [AliasTarget(model="resnet", version=version)], False, None, "ada")
    reader = MetricsReader(emulated_app.get_session().client("cloudwatch"))

    # WHEN the last hour is read
    found = AliasMetricsReport(emulated_app.get_aliases(), reader, clock=lambda: now).report("classifier", 60)

    # THEN v3 (now) and v2 (where the hour began) are read, v1 (left before it) is not
    assert [(line.version, (line.model, line.version) in found.current) for line in found.series] \
        == [(3, True), (2, False)]


def test_a_day_is_read_in_at_most_120_points(emulated_api, emulated_app, make_seeder):
    make_seeder(emulated_app).version("resnet")
    point(emulated_api, "classifier", [("resnet", 1, 100)])

    status, body = get(emulated_api, "/aliases/classifier/metrics?minutes=1440")

    assert status == 200, body
    assert body["period_seconds"] == 900 and len(body["timestamps"]) == 96
    assert body["versions"][0]["totals"]["requests"] == 0


def test_a_window_outside_5_to_1440_minutes_is_refused_naming_the_rule(emulated_api):
    for minutes in ("4", "1441", "an-hour", "-60"):
        status, body = get(emulated_api, f"/aliases/classifier/metrics?minutes={minutes}")

        assert status == 422, minutes
        assert body["error"]["code"] == "invalid_input" and "minutes" in body["error"]["message"]


def test_the_metrics_of_an_alias_that_does_not_exist_are_not_found(emulated_api):
    status, body = get(emulated_api, "/aliases/nowhere/metrics")

    assert status == 404
    assert body["error"]["code"] == "not_found" and "nowhere" in body["error"]["message"]
