"""The console in a real headless Chromium, against a real registry (emulator, dev server, event pump).

Each test does what a person does: drop a tarball on the upload page and watch it become a
version or read its rejection; move an alias while someone else moves it too; roll back;
compare two versions; and read every page on a 390 px phone screen without sideways scrolling.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests

from chalicelib.metrics import names
from local_stack.demo import browser as browser_driver
from hostile_tarballs import ALL_CASES, valid_mxnet

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console"),
              pytest.mark.skipif(browser_driver.missing() is not None, reason=str(browser_driver.missing()))]

WAIT = 60


@pytest.fixture(scope="module")
def browser(console_site):
    """A headless Chromium logged in to the console through a one-time login link, as its user would be."""
    driver = browser_driver.start()
    driver.get(console_site.console.new_login_url())
    yield driver
    driver.quit()


@pytest.fixture
def site(console_site, browser):
    browser_driver.set_viewport(browser, 1280, 900)
    return console_site


def until(browser, condition, timeout: float = WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.2).until(condition)


def css(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def upload(browser, site, name: str, tarball: bytes, tmp_path) -> str:
    """Chooses the file on the upload page, sends it, and returns the outcome text once it appears."""
    path = tmp_path / f"{name}.tar.gz"
    path.write_bytes(tarball)
    browser.get(f"{site.url}/upload")
    css(browser, "#up-name").send_keys(name)
    css(browser, "#up-file").send_keys(str(path))
    css(browser, "#up-send").click()
    until(browser, lambda b: css(b, "#upload-form").get_attribute("data-outcome"))
    return css(browser, "#up-outcome").text


def test_a_tarball_uploaded_through_the_page_becomes_a_version(browser, site, tmp_path):
    outcome = upload(browser, site, "browser_upload", valid_mxnet(), tmp_path)

    assert "accepted became browser_upload v1" in outcome
    assert css(browser, "#up-progress").get_attribute("value") == "100"
    css(browser, "#up-outcome a").click()
    row = until(browser, lambda b: css(b, "tr#v1"))
    assert "models/browser_upload_v1.tar.gz" in row.text and "mxnet" in row.text


def test_a_hostile_tarball_uploaded_through_the_page_shows_its_rejection_rule(browser, site, tmp_path):
    case = next(c for c in ALL_CASES if c.name == "path_traversal")

    outcome = upload(browser, site, "browser_hostile", case.build(), tmp_path)

    assert "rejected broke 1 rule" in outcome and case.rule_id in outcome
    assert "Kept as rejected/browser_hostile/" in outcome


def test_a_move_from_a_second_user_shows_the_first_page_a_conflict_and_never_overwrites(browser, site):
    # GIVEN alias `shared` at v1, open in two windows (two users)
    site.put_alias("shared", {"model": "resnet_18", "version": 1})
    first = browser.current_window_handle
    browser.get(f"{site.url}/alias?name=shared")
    browser.switch_to.new_window("window")
    second = browser.current_window_handle
    browser.get(f"{site.url}/alias?name=shared")
    # WHEN the second user moves it to v2, then the first user, whose page still shows revision 1, moves it too
    choose(browser, "#move-version", "2")
    css(browser, "form[action='/alias/move'] button").click()
    assert "Alias shared moved: now revision 2" in until(browser, lambda b: css(b, ".done")).text
    browser.close()
    browser.switch_to.window(first)
    choose(browser, "#move-version", "1")
    css(browser, "form[action='/alias/move'] button").click()
    # THEN the first page says who moved it, when and to what, and the alias stays at the second user's v2
    conflict = until(browser, lambda b: css(b, "#conflict")).text
    assert "Someone else changed alias shared" in conflict and "you saw revision 1, it is now at 2" in conflict
    assert "anonymous made it update at" in conflict and "now resnet_18 v2" in conflict
    assert requests.get(f"{site.registry}/aliases/shared", timeout=10).json()["version"] == 2
    css(browser, "#conflict a").click()  # reload: the forms now carry revision 2
    until(browser, lambda b: not b.find_elements("css selector", "#conflict"))
    assert css(browser, "form[action='/alias/move'] [name=expected_revision]").get_attribute("value") == "2"
    assert second not in browser.window_handles


def test_roll_back_from_the_alias_page(browser, site):
    site.put_alias("rollme", {"model": "resnet_18", "version": 1})
    site.put_alias("rollme", {"model": "resnet_18", "version": 2})
    browser.get(f"{site.url}/alias?name=rollme")

    css(browser, "form[action='/alias/rollback'] button").click()

    assert "Alias rollme rolled back: now revision 3" in until(browser, lambda b: css(b, ".done")).text
    assert "rollback" in css(browser, ".timeline li").text
    assert requests.get(f"{site.registry}/aliases/rollme", timeout=10).json()["version"] == 1


def test_compare_two_versions_from_the_model_page(browser, site):
    browser.get(f"{site.url}/model?name=resnet_18")
    css(browser, "a[href^='/compare']").click()
    choose(browser, "#a", "1")
    choose(browser, "#b", "2")
    css(browser, "form[action='/compare'] button").click()

    until(browser, lambda b: "v1 and v2" in b.title)
    changed = css(browser, "table.compare tr.changed").text
    assert changed.startswith("model-0000.params changed 4.0 KiB 8.0 KiB")
    assert "Input shapes: unchanged" in css(browser, "#shapes-verdict").text


def test_tags_edited_and_a_version_approved_through_its_page(browser, site):
    # GIVEN a version, opened from its model page
    number = site.register("browser_governed", valid_mxnet())["version"]
    browser.get(f"{site.url}/model?name=browser_governed")
    css(browser, f"tr#v{number} a[href^='/version']").click()
    until(browser, lambda b: css(b, "#edit-form"))
    # WHEN the person types a description and two tags and saves, then approves with a reason
    css(browser, "#edit-description").send_keys("scores card payments")
    css(browser, "#edit-tags").send_keys("team=fraud\nstage=candidate")
    css(browser, "#edit-save").click()
    until(browser, lambda b: "done=saved" in b.current_url)  # the page the form's answer redirected to
    saved = css(browser, ".done").text
    css(browser, "#approval-reason").send_keys("passed the March evaluation")
    css(browser, "#approve").click()
    until(browser, lambda b: "done=approval" in b.current_url)
    # THEN the page shows what the registry now holds: the tags, the approval with who and why
    assert "saved: now metadata revision 1" in saved
    assert "approval set to Approved" in css(browser, ".done").text
    assert css(browser, "#tags").text == "stage=candidate team=fraud"
    assert css(browser, "#description").text == "scores card payments"
    approval = css(browser, "#approval").text
    assert approval.startswith("Approved by anonymous at 20") and "passed the March evaluation" in approval
    held = requests.get(f"{site.registry}/models/browser_governed/versions/{number}", timeout=10).json()
    assert (held["tags"], held["approval"]["status"]) == ({"team": "fraud", "stage": "candidate"}, "Approved")


def test_the_alias_page_charts_each_version_from_the_metrics_recorded_in_cloudwatch(browser, site):
    # GIVEN alias `charted` split 90/10 between resnet_18 v1 and v2, and calls of both recorded in CloudWatch
    site.put_alias("charted", {"targets": [{"model": "resnet_18", "version": 1, "weight": 90},
                                           {"model": "resnet_18", "version": 2, "weight": 10}]})
    now = datetime.now(timezone.utc)
    with site.api.aws():
        cloudwatch = boto3.Session(region_name="us-east-1").client("cloudwatch")
        for version, ago, counts in ((1, 3, {names.REQUESTS: 90, names.ERRORS_5XX: 4}),
                                     (1, 1, {names.REQUESTS: 45}), (2, 1, {names.REQUESTS: 10, names.THROTTLES: 2})):
            dimensions = [{"Name": names.ALIAS, "Value": "charted"}, {"Name": names.MODEL, "Value": "resnet_18"},
                          {"Name": names.VERSION, "Value": str(version)}]
            cloudwatch.put_metric_data(Namespace=names.NAMESPACE, MetricData=[
                {"MetricName": metric, "Dimensions": dimensions, "Timestamp": now - timedelta(minutes=ago),
                 "Value": value, "Unit": "Count"} for metric, value in counts.items()])

    # WHEN the person opens the alias page
    browser.get(f"{site.url}/alias?name=charted")
    until(browser, lambda b: b.execute_script("return !!window.aliasCharts"))

    # THEN three charts are drawn on canvases, one line per version (errors: one per kind seen), from that data
    drawn = browser.execute_script("""
        var out = {};
        Object.keys(window.aliasCharts).forEach(function (key) {
          var chart = window.aliasCharts[key];
          out[key] = {labels: chart.series.slice(1).map(function (s) { return s.label; }),
                      sums: chart.data.slice(1).map(function (d) {
                        return d.reduce(function (a, b) { return a + (b || 0); }, 0); }),
                      points: chart.data[0].length,
                      canvas: document.querySelectorAll("#chart-" + key + " canvas").length};
        });
        return out;""")
    assert drawn["requests"] == {"labels": ["resnet_18 v1", "resnet_18 v2"], "sums": [135, 10], "points": 60,
                                 "canvas": 1}
    assert drawn["errors"]["labels"] == ["resnet_18 v1 5xx", "resnet_18 v2 throttled"]
    assert drawn["errors"]["sums"] == [4, 2] and drawn["errors"]["canvas"] == 1
    assert drawn["latency"]["labels"] == ["resnet_18 v1 p50", "resnet_18 v1 p99", "resnet_18 v2 p50",
                                          "resnet_18 v2 p99"]
    assert drawn["latency"]["canvas"] == 1
    assert "135 requests · 4 5xx" in css(browser, "#metrics-totals").text

    # WHEN the person picks the last 24 hours
    choose(browser, "#metrics-minutes", "1440")
    css(browser, "form.window button").click()
    until(browser, lambda b: "minutes=1440" in b.current_url and b.execute_script("return !!window.aliasCharts"))

    # THEN the same calls are drawn in 15-minute points
    points, sums = browser.execute_script(
        "var c = window.aliasCharts.requests; return [c.data[0].length, c.data.slice(1).map(function (d) {"
        " return d.reduce(function (a, b) { return a + (b || 0); }, 0); })];")
    assert (points, sums) == (96, [135, 10])


PAGES = ["/models", "/model?name=resnet_18", "/compare?name=resnet_18", "/alias?name=prod", "/aliases",
         "/upload", "/try", "/endpoints", "/version?name=resnet_18&n=1", "/card?name=resnet_18&n=1"]


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_scrolls_sideways(browser, site, width):
    browser_driver.set_viewport(browser, width, 844)
    wide = {}
    for path in PAGES:
        browser.get(f"{site.url}{path}")
        scroll, inner = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert inner == width, f"{path}: the viewport is {inner} px, not {width} (a missing viewport meta tag?)"
        if scroll > inner:
            wide[path] = scroll
    assert not wide, f"pages wider than {width} px: {wide}"


def choose(browser, selector: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(css(browser, selector)).select_by_value(value)
