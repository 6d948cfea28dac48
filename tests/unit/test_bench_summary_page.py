"""`make bench` writes its goal table as the documentation's page (docs/benchmarks/latest.md): never by hand."""
import sys
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))  # last: its script names (validate, container) shadow nothing

import summary  # noqa: E402  (bench/ is a folder of scripts, not a package)
from common import GoalLine  # noqa: E402


def runs() -> list[dict]:
    line = GoalLine("1", "`mme-registry validate` / `tar -tzf` (wall)", 0.404, "0.66 / 1.64 s", "<= 0.5", True)
    return [{"script": "validate.py", "status": 0, "load_before": "0.90 1.10 1.20", "load_after": "1.80 1.20 1.20",
             "lines": [asdict(line)]},
            {"script": "serving.py", "status": 3, "load_before": "1.80 1.20 1.20", "load_after": "1.70 1.20 1.20",
             "lines": []}]


def test_the_page_holds_the_run_each_bench_load_and_the_goal_table():
    page = summary.page(runs(), "2026-12-06 12:00 UTC", "AMD EPYC, 2 CPUs, Python 3.11.7", 6.2, quick=True)

    assert page.startswith("# Latest `make bench`\n")
    assert "2026-12-06 12:00 UTC, 6 minutes (`--quick`); AMD EPYC, 2 CPUs, Python 3.11.7." in page
    assert "validate 0.90→1.80, serving 1.80→1.70." in page
    assert ("| 1 | validate.py | `mme-registry validate` / `tar -tzf` (wall) | 0.40 | 0.66 / 1.64 s | <= 0.5 | yes |"
            in page)
    assert "| | serving.py | failed (exit 3) | | | | |" in page


def test_the_committed_page_has_the_form_summary_writes():
    written = summary.page(runs(), "2026-12-06 12:00 UTC", "AMD EPYC", 6, quick=False).splitlines()
    committed = (REPO / "docs" / "benchmarks" / "latest.md").read_text().splitlines()

    assert committed[:4] == written[:4]
    assert committed[6:8] == written[6:8]  # the table's header
