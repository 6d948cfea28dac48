"""The version page's tag form: text to tags and back, and what an edit sends."""
import pytest

from console.pages_versions import parse_tags, tag_changes, tags_text


def test_lines_split_at_the_first_equals_sign_and_blank_lines_are_skipped():
    assert parse_tags("team=fraud\r\n\n  query = a=b  \nempty=\n") == {"team": "fraud", "query": "a=b", "empty": ""}


def test_a_tag_whose_key_holds_an_equals_sign_reads_back_as_itself():
    tags = {"a=b": "c", "a": "x"}

    assert parse_tags(tags_text(tags), tuple(tags)) == tags
    assert tag_changes(tags, parse_tags(tags_text(tags), tuple(tags))) == {}


@pytest.mark.parametrize("text, line", [("team", 1), ("team=fraud\n=orphan", 2)])
def test_a_line_without_a_key_and_an_equals_sign_is_refused_by_its_number(text, line):
    with pytest.raises(ValueError, match=f"tags, line {line}: expected key=value"):
        parse_tags(text)


def test_an_edit_sends_changed_tags_and_null_for_each_removed_one():
    assert tag_changes({"team": "fraud", "stage": "candidate", "owner": "ada"},
                       {"team": "risk", "owner": "ada", "new": "1"}) == {"team": "risk", "new": "1", "stage": None}
