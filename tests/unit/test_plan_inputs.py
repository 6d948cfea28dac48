"""The planner's inputs: the Zipf stream, trace files, catalog files, load-time fits, quantities, the table."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from client.plan.catalog import Catalog, Entry, fit_load_time, read_catalog
from client.plan.errors import PlanInputError
from client.plan.instances import load_table
from client.plan.memory import GIB
from client.plan.traffic import parse_rate, read_trace, zipf_trace
from client.plan.units import parse_bytes, parse_counts, parse_seconds


def test_the_same_seed_gives_the_same_stream_and_another_seed_another():
    first, again, other = (zipf_trace(100, 50.0, 1.1, 2000, seed) for seed in (7, 7, 8))

    assert (first.times, first.models) == (again.times, again.models)
    assert first.models != other.models


def test_a_zipf_stream_is_skewed_and_arrives_at_its_rate():
    trace = zipf_trace(1000, 100.0, 1.2, 20_000, seed=1)

    counts = Counter(trace.models).most_common()
    assert counts[0][1] > 10 * counts[100][1]  # the hottest model far above the hundredth
    assert trace.duration == pytest.approx(200.0, rel=0.05)  # 20,000 requests at 100/s


def test_an_alias_rate_adds_its_own_stream_on_top():
    trace = zipf_trace(100, 10.0, 1.0, 10_000, seed=1, extra_rates={42: 90.0})

    assert Counter(trace.models)[42] / len(trace.models) > 0.85


@pytest.mark.parametrize("content,rule", [
    ("when,target_model\n0,a.tar.gz\n", "trace.header"),
    ("time,target_model\nsoon,a.tar.gz\n", "trace.time"),
    ("time,target_model\nnan,a.tar.gz\n", "trace.time"),
    ("time,target_model\n2,a.tar.gz\n1,a.tar.gz\n", "trace.order"),
    ("time,target_model\n0,nope.tar.gz\n", "trace.unknown"),
    ("time,alias\n0,a.tar.gz\n", "trace.unknown"),
    ("time,target_model\n0\n", "trace.columns"),
    ("time,target_model\n", "trace.empty"),
])
def test_a_bad_trace_is_refused_by_the_rule_it_breaks_with_its_line(tmp_path, content, rule):
    path = tmp_path / "trace.csv"
    path.write_text(content)

    with pytest.raises(PlanInputError) as refused:
        read_trace(path, {"a.tar.gz": 0}, {"classifier": "a.tar.gz"})

    assert refused.value.rule == rule and str(path) in refused.value.message


def test_a_trace_names_models_by_alias_or_target_and_starts_at_zero(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("time,alias\n2026-12-06T10:00:00+00:00,classifier\n2026-12-06T10:00:01.5+00:00,fraud\n")

    trace = read_trace(path, {"a.tar.gz": 0, "b.tar.gz": 1}, {"classifier": "a.tar.gz", "fraud": "b.tar.gz"})

    assert (trace.times, trace.models) == ([0.0, 1.5], [0, 1])


def test_load_time_is_fitted_by_least_squares_on_size():
    line = fit_load_time([(100, 1.2), (200, 2.2), (300, 3.2)])

    assert (line.intercept, line.per_byte, line.measured) == (pytest.approx(0.2), pytest.approx(0.01), 3)


def test_without_two_sizes_the_default_load_line_is_used_and_a_falling_fit_is_flat():
    assert fit_load_time([(100, 9.0), (100, 7.0)]).measured == 0
    flat = fit_load_time([(100, 3.0), (200, 1.0)])
    assert flat.per_byte == 0 and flat.seconds(10**9) == pytest.approx(2.0)


def test_a_catalog_saved_reads_back_the_same(tmp_path):
    catalog = Catalog([Entry("a_v1.tar.gz", 10, 12, 1.5), Entry("b_v2.tar.gz", 20)], {"prod": "a_v1.tar.gz"})

    catalog.save(tmp_path / "catalog.json")

    assert read_catalog(tmp_path / "catalog.json") == catalog


def test_a_plan_is_for_one_framework_since_one_endpoint_serves_one():
    catalog = Catalog([Entry("a_v1.tar.gz", 10, framework="mxnet"), Entry("t_v1.tar.gz", 10, framework="tensorflow")],
                      {"prod": "a_v1.tar.gz", "tf": "t_v1.tar.gz"})

    with pytest.raises(PlanInputError, match="plan.framework"):
        catalog.for_framework(None)
    assert catalog.for_framework("tensorflow") == Catalog([catalog.entries[1]], {"tf": "t_v1.tar.gz"})


@pytest.mark.parametrize("document,rule", [
    ("not json", "catalog.json"),
    (json.dumps({"models": []}), "catalog.models"),
    (json.dumps({"models": [{"target_model": "a", "size": 1}]}), "catalog.model"),
    (json.dumps({"models": [{"target_model": "a", "compressed_bytes": -1}]}), "catalog.model"),
    (json.dumps({"models": [{"target_model": "a", "compressed_bytes": 1}], "aliases": {"x": "b"}}), "catalog.aliases"),
])
def test_a_bad_catalog_is_refused_by_the_rule_it_breaks(tmp_path, document, rule):
    (tmp_path / "catalog.json").write_text(document)

    with pytest.raises(PlanInputError) as refused:
        read_catalog(tmp_path / "catalog.json")

    assert refused.value.rule == rule


def test_quantities_read_as_people_type_them():
    assert parse_seconds("300ms") == pytest.approx(0.3) and parse_seconds("10m") == 600
    assert parse_bytes("50MB") == 50 * 10**6 and parse_bytes("1.5GiB") == int(1.5 * GIB)
    assert parse_bytes("100MB/s") == 10**8
    assert parse_counts("1-3,8") == [1, 2, 3, 8]
    assert parse_rate("12000/min") == 200 and parse_rate("5") == 5
    for bad, call in (("fast", parse_rate), ("3 parsecs", parse_seconds), ("8-1", parse_counts),
                      ("1 XB", parse_bytes)):
        with pytest.raises(PlanInputError):
            call(bad)


def test_the_instance_table_is_dated_sourced_and_prices_us_east_1():
    table = load_table()

    assert table.date and "pricing" in table.sources["price_per_hour"]
    assert len(table.rows) >= 12 and all("us-east-1" in row["price_per_hour"] for row in table.rows.values())
    m5 = table.spec("ml.m5.xlarge")
    assert m5.model_memory == 16 * GIB - table.reserved_bytes and m5.vcpu == 4
    with pytest.raises(PlanInputError, match="plan.instance_type"):
        table.spec("ml.nope.large")
