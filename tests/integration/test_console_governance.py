"""The console's version page, model card, search by tag and alias policy against a real registry (the
emulator, the dev server, the event pump), read as a browser without JavaScript reads them.

Every model here is named zzz_*: the console stack is shared, and the models list's own tests expect
their models on its first pages, so these sort after them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from console_stack import TOKEN, text
from hostile_tarballs import mxnet_files, tgz

pytestmark = pytest.mark.xdist_group("console")  # one worker starts the console stack once for every console test


@pytest.fixture
def stack(console_site):
    return console_site


def registered(stack, name: str, params_size: int = 4096) -> int:
    return stack.register(name, tgz(mxnet_files(params_size=params_size)))["version"]


def version(stack, name: str, number: int) -> dict:
    answer = requests.get(f"{stack.registry}/models/{name}/versions/{number}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def patch(stack, name: str, number: int, body: dict) -> dict:
    answer = requests.patch(f"{stack.registry}/models/{name}/versions/{number}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_version_page_shows_description_tags_approval_and_links_the_card(stack):
    number = registered(stack, "zzz_gov_page")
    patch(stack, "zzz_gov_page", number, {"description": "digits <b>classifier</b>", "tags": {"team": "fraud"},
                                      "expected_revision": 0})

    page = stack.page("/version", name="zzz_gov_page", n=str(number))

    words = text(page.text)
    assert page.status_code == 200
    assert "Description digits <b>classifier</b>" in words and "<b>classifier" not in page.text
    assert "Tags team=fraud" in words and "Approval PendingManualApproval" in words
    assert f'href="/card?name=zzz_gov_page&amp;n={number}"' in page.text
    assert 'name="expected_revision" value="1"' in page.text


def test_the_edit_form_sends_only_what_changed_and_removes_a_deleted_tag(stack):
    number = registered(stack, "zzz_gov_edit")
    patch(stack, "zzz_gov_edit", number, {"tags": {"team": "fraud", "stage": "candidate"}, "expected_revision": 0})

    page = stack.post("/version/edit", {"name": "zzz_gov_edit", "n": str(number), "expected_revision": "1",
                                        "description": "retrained on March data", "tags": "team=risk\r\n"})

    assert page.status_code == 200 and "zzz_gov_edit v1 saved: now metadata revision 2" in text(page.text)
    now = version(stack, "zzz_gov_edit", number)
    assert (now["description"], now["tags"], now["metadata_revision"]) == ("retrained on March data",
                                                                           {"team": "risk"}, 2)
    history = requests.get(f"{stack.registry}/models/zzz_gov_edit/versions/{number}/history", timeout=10).json()
    assert history["entries"][0]["change"]["tags"] == {"set": {"team": "risk"}, "removed": ["stage"]}


def test_a_stale_edit_is_a_409_that_keeps_what_was_typed_and_overwrites_nothing(stack):
    # GIVEN a page that showed revision 0, then someone else described the version
    number = registered(stack, "zzz_gov_stale")
    patch(stack, "zzz_gov_stale", number, {"description": "theirs", "expected_revision": 0})
    # WHEN the page's form is sent with revision 0
    page = stack.post("/version/edit", {"name": "zzz_gov_stale", "n": str(number), "expected_revision": "0",
                                        "description": "mine, typed with care", "tags": "owner=me"})
    # THEN 409: the page names the other change, shows theirs, keeps mine in the form, and saved nothing of mine
    words = text(page.text)
    assert page.status_code == 409
    assert "Someone else changed zzz_gov_stale v1" in words and "you saw revision 0, it is now at 1" in words
    assert "anonymous made a metadata change at 20" in words and "Description theirs" in words
    assert "The registry said: " in words and "(revision_conflict)" in words
    assert ">mine, typed with care</textarea>" in page.text and ">owner=me</textarea>" in page.text
    assert 'name="expected_revision" value="1"' in page.text
    now = version(stack, "zzz_gov_stale", number)
    assert (now["description"], now["tags"]) == ("theirs", {})


def test_a_tag_line_without_an_equals_sign_is_refused_by_line_and_the_text_is_kept(stack):
    number = registered(stack, "zzz_gov_badline")

    page = stack.post("/version/edit", {"name": "zzz_gov_badline", "n": str(number), "expected_revision": "0",
                                        "description": "kept", "tags": "team=fraud\njust-a-word"})

    assert page.status_code == 400 and "tags, line 2: expected key=value, got 'just-a-word'" in text(page.text)
    assert ">kept</textarea>" in page.text and version(stack, "zzz_gov_badline", number)["metadata_revision"] == 0


def test_a_tag_over_the_registrys_limit_comes_back_with_its_rule(stack):
    number = registered(stack, "zzz_gov_limit")

    page = stack.post("/version/edit", {"name": "zzz_gov_limit", "n": str(number), "expected_revision": "0",
                                        "description": "", "tags": "k=" + "v" * 300})

    assert page.status_code == 422 and "(invalid_input)" in text(page.text)
    assert version(stack, "zzz_gov_limit", number)["tags"] == {}


def test_approve_and_reject_buttons_record_status_actor_and_reason(stack):
    number = registered(stack, "zzz_gov_approve")

    approved = stack.post("/version/approval", {"name": "zzz_gov_approve", "n": str(number), "status": "Approved",
                                                "reason": "passed the March evaluation"})
    rejected = stack.post("/version/approval", {"name": "zzz_gov_approve", "n": str(number), "status": "Rejected",
                                                "reason": "drift on new merchants"})

    assert "zzz_gov_approve v1 approval set to Approved" in text(approved.text)
    words = text(rejected.text)
    assert "Approval Rejected by anonymous at 20" in words and "“drift on new merchants”" in words
    assert version(stack, "zzz_gov_approve", number)["approval"]["status"] == "Rejected"


def test_the_model_card_is_a_page_and_a_json_download_equal_to_the_registrys(stack):
    number = registered(stack, "zzz_gov_card")
    card = {"intended_use": "scoring card payments", "owner": "team-fraud", "metrics": {"auc": 0.91},
            "links": [{"title": "training run", "url": "https://ci.example/runs/7"}]}
    patch(stack, "zzz_gov_card", number, {"card": card, "expected_revision": 0})

    page = stack.page("/card", name="zzz_gov_card", n=str(number))
    download = stack.page("/card.json", name="zzz_gov_card", n=str(number))

    words = text(page.text)
    assert "Intended use scoring card payments" in words and "Owner team-fraud" in words and "auc 0.91" in words
    assert '<a href="https://ci.example/runs/7" rel="noopener noreferrer nofollow">training run</a>' in page.text
    assert download.headers["Content-Disposition"] == 'attachment; filename="zzz_gov_card_v1_card.json"'
    assert json.loads(download.text) == version(stack, "zzz_gov_card", number)["card"]


def test_the_models_search_asks_the_registrys_tag_index(stack):
    number = registered(stack, "zzz_gov_found")
    registered(stack, "zzz_gov_not_found")
    patch(stack, "zzz_gov_found", number, {"tags": {"team": "search-test"}, "expected_revision": 0})

    found = text(stack.page("/models", tag="team:search-test").text)
    both = text(stack.page("/models", q="ZZZ_GOV_", tag="team:search-test").text)
    nothing = text(stack.page("/models", tag="team:nobody").text)

    assert "zzz_gov_found" in found and "zzz_gov_not_found" not in found and "resnet_18" not in found
    assert "Models: name contains “ZZZ_GOV_”, tagged team:search-test" in both and "zzz_gov_not_found" not in both
    assert "No model matches: tagged team:nobody" in nothing


def test_the_alias_page_shows_its_policy_and_why_a_move_was_refused(stack):
    # GIVEN alias `guarded` at an approved v1, with a policy requiring approved versions
    first = registered(stack, "zzz_gov_alias")
    second = registered(stack, "zzz_gov_alias", params_size=8192)
    requests.put(f"{stack.registry}/models/zzz_gov_alias/versions/{first}/approval",
                 json={"status": "Approved", "reason": "ok"}, timeout=10).raise_for_status()
    revision = stack.put_alias("guarded", {"model": "zzz_gov_alias", "version": first})["revision"]
    requests.put(f"{stack.registry}/aliases/guarded/policy", json={"require": ["approved"]},
                 timeout=10).raise_for_status()
    # WHEN the page moves it to the unapproved v2
    page = stack.post("/alias/move", {"name": "guarded", "model": "zzz_gov_alias", "version": str(second),
                                      "expected_revision": str(revision)})
    # THEN the page names the rule, shows the policy, and the alias stays at v1
    words = text(page.text)
    assert page.status_code == 409 and "(rule alias_policy_unmet)" in words
    assert "A target must be approved" in words and "Who may move it anyone who may call the API" in words
    assert requests.get(f"{stack.registry}/aliases/guarded", timeout=10).json()["version"] == first
    assert "No policy: anyone who may call" in text(stack.page("/alias", name="prod").text)


def test_a_policy_set_and_deleted_from_the_alias_page_at_the_revision_shown(stack):
    # GIVEN alias `protected` without a policy
    number = registered(stack, "zzz_gov_protect")
    stack.put_alias("protected", {"model": "zzz_gov_protect", "version": number})
    # WHEN the page sets one, then a stale form (revision 0) tries again, then the page deletes it
    set_ = stack.post("/alias/policy", {"name": "protected", "policy_revision": "0", "require": ["approved", "warmed"],
                                        "movers": "anonymous\n\narn:aws:iam::*:role/deployer*\n", "approvers": ""})
    stale = stack.post("/alias/policy", {"name": "protected", "policy_revision": "0", "require": [], "movers": ""})
    held = requests.get(f"{stack.registry}/aliases/protected/policy", timeout=10).json()
    deleted = stack.post("/alias/policy/delete", {"name": "protected", "policy_revision": str(held["revision"])})
    # THEN the page showed what was set, the stale form changed nothing, and the policy is gone
    words = text(set_.text)
    assert "Alias protected policy set" in words and "A target must be approved and warmed" in words
    assert "Who may move it anonymous , arn:aws:iam::*:role/deployer*" in words and "revision 1, 20" in words
    assert stale.status_code == 409 and "(rule revision_conflict)" in text(stale.text)
    assert held["policy"] == {"movers": ["anonymous", "arn:aws:iam::*:role/deployer*"], "approvers": [],
                              "require": ["approved", "warmed"], "shadow": None}
    assert "Alias protected policy deleted" in text(deleted.text)
    assert requests.get(f"{stack.registry}/aliases/protected/policy", timeout=10).status_code == 404


def test_the_model_page_filters_its_versions_by_tag_and_approval(stack):
    for size in (4096, 8192, 16384):
        registered(stack, "zzz_gov_filter", params_size=size)
    patch(stack, "zzz_gov_filter", 2, {"tags": {"stage": "candidate"}, "expected_revision": 0})
    patch(stack, "zzz_gov_filter", 3, {"tags": {"stage": "candidate"}, "expected_revision": 0})
    requests.put(f"{stack.registry}/models/zzz_gov_filter/versions/3/approval", json={"status": "Approved"},
                 timeout=10).raise_for_status()

    tagged = stack.page("/model", name="zzz_gov_filter", tag="stage:candidate")
    approved = stack.page("/model", name="zzz_gov_filter", tag="stage:candidate", approval="Approved")
    rejected = stack.page("/model", name="zzz_gov_filter", approval="Rejected")

    assert ('id="v3"' in tagged.text and 'id="v2"' in tagged.text) and 'id="v1"' not in tagged.text
    assert 'id="v3"' in approved.text and 'id="v2"' not in approved.text
    assert "No version of zzz_gov_filter matches, Rejected." in text(rejected.text)


def test_a_console_records_what_is_changed_through_it_under_the_name_of_whoever_started_it(stack):
    # GIVEN a console started by dana (`python -m console`, MME_REGISTRY_ACTOR=dana) over the stack's registry
    number = registered(stack, "zzz_gov_dana")
    console = subprocess.Popen([sys.executable, "-m", "console", "--registry-url", stack.registry, "--port", "0"],
                               env={**os.environ, "MME_REGISTRY_ACTOR": "dana"}, stdout=subprocess.PIPE, text=True)
    try:
        login = None
        while login is None and (line := console.stdout.readline()):
            login = re.search(r"http://127\.0\.0\.1:\d+/login\?token=\S+", line)
        assert login, "the console printed no login link"
        browser = requests.Session()
        browser.get(login.group(0), timeout=10).raise_for_status()
        base = login.group(0).split("/login")[0]
        token = TOKEN.search(browser.get(f"{base}/try", timeout=10).text).group(1)
        # WHEN dana approves the version on its page
        form = {"name": "zzz_gov_dana", "n": str(number), "status": "Approved", "reason": "dana checked it"}
        page = browser.post(f"{base}/version/approval", data={**form, "token": token}, timeout=60)
    finally:
        console.terminate()
        console.wait(timeout=10)
    # THEN the registry records dana as the approver, and the page says so
    assert "Approval Approved by local:dana at 20" in text(page.text)
    assert version(stack, "zzz_gov_dana", number)["approval"]["actor"] == "local:dana"


def test_the_version_page_runs_a_shadow_comparison_and_shows_those_recorded_for_it(stack):
    # GIVEN alias zzz-shadow-page at v1 and the model's samples
    first = registered(stack, "zzz_gov_shadow")
    second = registered(stack, "zzz_gov_shadow", params_size=8192)
    stack.put_alias("zzz-shadow-page", {"model": "zzz_gov_shadow", "version": first})
    requests.post(f"{stack.registry}/models/zzz_gov_shadow/samples", json={"samples": [{"instances": [[0.5]]}]},
                  timeout=10).raise_for_status()
    # WHEN v2's page compares it beside the alias's target (not moving it), then is read
    ran = stack.post("/version/shadow", {"name": "zzz_gov_shadow", "n": str(second), "alias": "zzz-shadow-page"})
    page = stack.page("/version", name="zzz_gov_shadow", n=str(second))
    compared = requests.get(f"{stack.registry}/models/zzz_gov_shadow/versions/{second}/shadow", timeout=10)
    # THEN it lists the comparison: the alias, the version beside it, the samples used, the verdict
    words = text(page.text)
    assert "compared beside the target of alias zzz-shadow-page" in text(ran.text)
    assert requests.get(f"{stack.registry}/aliases/zzz-shadow-page", timeout=10).json()["version"] == first
    assert page.status_code == 200 and "Shadow comparisons" in words
    (comparison,) = compared.json()["items"]
    assert f"zzz-shadow-page zzz_gov_shadow v{first}" in words
    assert f"{comparison['samples']} (model's)" in words and comparison["verdict"] in words, comparison
    assert comparison["error"] is None or " ".join(comparison["error"].split())[:60] in words, comparison


def test_a_shadow_policy_set_from_the_alias_page_keeps_its_thresholds_and_shows_them(stack):
    first = registered(stack, "zzz_gov_gate")
    stack.put_alias("zzz-gate-page", {"model": "zzz_gov_gate", "version": first})
    form = {"name": "zzz-gate-page", "policy_revision": "0", "require": ["shadow"], "movers": "",
            "shadow_min_top1_agreement": "0.98", "shadow_k": "3"}

    set_ = stack.post("/alias/policy", form)
    out_of_range = stack.post("/alias/policy", {**form, "policy_revision": "1", "shadow_min_top1_agreement": "2"})

    held = requests.get(f"{stack.registry}/aliases/zzz-gate-page/policy", timeout=10).json()
    assert held["policy"]["require"] == ["shadow"]
    assert (held["policy"]["shadow"]["min_top1_agreement"], held["policy"]["shadow"]["k"]) == (0.98, 3)
    assert "Shadow thresholds k 3 , min_top1_agreement 0.98" in text(set_.text)
    assert out_of_range.status_code == 422 and "shadow.min_top1_agreement" in text(out_of_range.text)
