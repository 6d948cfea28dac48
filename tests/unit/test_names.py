"""The naming rules, one test per rule."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.names import (
    IncomingName,
    local_actor,
    parse_incoming_key,
    parse_target_model,
    rejected_key,
    report_key,
    target_key,
    target_model,
    validate_alias_name,
    validate_model_name,
)


def test_a_plain_drop_key_names_the_model():
    assert parse_incoming_key("incoming/resnet_18.tar.gz") == IncomingName("resnet_18", None)


def test_a_dotted_version_inside_the_name_is_not_a_hint():
    assert parse_incoming_key("incoming/team-a/squeezenet_v1.0.tar.gz") == IncomingName("team-a/squeezenet_v1.0", None)


def test_a_trailing_v_number_is_a_version_hint():
    assert parse_incoming_key("incoming/resnet_18_v2.tar.gz") == IncomingName("resnet_18", 2)


def test_a_custom_drop_prefix_is_honoured():
    assert parse_incoming_key("drop/x/m_v7.tar.gz", incoming_prefix="drop/x/") == IncomingName("m", 7)


@pytest.mark.parametrize("key", ["incoming/resnet_18.tgz", "incoming/resnet_18.tar", "incoming/resnet_18.zip"])
def test_only_tar_gz_keys_are_accepted(key):
    with pytest.raises(InvalidInput, match=r"must end in '\.tar\.gz'"):
        parse_incoming_key(key)


def test_a_key_outside_the_drop_folder_is_refused():
    with pytest.raises(InvalidInput, match="not under the drop folder"):
        parse_incoming_key("models/resnet_18_v1.tar.gz")


def test_a_hint_on_a_name_that_still_ends_in_a_version_is_refused():
    with pytest.raises(InvalidInput, match=r"_v<digits>"):
        parse_incoming_key("incoming/resnet_v1_v2.tar.gz")


@pytest.mark.parametrize("name", ["resnet_18", "team-a/squeezenet_v1.0", "A/b/c/d", "x" * 64, "m.v2", "m_v2x"])
def test_names_in_the_safe_set_are_accepted(name):
    assert validate_model_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "_x",
        "-x",
        ".hidden",
        "a/",
        "/a",
        "a//b",
        "a b",
        "résnet",
        "ｒesnet",
        "a\nb",
        "resnet\n",
        "a/b/c/d/e",
        "x" * 65,
        "a\\b",
        "a:b",
        "a+b",
    ],
)
def test_names_outside_the_safe_set_are_refused_with_the_rule(name):
    with pytest.raises(InvalidInput, match="a model name is 1 to 4 segments"):
        validate_model_name(name)


def test_names_longer_than_200_characters_are_refused():
    name = "/".join(["x" * 60] * 4)
    assert len(name) > 200
    with pytest.raises(InvalidInput, match="at most 200 characters"):
        validate_model_name(name)


def test_double_dots_are_refused_even_inside_a_segment():
    with pytest.raises(InvalidInput, match=r"contains '\.\.'"):
        validate_model_name("a..b")


@pytest.mark.parametrize("name", ["resnet_v2", "team/m_v10", "m_v0"])
def test_a_name_ending_in_a_version_is_refused_as_ambiguous(name):
    with pytest.raises(InvalidInput, match="how versions are spelled"):
        validate_model_name(name)


def test_the_target_key_appends_the_version_under_the_models_prefix():
    assert target_key("resnet_18", 2) == "models/resnet_18_v2.tar.gz"
    assert target_key("team-a/squeezenet_v1.0", 3, models_prefix="m/") == "m/team-a/squeezenet_v1.0_v3.tar.gz"


def test_the_target_model_is_the_key_without_the_prefix():
    assert target_model("team-a/squeezenet_v1.0", 3) == "team-a/squeezenet_v1.0_v3.tar.gz"


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "2"])
def test_versions_are_whole_numbers_from_one(version):
    with pytest.raises(InvalidInput, match="whole numbers from 1"):
        target_model("resnet_18", version)


@pytest.mark.parametrize("name,version", [("resnet_18", 2), ("team-a/squeezenet_v1.0", 3), ("m", 12345)])
def test_parse_target_model_inverts_target_model(name, version):
    assert parse_target_model(target_model(name, version)) == (name, version)


@pytest.mark.parametrize("value", ["resnet_18.tar.gz", "resnet_18_v2.tgz", "_v2.tar.gz", "resnet_18_v0.tar.gz", "a b_v1.tar.gz"])
def test_parse_target_model_refuses_anything_that_is_not_a_version(value):
    with pytest.raises(InvalidInput):
        parse_target_model(value)


def test_the_rejected_key_carries_the_utc_stamp_the_etag_head_and_the_event():
    stamp = datetime(2024, 5, 6, 9, 8, 7, tzinfo=timezone(timedelta(hours=2)))
    key = rejected_key("team-a/m", stamp, '"0123ABCDef99"', "e1")
    assert key == "rejected/team-a/m/20240506T070807Z-0123abcd-e1.tar.gz"


def test_identical_uploads_in_the_same_second_get_different_rejected_keys():
    stamp = datetime(2024, 5, 6, 9, 8, 7, tzinfo=timezone.utc)
    assert rejected_key("m", stamp, "0123abcd", "event-a") != rejected_key("m", stamp, "0123abcd", "event-b")


def test_an_event_id_that_is_not_key_safe_is_refused():
    with pytest.raises(InvalidInput, match="event id"):
        rejected_key("m", datetime(2024, 1, 1), "0123abcd", "../x")


def test_a_naive_stamp_is_taken_as_utc_and_multipart_etags_work():
    key = rejected_key("m", datetime(2024, 1, 2, 3, 4, 5), "d41d8cd98f00b204e9800998ecf8427e-2", "e1",
                       rejected_prefix="r/")
    assert key == "r/m/20240102T030405Z-d41d8cd9-e1.tar.gz"


def test_an_etag_without_eight_hex_digits_is_refused():
    with pytest.raises(InvalidInput, match="8 hexadecimal digits"):
        rejected_key("m", datetime(2024, 1, 1), '"abc"', "e1")


def test_the_report_sits_beside_the_rejected_upload():
    assert report_key("rejected/m/20240102T030405Z-d41d8cd9.tar.gz") == "rejected/m/20240102T030405Z-d41d8cd9.json"


@pytest.mark.parametrize("alias", ["classifier", "resnet@prod", "a.b_c-d", "x" * 128, "v1beta", "latest2", "V"])
def test_aliases_in_the_safe_set_are_accepted(alias):
    assert validate_alias_name(alias) == alias


@pytest.mark.parametrize("alias", ["", "x" * 129, "a/b", "a b", "clé", "a\n", "prod!"])
def test_aliases_outside_the_safe_set_are_refused_with_the_rule(alias):
    with pytest.raises(InvalidInput, match="an alias is 1 to 128 ASCII characters"):
        validate_alias_name(alias)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest", "v1", "V12", "v0"])
def test_latest_and_v_digits_are_reserved_aliases(alias):
    with pytest.raises(InvalidInput, match="reserved"):
        validate_alias_name(alias)


@pytest.mark.parametrize("name", ["alice", "a", "ada.lovelace", "ci_bot-2", "alice+ops@example.com", "A" * 64])
def test_a_local_identity_is_recorded_as_local_name(name):
    assert local_actor(name) == f"local:{name}"


def test_a_local_identity_sent_with_its_prefix_is_not_prefixed_twice():
    assert local_actor("local:alice") == "local:alice"


@pytest.mark.parametrize("name", ["", "local:", "A" * 65, "alice smith", "-alice", ".alice", "al*ce", "ali\nce",
                                  "arn:aws:iam::123456789012:role/ops", "team/alice", "alicé", "local:local:alice"])
def test_a_local_identity_outside_the_rule_is_refused_with_the_rule(name):
    with pytest.raises(InvalidInput, match="a local identity is 1 to 64 ASCII characters"):
        local_actor(name)
