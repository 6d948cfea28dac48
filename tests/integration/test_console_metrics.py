"""The alias page's traffic section, read as the server renders it: the window chosen, the totals, the data the
charts are drawn from, and a window the registry refuses said on the page while the rest of it stands."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib.metrics import names
from console_stack import text

pytestmark = pytest.mark.xdist_group("console")


def test_the_alias_page_carries_the_metrics_of_the_window_chosen_and_their_totals(console_site):
    # GIVEN alias `counted` on resnet_18 v2, with 12 calls (one 5xx) recorded a minute ago
    console_site.put_alias("counted", {"model": "resnet_18", "version": 2})
    dimensions = [{"Name": names.ALIAS, "Value": "counted"}, {"Name": names.MODEL, "Value": "resnet_18"},
                  {"Name": names.VERSION, "Value": "2"}]
    with console_site.api.aws():
        boto3.Session(region_name="us-east-1").client("cloudwatch").put_metric_data(
            Namespace=names.NAMESPACE, MetricData=[
                {"MetricName": metric, "Dimensions": dimensions, "Value": value, "Unit": "Count",
                 "Timestamp": datetime.now(timezone.utc) - timedelta(minutes=1)}
                for metric, value in ((names.REQUESTS, 12), (names.ERRORS_5XX, 1))])

    # WHEN the page is opened for the last 3 hours
    page = console_site.page("/alias", name="counted", minutes="180")

    # THEN the selector shows 3 hours, the totals say what was recorded, and the charts' data is the route's
    assert page.status_code == 200
    assert re.search(r'<option value="180" selected>3 hours</option>', page.text)
    assert re.search(r"resnet_18 v2 ?: 12 requests · 1 5xx · 0 not ready", text(page.text))
    data = json.loads(re.search(r'<script type="application/json" id="metrics-data">(.*?)</script>', page.text,
                                re.S).group(1))
    assert (data["minutes"], data["period_seconds"], len(data["timestamps"])) == (180, 120, 90)
    assert [(v["version"], sum(v["requests"]), sum(v["errors_5xx"])) for v in data["versions"]] == [(2, 12, 1)]
    assert "/static/vendor/uplot/uPlot.iife.min.js" in page.text


def test_a_window_the_registry_refuses_is_said_on_the_alias_page_which_still_shows_the_alias(console_site):
    page = console_site.page("/alias", name="prod", minutes="2")

    assert page.status_code == 200
    shown = text(page.text)
    assert "No metrics to show:" in shown and "minutes" in shown and "(invalid_input)" in shown
    assert "Where prod points" in shown and "metrics-data" not in page.text
