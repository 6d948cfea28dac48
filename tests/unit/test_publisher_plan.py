"""The publisher's pure rules: content-derived names, the plan, settings precedence, warm-up payloads."""
from __future__ import annotations

import json

import pytest

from publisher.plan import (
    NAME_MAX,
    Action,
    EndpointState,
    Observed,
    PlanError,
    derived_name,
    desired_from,
    make_plan,
)
from publisher.settings import ConfigFileError, MissingSettings, PublisherSettings, read_config_file


REQUIRED = {"endpoint_name": "mme-test", "bucket": "models-bucket", "image": "registry/mme:1",
            "role_arn": "arn:aws:iam::123456789012:role/mme-test", "instance_type": "ml.m5.large"}


def settings(**changes) -> PublisherSettings:
    return PublisherSettings(**{**REQUIRED, **changes})


NOTHING = Observed(model_exists=False, config_exists=False, endpoint=None)


def existing(desired, status="InService", config_name=None) -> Observed:
    return Observed(True, True, EndpointState(config_name or desired.config_name, status))


def test_the_same_settings_always_give_the_same_names():
    assert desired_from(settings()) == desired_from(settings())


def test_a_new_image_renames_the_model_and_the_config_but_not_the_endpoint():
    one, two = desired_from(settings()), desired_from(settings(image="registry/mme:2"))
    assert one.model_name != two.model_name
    assert one.config_name != two.config_name
    assert one.endpoint_name == two.endpoint_name


def test_a_new_instance_type_renames_only_the_config():
    one, two = desired_from(settings()), desired_from(settings(instance_type="ml.c5.xlarge"))
    assert one.model_name == two.model_name
    assert one.config_name != two.config_name


def test_the_container_environment_is_part_of_the_model_identity_in_any_key_order():
    a = desired_from(settings(environment={"A": "1", "B": "2"}))
    b = desired_from(settings(environment={"B": "2", "A": "1"}))
    c = desired_from(settings(environment={"A": "1"}))
    assert a.model_name == b.model_name != c.model_name


def test_derived_names_fit_sagemakers_limit_even_for_a_long_endpoint_name():
    name = derived_name("e" * 80, "config", {"x": 1})
    assert len(name) <= NAME_MAX
    assert name.endswith(derived_name("e", "config", {"x": 1})[1:])


def test_nothing_there_plans_three_creates():
    plan = make_plan(desired_from(settings()), NOTHING)
    assert [s.action for s in plan.steps] == [Action.CREATE] * 3
    assert plan.changes


def test_everything_in_place_plans_no_change():
    desired = desired_from(settings())
    plan = make_plan(desired, existing(desired))
    assert [s.action for s in plan.steps] == [Action.UNCHANGED] * 3
    assert not plan.changes


def test_an_endpoint_on_another_config_is_updated_never_recreated():
    desired = desired_from(settings())
    plan = make_plan(desired, Observed(False, False, EndpointState("old-config", "InService")))
    assert plan.endpoint.action is Action.UPDATE
    assert "old-config" in plan.endpoint.detail and desired.config_name in plan.endpoint.detail


def test_an_endpoint_still_creating_is_waited_for_not_changed():
    desired = desired_from(settings())
    plan = make_plan(desired, existing(desired, status="Creating"))
    assert plan.endpoint.action is Action.UNCHANGED
    assert plan.endpoint_status == "Creating"


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "Deleting"])
def test_an_endpoint_deploy_cannot_fix_is_refused_with_what_to_do(status):
    desired = desired_from(settings())
    with pytest.raises(PlanError, match="delete-endpoint"):
        make_plan(desired, existing(desired, status=status, config_name="other"))


def test_the_model_data_url_is_the_models_prefix_with_one_trailing_slash():
    assert settings(bucket="b", models_prefix="/models").model_data_url == "s3://b/models/"
    assert settings(bucket="b", models_prefix="a/b/").model_data_url == "s3://b/a/b/"


def test_flags_beat_the_environment_which_beats_the_file(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("image: file\nbucket: file-bucket\nregion: eu-west-1\n")
    monkeypatch.setenv("PUBLISHER_IMAGE", "env")
    monkeypatch.setenv("PUBLISHER_BUCKET", "env-bucket")
    others = {k: v for k, v in REQUIRED.items() if k not in ("image", "bucket")}
    loaded = PublisherSettings.load(config, bucket="flag-bucket", region=None, **others)
    assert (loaded.image, loaded.bucket, loaded.region) == ("env", "flag-bucket", "eu-west-1")


def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps(["image"]))
    with pytest.raises(ConfigFileError, match="mapping"):
        read_config_file(config)


def test_a_missing_required_setting_names_its_flag_and_environment_variable(monkeypatch):
    monkeypatch.delenv("PUBLISHER_BUCKET", raising=False)
    monkeypatch.setenv("PUBLISHER_IMAGE", "env")
    others = {k: v for k, v in REQUIRED.items() if k not in ("image", "bucket")}
    with pytest.raises(MissingSettings) as missing:
        PublisherSettings.load(None, **others)
    assert missing.value.names == ["bucket"]
    assert "--bucket" in str(missing.value) and "PUBLISHER_BUCKET" in str(missing.value)


def test_an_empty_required_setting_counts_as_missing(monkeypatch):
    monkeypatch.setenv("PUBLISHER_ROLE_ARN", "")
    others = {k: v for k, v in REQUIRED.items() if k != "role_arn"}
    with pytest.raises(MissingSettings, match="--role-arn"):
        PublisherSettings.load(None, **others)


def test_an_unknown_setting_in_the_config_file_is_named(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("imgae: typo\n")
    with pytest.raises(ConfigFileError, match="imgae"):
        PublisherSettings.load(config, **REQUIRED)
