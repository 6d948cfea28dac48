"""The console as `make up` starts it: its address printed, "Try it" answered by the real model server
through the gateway, and the endpoint page showing what the gateway has loaded."""
from __future__ import annotations

import html
import json
import re

import pytest
import requests

from e2e.stack_fixtures import local_stack, stack_env, stack_environment  # noqa: F401
from local_stack.sample_models import cached_tarball, digits_split

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]


def words(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


@pytest.fixture(scope="module")
def browser(local_stack):  # noqa: F811
    """A client logged in through the one-time link `make up` printed, as the user's browser is."""
    printed = re.search(r"Open the console \(.*?\): (http://\S+/login\?token=\S+)", local_stack.log_path.read_text())
    session = requests.Session()
    assert session.get(printed.group(1), timeout=10).status_code == 200
    return session


def test_make_up_prints_the_console_and_try_it_is_served_by_the_version_the_alias_names(local_stack,  # noqa: F811
                                                                                          browser):
    from client.uploads import upload_model

    console = local_stack.info["console_url"]
    assert f"Open the console (the link logs one browser in, once): {console}/login?token=" in \
        local_stack.log_path.read_text()
    assert requests.get(f"{console}/try", timeout=10).status_code == 401
    with stack_environment(local_stack):
        assert upload_model(cached_tarball("digits"), "console_digits", ["console-try"]).outcome == "accepted"
    token = re.search(r'name="token" value="([^"]+)"', browser.get(f"{console}/try", timeout=10).text).group(1)
    rows = digits_split().test_x[:3].tolist()

    page = browser.post(f"{console}/try", timeout=120, data={
        "token": token, "alias": "console-try", "payload": json.dumps({"instances": rows})})

    shown = words(page.text)
    assert page.status_code == 200, shown[-2000:]
    assert re.search(r"Served by console_digits v1 \( console_digits_v1.tar.gz \) in \d+ ms", shown), shown
    assert len(answer_of(page)["predictions"]) == 3


def test_try_it_sends_an_npy_file_as_application_x_npy(local_stack, browser):  # noqa: F811
    import io

    import numpy as np

    from client.uploads import upload_model

    console = local_stack.info["console_url"]
    with stack_environment(local_stack):
        assert upload_model(cached_tarball("digits"), "console_npy", ["console-npy"]).outcome == "accepted"
    token = re.search(r'name="token" value="([^"]+)"', browser.get(f"{console}/try", timeout=10).text).group(1)
    rows = io.BytesIO()
    np.save(rows, digits_split().test_x[:2].astype("float32"))

    page = browser.post(f"{console}/try", timeout=120, data={"token": token, "alias": "console-npy"},
                         files={"file": ("rows.npy", rows.getvalue(), "application/octet-stream")})

    shown = words(page.text)
    assert page.status_code == 200, shown[-2000:]
    assert "Served by console_npy v1" in shown and "of application/x-npy" in shown
    assert len(answer_of(page)["predictions"]) == 2


def answer_of(page: requests.Response):
    return json.loads(html.unescape(re.search(r'<pre class="answer">(.*?)</pre>', page.text, re.S).group(1)))


def test_the_endpoint_page_shows_the_endpoint_in_service_and_the_models_the_gateway_loaded(local_stack,  # noqa: F811
                                                                                            browser):
    from client.uploads import upload_model

    with stack_environment(local_stack):  # a version invoked once by its warm-up, so the gateway loaded it
        upload_model(cached_tarball("digits_small"), "console_endpoint", ["console-endpoint"])

    shown = words(browser.get(f"{local_stack.info['console_url']}/endpoints", timeout=30).text)

    assert "mxnet mme-registry-local InService" in shown
    counts = re.search(r"(\d+) hits · (\d+) misses \(loads\) · (\d+) evictions", shown)
    assert counts and int(counts.group(2)) >= 1, shown
    assert "models/console_endpoint_v1.tar.gz" in shown
