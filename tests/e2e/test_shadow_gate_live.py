"""The shadow gate on the local stack with real MXNet models served by MMS: a weaker digits classifier is refused
with its agreement recorded, the same weights repacked with their own samples pass, through the CLI and the API."""
from __future__ import annotations

import json

import pytest
import requests

from client.cli import main
from client.uploads import upload_model
from e2e.stack_fixtures import local_stack, stack_env  # noqa: F401
from local_stack.demo.sample_models import cached_tarball, digits_split, pack, unpack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]

MODEL, ALIAS = "e2e_shadow", "e2e-shadow"


def drop(tarball, aliases=()) -> int:
    outcome = upload_model(tarball, MODEL, list(aliases))
    assert outcome.outcome == "accepted", outcome.record
    return outcome.record["version"]


def test_a_weaker_model_is_refused_by_the_shadow_gate_and_a_faithful_repack_passes(stack_env, tmp_path,  # noqa: F811
                                                                                   capsys):
    registry = stack_env["MME_REGISTRY_URL"]
    rows = digits_split().test_x[:10]
    samples = [{"instances": [row.round(4).tolist()]} for row in rows]
    # GIVEN digits v1 (trained) at the alias, v2 (hidden 8, one epoch) and v3: v1's weights with samples/ inside
    repacked = unpack(cached_tarball("digits"), tmp_path / "digits")
    (repacked / "samples").mkdir()
    for index, sample in enumerate(samples):
        (repacked / "samples" / f"{index:02d}.json").write_text(json.dumps(sample))
    assert drop(cached_tarball("digits"), [ALIAS]) == 1
    assert drop(cached_tarball("digits_small")) == 2
    assert drop(pack(repacked, tmp_path / "digits_with_samples.tar.gz")) == 3
    # AND the model's samples (for v2, which has none of its own), and a policy set with the CLI
    assert requests.post(f"{registry}/models/{MODEL}/samples", json={"samples": samples}, timeout=10).ok
    assert main(["alias", "policy", ALIAS, "--require", "shadow", "--shadow-min-top1", "0.95",
                 "--shadow-max-diff", "0.001"]) == 0
    capsys.readouterr()
    # WHEN the CLI compares v2 without moving, then the alias is asked to move to v2, then to v3
    compared = main(["shadow", ALIAS, "--to", f"{MODEL}:2"])
    printed = " ".join(capsys.readouterr().out.split())
    to_v2 = requests.put(f"{registry}/aliases/{ALIAS}", json={"model": MODEL, "version": 2}, timeout=60)
    after_refusal = requests.get(f"{registry}/aliases/{ALIAS}", timeout=10).json()
    to_v3 = requests.put(f"{registry}/aliases/{ALIAS}", json={"model": MODEL, "version": 3}, timeout=60)
    # THEN v2 was refused with its agreement (recorded on v2), and nothing moved until v3, which passed
    assert compared == 1 and "failed on 10 samples (model's" in printed
    assert to_v2.status_code == 409 and to_v2.json()["error"]["details"]["requirement"] == "shadow"
    assert after_refusal["targets"][0]["version"] == 1
    (v2,) = requests.get(f"{registry}/models/{MODEL}/versions/2/shadow", timeout=10).json()["items"]
    assert v2["verdict"] == "failed" and v2["top1_agreement"] < 0.95 and v2["samples"] == 10
    assert f"top-1 agreement {v2['top1_agreement']:.4g}" in printed
    assert to_v3.status_code == 200, to_v3.text
    assert to_v3.json()["targets"][0]["version"] == 3
    (v3,) = requests.get(f"{registry}/models/{MODEL}/versions/3/shadow", timeout=10).json()["items"]
    assert (v3["verdict"], v3["samples_source"], v3["top1_agreement"]) == ("passed", "version", 1.0)
    assert v3["max_abs_diff"] <= 0.001
