"""The console's alias page shows a running canary rollout and cancels it, against a real registry (the
emulator, the dev server, the event pump), read as a browser without JavaScript reads them."""
from __future__ import annotations

import pytest
import requests

from console_stack import text
from hostile_tarballs import mxnet_files, tgz

pytestmark = pytest.mark.xdist_group("console")  # one worker starts the console stack once for every console test


def test_the_alias_page_shows_the_running_rollout_and_its_cancel_button_puts_the_incumbent_back(console_site):
    # GIVEN alias zzz-canary at v1 and a rollout to v2 whose 10-minute bake has just begun
    stack = console_site
    first = stack.register("zzz_rollout", tgz(mxnet_files(params_size=4096)))["version"]
    second = stack.register("zzz_rollout", tgz(mxnet_files(params_size=8192)))["version"]
    stack.put_alias("zzz-canary", {"model": "zzz_rollout", "version": first})
    started = requests.post(f"{stack.registry}/aliases/zzz-canary/rollouts", timeout=10, json={
        "model": "zzz_rollout", "version": second, "steps": [25, 100], "bake_seconds": 600, "max_error_rate": 0.01,
        "max_p99_ratio": 1.2})
    assert started.status_code == 201, started.text
    # WHEN the alias page is read
    words = text(stack.page("/alias", name="zzz-canary").text)
    # THEN it shows the step, the weights and the start, with a cancel button
    assert "Canary rollout 1: running" in words
    assert f"25 % of the traffic on zzz_rollout v{second}, 75 % on zzz_rollout v{first}" in words
    assert "started" in words and "Cancel rollout" in words
    # WHEN the cancel button is pressed
    page = stack.post("/alias/rollout/cancel", {"name": "zzz-canary"})
    # THEN the incumbent is back alone and the page says the rollout was cancelled
    words = text(page.text)
    assert page.status_code == 200 and "Alias zzz-canary rollout cancelled" in words
    assert "Canary rollout 1: cancelled" in words and "Cancel rollout" not in words
    alias = requests.get(f"{stack.registry}/aliases/zzz-canary", timeout=10).json()
    assert [(t["version"], t["weight"]) for t in alias["targets"]] == [(first, 100)]
