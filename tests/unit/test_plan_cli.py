"""`mme-registry plan` offline: a catalog file and a trace or a Zipf stream in, a table, JSON and a plot out."""
from __future__ import annotations

import json

import pytest

from client.cli import main
from client.plan.catalog import Catalog, Entry

MB = 10**6


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "catalog.json"
    entries = [Entry(f"m{i}_v1.tar.gz", 20 * MB, 25 * MB, invoke_seconds=0.02) for i in range(60)]
    Catalog(entries, {"classifier": "m0_v1.tar.gz"}).save(path)
    return path


def test_plan_recommends_the_cheapest_type_and_count_meeting_the_target(catalog, tmp_path, capsys):
    status = main(["plan", "--catalog", str(catalog), "--rate", "20/s", "--duration", "30m", "--p99-target", "300ms",
                   "--instance-types", "ml.c5.large,ml.m5.large,ml.m5.xlarge", "--counts", "1-4", "--json",
                   "--plot", str(tmp_path / "plan.html")])

    answer = json.loads(capsys.readouterr().out)
    meeting = [row for row in answer["results"] if row["meets_target"]]
    assert status == 0 and meeting
    cheapest = min(meeting, key=lambda row: (row["price_per_hour"], row["count"]))
    assert answer["recommended"] == {"instance_type": cheapest["instance_type"], "count": cheapest["count"]}
    assert all(row["p99_ms"] <= 300 for row in meeting)
    page = (tmp_path / "plan.html").read_text()
    assert page.count("<svg") == 2 and "ml.m5.xlarge" in page


def test_plan_reads_a_trace_by_alias_and_prints_a_table_with_the_tables_date(catalog, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    trace = tmp_path / "trace.csv"
    trace.write_text("time,alias\n" + "".join(f"{i},classifier\n" for i in range(100)))

    status = main(["plan", "--catalog", str(catalog), "--trace", str(trace), "--instance-types", "ml.m5.large",
                   "--counts", "1", "--warm-up", "0"])

    printed = capsys.readouterr().out
    assert status == 0 and "recommended: 1 × ml.m5.large" in printed and "99.0%" in printed  # one cold load
    assert "as of 2026-12-06" in printed


def test_plan_names_the_rule_a_bad_input_breaks_and_exits_1(catalog, tmp_path, capsys):
    trace = tmp_path / "trace.csv"
    trace.write_text("time,alias\n0,nobody\n")

    status = main(["plan", "--catalog", str(catalog), "--trace", str(trace)])

    assert status == 1 and "trace.unknown" in capsys.readouterr().err


def test_plan_exits_2_when_nothing_tried_meets_the_target(catalog, capsys):
    status = main(["plan", "--catalog", str(catalog), "--rate", "5/s", "--duration", "1m", "--p99-target", "1ms",
                   "--instance-types", "ml.c5.large", "--counts", "1", "--json"])

    assert status == 2 and json.loads(capsys.readouterr().out)["recommended"] is None


def test_a_png_plot_without_matplotlib_names_its_rule_and_what_to_do(catalog, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as where it is not installed

    status = main(["plan", "--catalog", str(catalog), "--rate", "5/s", "--duration", "1m", "--instance-types",
                   "ml.m5.large", "--counts", "1", "--plot", str(tmp_path / "plan.png")])

    error = capsys.readouterr().err
    assert status == 1 and "plan.plot" in error and "matplotlib" in error and ".html" in error
    assert not (tmp_path / "plan.png").exists()
