"""The console's pages and forms against a real registry (the emulator, the dev server, the event pump).

Pages are read as a browser without JavaScript reads them: the HTML the server rendered.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
import tarfile
import time

import boto3
import pytest
import requests

from console_stack import TOKEN, text
from hostile_tarballs import ALL_CASES, entry, mxnet_files, tgz, valid_mxnet

pytestmark = pytest.mark.xdist_group("console")  # one worker starts the console stack once for every console test

SYMLINK = next(case for case in ALL_CASES if case.name == "symlink")


@pytest.fixture
def stack(console_site):
    return console_site


def drop(stack, name: str, body: bytes, metadata: dict | None = None) -> dict:
    """A plain S3 put into the drop folder, then the record the registry wrote for it."""
    with stack.api.aws():
        s3 = boto3.Session(region_name="us-east-1").client("s3")
        etag = s3.put_object(Bucket=stack.bucket, Key=f"incoming/{name}.tar.gz", Body=body,
                             Metadata=metadata or {})["ETag"].strip('"')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = requests.get(f"{stack.registry}/models/{name}/uploads", timeout=10)
        mine = [r for r in answer.json().get("items", []) if r["source_etag"] == etag] if answer.ok else []
        if mine:
            return mine[0]
        time.sleep(0.2)
    raise AssertionError(f"no record for the upload of {name}")


# read pages -------------------------------------------------------------------------------
def test_the_models_list_shows_latest_version_counts_aliases_and_last_upload(stack):
    page = stack.page("/models")

    assert page.status_code == 200
    words = text(page.text)
    row = re.search(r"resnet_18 v2 2 (.*?) accepted 20\d\d-", words)  # the stack is shared: other tests add aliases
    assert row and "prod" in row.group(1).split(" , "), words
    assert "squeezenet v1 1 –" in words


def test_search_keeps_only_names_containing_the_query(stack):
    found = text(stack.page("/models", q="SQUEEZE").text)
    nothing = text(stack.page("/models", q="no-such-model").text)

    assert "squeezenet" in found and "resnet_18" not in found
    assert "No model name contains “no-such-model”" in nothing


def test_a_model_page_lists_versions_newest_first_with_every_field(stack):
    page = stack.page("/model", name="resnet_18")
    versions = requests.get(f"{stack.registry}/models/resnet_18/versions", timeout=10).json()["items"]

    words = text(page.text)
    assert words.index("v2 20") < words.index("v1 20")
    for version in versions:
        assert version["sha256"][:12] in page.text and version["target_key"] in page.text
    assert "mxnet" in words and "data [1, 8]; 3 labels" in words and "live" in words


def test_a_rejected_upload_shows_each_broken_rule_and_its_rejected_key(stack):
    record = drop(stack, "hostile", SYMLINK.build())

    page = stack.page("/model", name="hostile")

    assert record["outcome"] == "rejected"
    assert page.status_code == 200 and "every upload so far was refused" in page.text
    assert SYMLINK.rule_id in page.text and record["failures"][0]["message"] in text(page.text)
    assert record["rejected_key"].startswith("rejected/hostile/") and record["rejected_key"] in page.text


def test_user_input_on_a_page_is_text_never_markup(stack):
    # GIVEN a rejection whose report quotes a member name and an uploader claim, both carrying markup
    attack = "<script>alert(1)</script>"
    drop(stack, "xss", tgz(mxnet_files(), [entry(f"{attack}.txt", kind=tarfile.SYMTYPE, linkname="/etc/passwd")]),
         metadata={"uploader": attack})

    pages = [stack.page("/model", name="xss").text, stack.page("/models", q=attack).text]

    for markup in pages:
        assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_compare_lines_up_members_with_sizes_and_hashes_and_says_what_changed(stack):
    page = stack.page("/compare", name="resnet_18", a="1", b="2")
    members = {n: requests.get(f"{stack.registry}/models/resnet_18/versions/{n}/members", timeout=30).json()["items"]
               for n in (1, 2)}

    words = text(page.text)
    assert page.status_code == 200
    assert "model-0000.params changed 4.0 KiB 8.0 KiB" in words
    assert "synset.txt same" in words
    assert "Input shapes: unchanged" in words and "Labels: unchanged (3)" in words
    params = {n: next(m for m in members[n] if m["name"] == "model-0000.params") for n in (1, 2)}
    assert params[1]["sha256"][:12] in page.text and params[2]["sha256"][:12] in page.text


def test_the_members_route_hashes_each_member_of_the_stored_tarball(stack):
    with stack.api.aws():
        body = boto3.Session(region_name="us-east-1").client("s3").get_object(
            Bucket=stack.bucket, Key="models/squeezenet_v1.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        expected = {m.name.removeprefix("./"): hashlib.sha256(archive.extractfile(m).read()).hexdigest()
                    for m in archive.getmembers() if m.isfile()}

    answer = requests.get(f"{stack.registry}/models/squeezenet/versions/1/members", timeout=30).json()

    assert {m["name"]: m["sha256"] for m in answer["items"] if m["kind"] == "file"} == expected


def test_the_endpoints_page_names_each_framework_and_its_status(stack):
    words = text(stack.page("/endpoints").text)

    # ApiStack deploys no endpoint: SageMaker (the emulator) says so, and the page shows it.
    assert "mxnet mme-registry-local NotFound" in words
    assert "tensorflow mme-registry-local-tf NotFound" in words
    assert requests.get(f"{stack.registry}/endpoints", timeout=10).json() == {
        "items": [{"framework": "mxnet", "name": "mme-registry-local"},
                  {"framework": "tensorflow", "name": "mme-registry-local-tf"}]}


# writes -----------------------------------------------------------------------------------
def test_moving_an_alias_with_the_revision_shown_moves_it(stack):
    revision = stack.put_alias("move-me", {"model": "resnet_18", "version": 1})["revision"]

    page = stack.post("/alias/move", {"name": "move-me", "model": "resnet_18", "version": "2",
                                      "expected_revision": str(revision)})

    assert page.status_code == 200 and "Alias move-me moved: now revision" in text(page.text)
    assert requests.get(f"{stack.registry}/aliases/move-me", timeout=10).json()["version"] == 2


def test_a_stale_revision_says_who_moved_the_alias_and_overwrites_nothing(stack):
    # GIVEN a page that showed revision r, then another caller moved the alias
    shown = stack.put_alias("contested", {"model": "resnet_18", "version": 1})["revision"]
    stack.put_alias("contested", {"model": "resnet_18", "version": 2, "expected_revision": shown})
    # WHEN the page's form is sent with r
    page = stack.post("/alias/move", {"name": "contested", "model": "resnet_18", "version": "1",
                                      "expected_revision": str(shown)})
    # THEN 409, the page names the other change, offers a reload, and the alias stays where the other caller put it
    words = text(page.text)
    assert page.status_code == 409
    assert f"you saw revision {shown}, it is now at {shown + 1}" in words
    assert "anonymous made it update at 20" in words and "now resnet_18 v2" in words
    assert 'href="/alias?name=contested">Reload the alias' in page.text
    assert requests.get(f"{stack.registry}/aliases/contested", timeout=10).json()["version"] == 2


def test_rollback_and_weights_and_follow_latest_go_through_the_api(stack):
    revision = stack.put_alias("canary", {"model": "resnet_18", "version": 1})["revision"]

    weighted = stack.post("/alias/weights", {"name": "canary", "expected_revision": str(revision),
                                             "model": ["resnet_18", "resnet_18"], "version": ["1", "2"],
                                             "weight": ["90", "10"]})
    rolled = stack.post("/alias/rollback", {"name": "canary", "expected_revision": str(revision + 1)})
    followed = stack.post("/alias/follow", {"name": "canary", "model": "resnet_18",
                                            "expected_revision": str(revision + 2)})

    assert "resnet_18 v1 (90%), resnet_18 v2 (10%)" in text(weighted.text)
    assert "Alias canary rolled back" in text(rolled.text)
    alias = requests.get(f"{stack.registry}/aliases/canary", timeout=10).json()
    assert "Alias canary follows latest" in text(followed.text) and alias["tracks_latest"] and alias["version"] == 2


def test_relative_weights_set_on_the_alias_page_show_as_shares_of_traffic(stack):
    revision = stack.put_alias("quarters", {"model": "resnet_18", "version": 1})["revision"]

    weighted = stack.post("/alias/weights", {"name": "quarters", "expected_revision": str(revision),
                                             "model": ["resnet_18", "resnet_18"], "version": ["1", "2"],
                                             "weight": ["1", "3"]})

    shown = text(weighted.text)
    assert weighted.status_code == 200 and "Alias quarters weights set" in shown
    assert "resnet_18 v1 (25%), resnet_18 v2 (75%)" in shown
    assert "v1 25% (weight 1)" in shown and "v2 75% (weight 3)" in shown
    single = text(stack.page("/alias", name="prod").text)
    assert "v1 100% resnet_18_v1.tar.gz" in single and "(weight" not in single


def test_bad_form_input_gets_a_clear_error(stack):
    weights = stack.post("/alias/weights", {"name": "prod", "expected_revision": "1", "model": "resnet_18",
                                            "version": "two", "weight": "100"})
    missing = stack.page("/model")
    unknown = stack.page("/alias", name="no-such-alias")

    assert weights.status_code == 400 and "version and weight must be whole numbers" in weights.text
    assert missing.status_code == 400 and "the field 'name' is required" in text(missing.text)
    assert unknown.status_code == 404 and "no-such-alias" in unknown.text


def test_a_post_without_the_form_token_or_from_another_host_is_refused(stack):
    forged = stack.http.post(f"{stack.url}/alias/rollback", data={"name": "prod", "expected_revision": "1"},
                             timeout=10)
    rebound = stack.http.get(f"{stack.url}/models", headers={"Host": "evil.example:80"}, timeout=10)

    assert forged.status_code == 403 and "came from another site" in forged.text
    assert rebound.status_code == 403
    assert requests.get(f"{stack.registry}/aliases/prod", timeout=10).json()["revision"] == 1


def test_a_post_with_a_wrong_form_token_is_refused(stack):
    # GIVEN a logged-in browser that sends a token of the right shape, but not this console's
    real = TOKEN.search(stack.page("/try").text).group(1)
    wrong = ("A" if real[0] != "A" else "B") + real[1:]
    # WHEN it posts a rollback with it, as a field and as the upload page's header
    field = stack.post("/alias/rollback", {"name": "prod", "expected_revision": "1"}, token=wrong)
    header = stack.http.post(f"{stack.url}/upload/put", params={"name": "wrong_token"}, data=b"x", timeout=10,
                             headers={"X-Console-Token": "é" + real[1:]})
    # THEN both are refused and nothing moved
    assert field.status_code == 403 and "came from another site" in field.text
    assert header.status_code == 403
    assert requests.get(f"{stack.registry}/aliases/prod", timeout=10).json()["revision"] == 1


# logging in -------------------------------------------------------------------------------
def test_no_page_can_be_read_without_the_login_secret(stack):
    # GIVEN a client that never logged in, one with a made-up session cookie, and one that tried a made-up link
    stranger = requests.Session()
    forger = requests.Session()
    forger.cookies.set(f"mme-console-{stack.url.rsplit(':', 1)[1]}", "guessed-session-secret")
    guesser = requests.Session()
    guessed = guesser.get(f"{stack.url}/login", params={"token": "guessed-login-token"}, timeout=10)
    # WHEN each reads pages that hold the registry's data and the form token
    for client in (stranger, forger, guesser):
        for path in ("/models", "/model?name=resnet_18", "/alias?name=prod", "/try", "/upload", "/"):
            page = client.get(f"{stack.url}{path}", timeout=10, allow_redirects=False)
            # THEN each answer is a 401 that says how to log in, and shows neither data nor the form token
            assert page.status_code == 401, (path, page.status_code)
            assert "/login?token=" in page.text and "resnet_18" not in page.text and 'name="token"' not in page.text
    assert guessed.status_code == 401 and "not valid or was used already" in guessed.text
    moved = stranger.post(f"{stack.url}/alias/rollback", data={"name": "prod", "expected_revision": "1",
                                                                "token": TOKEN.search(stack.page("/try").text)[1]})
    assert moved.status_code == 401
    assert requests.get(f"{stack.registry}/aliases/prod", timeout=10).json()["revision"] == 1


def test_a_login_link_sets_a_strict_http_only_cookie_and_works_once(stack):
    # GIVEN a fresh one-time login link
    link = stack.console.new_login_url()
    # WHEN a browser opens it
    mine = requests.Session()
    opened = mine.get(link, timeout=10, allow_redirects=False)
    # THEN it gets the session cookie (HttpOnly, SameSite=Strict) and the pages
    cookie = opened.headers["Set-Cookie"]
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/models")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = mine.get(f"{stack.url}/models", timeout=30)
    assert page.status_code == 200 and "resnet_18" in page.text
    # WHEN someone else opens the same link afterwards
    reused = requests.Session()
    again = reused.get(link, timeout=10, allow_redirects=False)
    # THEN it is spent: no cookie, no pages
    assert again.status_code == 401 and "Set-Cookie" not in again.headers
    assert reused.get(f"{stack.url}/models", timeout=10).status_code == 401


# uploads ----------------------------------------------------------------------------------
def relay(stack, name: str, body: bytes, **params: str) -> dict:
    token = TOKEN.search(stack.page("/try").text).group(1)
    sent = stack.http.post(f"{stack.url}/upload/put", params={"name": name, **params}, data=body, timeout=60,
                         headers={"X-Console-Token": token, "Content-Type": "application/gzip"})
    assert sent.status_code == 200, sent.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = stack.http.get(f"{stack.url}/upload/outcome", params={"id": sent.json()["id"]}, timeout=10).json()
        if answer["done"]:
            return answer
        time.sleep(0.2)
    raise AssertionError("no outcome")


def test_an_upload_relayed_to_the_presigned_put_becomes_a_version(stack):
    answer = relay(stack, "relayed", valid_mxnet())

    assert answer["outcome"] == "accepted" and 'href="/model?name=relayed#v1">relayed v1' in answer["html"]


def test_an_upload_relayed_with_a_description_and_tags_becomes_a_version_that_carries_them(stack):
    answer = relay(stack, "relayed_said", valid_mxnet(), description="from the upload page",
                   tags="team=fraud\r\nstage=candidate\r\n")

    assert answer["outcome"] == "accepted"
    held = requests.get(f"{stack.registry}/models/relayed_said/versions/1", timeout=10).json()
    assert (held["description"], held["tags"]) == ("from the upload page", {"team": "fraud", "stage": "candidate"})


def test_an_upload_whose_tags_are_not_key_value_lines_is_refused_before_any_byte_moves(stack):
    token = TOKEN.search(stack.page("/try").text).group(1)
    sent = stack.http.post(f"{stack.url}/upload/put", params={"name": "relayed_badtags", "tags": "team"},
                           data=valid_mxnet(), headers={"X-Console-Token": token}, timeout=60)

    assert sent.status_code == 400 and "tags, line 1: expected key=value, got 'team'" in text(sent.text)
    assert requests.get(f"{stack.registry}/models/relayed_badtags/uploads", timeout=10).json()["items"] == []


def test_a_hostile_upload_relayed_comes_back_with_its_rule(stack):
    answer = relay(stack, "relayed_bad", SYMLINK.build())

    assert answer["outcome"] == "rejected" and SYMLINK.rule_id in answer["html"]
    assert "rejected/relayed_bad/" in answer["html"]


def test_an_upload_with_a_bad_name_is_refused_with_the_registrys_reason(stack):
    token = TOKEN.search(stack.page("/try").text).group(1)

    sent = stack.http.post(f"{stack.url}/upload/put", params={"name": "../etc"}, data=b"x", timeout=10,
                         headers={"X-Console-Token": token})

    assert sent.status_code == 422 and "name" in text(sent.text).lower()


# the command ------------------------------------------------------------------------------
def test_python_m_client_console_serves_the_pages_of_the_registry_it_is_given(stack):
    import subprocess
    import sys

    command = subprocess.Popen([sys.executable, "-m", "client", "console", "--registry-url", stack.registry,
                                "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        first_line, second_line = command.stdout.readline(), command.stdout.readline()
        url = re.search(r"Registry console on (http://127\.0\.0\.1:\d+)/", first_line).group(1)
        login = re.search(r"(http://127\.0\.0\.1:\d+/login\?token=\S+)", second_line).group(1)
        refused = requests.get(f"{url}/models", timeout=30)
        browser = requests.Session()
        page = browser.get(login, timeout=30)
    finally:
        command.terminate()
        command.wait(10)

    assert refused.status_code == 401 and "resnet_18" not in refused.text
    assert page.status_code == 200 and page.url == f"{url}/models" and "resnet_18" in page.text


def test_try_it_on_an_unknown_alias_or_with_a_payload_that_is_not_json_says_so(stack):
    unknown = stack.post("/try", {"alias": "nobody-home", "payload": "[]"})
    garbled = stack.post("/try", {"alias": "prod", "payload": "{not json"})

    assert unknown.status_code == 404 and "alias nobody-home" in text(unknown.text)
    assert garbled.status_code == 400 and "the payload is not JSON" in text(garbled.text)


def test_the_models_list_pages_through_the_registrys_listing(stack):
    # GIVEN more models than a page holds, named to sort after the others
    for number in range(21):
        stack.register(f"zz_page_{number:02}", valid_mxnet())
    first = stack.page("/models")
    next_link = re.search(r'href="(/models\?next=[^"]+)"', first.text)

    second = stack.page(html.unescape(next_link.group(1)))

    shown = [re.findall(r'/model\?name=(zz_page_\d\d)"', page.text) for page in (first, second)]
    assert shown[0] and shown[1] and not set(shown[0]) & set(shown[1])
    assert sorted(shown[0] + shown[1]) == [f"zz_page_{n:02}" for n in range(21)]
