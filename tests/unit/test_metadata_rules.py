"""The rules on what may be said of a version, and the alias policy's ARN patterns: pure, one test per rule."""
import pytest

from chalicelib.aliases.policy import matches
from chalicelib.errors import InvalidInput
from chalicelib.versions import metadata_rules as rules


def rule_of(call, *args) -> str:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    assert caught.value.details["rule"] in caught.value.message
    return caught.value.details["rule"]


def test_tags_at_upload_read_as_key_equals_value_separated_by_semicolons():
    assert rules.parse_tags_header("team=fraud; stage = beta;;empty=;flag") == \
        {"team": "fraud", "stage": "beta", "empty": "", "flag": ""}


def test_a_tag_key_holding_an_equals_sign_has_no_upload_form():
    assert rule_of(rules.tags_header, {"a=b": "c"}) == "tags.header"


def test_a_card_over_48_kb_in_all_is_refused_even_with_every_field_within_its_own_limit():
    card = {name: "é" * rules.MAX_CARD_TEXT for name in rules.CARD_TEXT_FIELDS}
    card["links"] = [{"title": "t", "url": "https://e.com/" + "u" * 2000} for _ in range(8)]

    assert rule_of(rules.check_card, card) == "card.size"


def test_a_metric_that_is_not_a_number_is_refused():
    assert rule_of(rules.check_card, {"metrics": {"auc": float("nan")}}) == "card.metrics"
    assert rule_of(rules.check_card, {"metrics": {"auc": True}}) == "card.metrics"


def test_the_tag_charset_is_sagemakers():
    rules.check_tags({"team:ml/a b_c.d=e+f-g@h": "v 1.2 /x:y=z+w-q@r_s"})
    assert rule_of(rules.check_tags, {"tëam": "x"}) == "tags.key"
    assert rule_of(rules.check_tags, {"team": "a;b"}) == "tags.value"


def test_an_arn_pattern_matches_whole_arns_with_star_as_any_run_of_characters():
    assert matches(["arn:aws:iam::*:role/ops"], "arn:aws:iam::123456789012:role/ops")
    assert not matches(["arn:aws:iam::*:role/ops"], "arn:aws:iam::123456789012:role/ops-intern")
    assert not matches(["arn:aws:iam::1.3:role/ops"], "arn:aws:iam::123:role/ops")  # a dot is only a dot
    assert not matches(["*"], None)
