"""How `mme-registry describe|tag|card|approve|history|search` and `alias policy` read their arguments."""
import pytest

from client.cli import build_parser, main
from client.registry_api import filled
from client.versions_cmd import edited_card


def parse(*argv: str):
    return build_parser(list(argv)).parse_args(list(argv))


def test_tag_reads_pairs_split_at_the_first_equals_sign_and_keys_to_remove():
    args = parse("tag", "digits", "2", "team=fraud", "query=a=b", "--remove", "stage", "--remove", "old")

    assert (args.model, args.version, args.run.__name__) == ("digits", 2, "run_tag")
    assert args.tags == [("team", "fraud"), ("query", "a=b")] and args.remove == ["stage", "old"]


@pytest.mark.parametrize("argv, says", [
    (("tag", "digits", "2", "team"), "expected KEY=VALUE, got 'team'"),
    (("tag", "digits", "2", "=fraud"), "expected KEY=VALUE"),
    (("card", "digits", "2", "--set", "colour=red"), "'colour' is not a card field"),
    (("card", "digits", "2", "--metric", "accuracy=high"), "metric 'accuracy': 'high' is not a number"),
    (("card", "digits", "2", "--link", "https://example.com"), "expected TITLE=URL"),
    (("search", "--tag", "team=fraud"), "expected KEY:VALUE"),
    (("approve", "digits", "2"), "the following arguments are required: --reason"),
    (("approve", "digits", "2", "--reason", "x", "--reject", "--pending"), "not allowed with argument"),
    (("describe", "digits", "two", "text"), "invalid int value: 'two'"),
    (("alias", "policy", "prod", "--show", "--delete"), "not allowed with argument"),
])
def test_a_malformed_argument_is_a_usage_error_that_names_what_was_expected(argv, says, capsys):
    with pytest.raises(SystemExit) as exited:
        parse(*argv)

    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_card_reads_fields_metrics_as_numbers_and_links():
    args = parse("card", "digits", "2", "--set", "owner=team-fraud", "--metric", "accuracy=0.93",
                 "--metric", "epochs=12", "--link", "run=https://ci.example/run?id=7")

    assert args.set == [("owner", "team-fraud")]
    assert args.metric == [("accuracy", 0.93), ("epochs", 12)]
    assert args.link == [{"title": "run", "url": "https://ci.example/run?id=7"}]


def test_an_edited_card_keeps_what_was_not_named_and_replaces_what_was():
    card = {"owner": "a", "license": "MIT", "metrics": {"accuracy": 0.9, "f1": 0.8},
            "links": [{"title": "run", "url": "https://old"}, {"title": "commit", "url": "https://c"}]}

    edited = edited_card(card, [("owner", "b"), ("license", "")], [("accuracy", 0.95)],
                         [{"title": "run", "url": "https://new"}])

    assert edited == {"owner": "b", "metrics": {"accuracy": 0.95, "f1": 0.8},
                      "links": [{"title": "commit", "url": "https://c"}, {"title": "run", "url": "https://new"}]}
    assert card["owner"] == "a"  # the card read is not changed in place


def test_approve_defaults_to_approved_and_reject_and_pending_say_otherwise():
    assert parse("approve", "digits", "2", "--reason", "ok").verdict is None
    assert parse("approve", "digits", "2", "--reason", "bad", "--reject").verdict == "reject"
    assert parse("approve", "digits", "2", "--reason", "again", "--pending").verdict == "pending"


def test_search_takes_a_query_repeated_tags_a_framework_and_a_models_approval():
    args = parse("search", "resnet", "--tag", "team:fraud", "--tag", "stage:prod", "--framework", "mxnet")
    versions = parse("search", "--model", "digits", "--approval", "Approved")

    assert (args.query, args.tag, args.framework, args.run.__name__) == (
        "resnet", ["team:fraud", "stage:prod"], "mxnet", "run_search")
    assert (versions.query, versions.model, versions.approval) == (None, "digits", "Approved")


def test_alias_policy_tells_an_option_not_given_from_one_given_empty():
    args = parse("alias", "policy", "prod", "--movers", "arn:aws:iam::1:role/deployer*", "--require",
                 "approved, warmed")
    cleared = parse("alias", "policy", "prod", "--movers", "--require", "")

    assert (args.movers, args.approvers, args.require) == (["arn:aws:iam::1:role/deployer*"], None,
                                                          ["approved", "warmed"])
    assert (cleared.movers, cleared.require) == ([], [])
    assert parse("alias", "policy", "prod").run.__name__ == "run_policy"


def test_search_options_that_cannot_go_together_are_a_usage_error(capsys):
    mixed = main(["search", "dig", "--model", "digits"])
    mixed_err = " ".join(capsys.readouterr().err.split())
    orphan = main(["search", "--approval", "Approved"])
    orphan_err = " ".join(capsys.readouterr().err.split())

    assert mixed == orphan == 2
    assert "with --model, search that model's versions by --tag and --approval only" in mixed_err
    assert "--approval filters one model's versions: give --model too" in orphan_err


def pages_of(*pages: list):
    """A filtered listing as the registry pages it: each call answers the next page, short or empty."""
    calls = []

    def fetch(limit: int, token: str | None) -> dict:
        index = int(token or 0)
        calls.append((limit, token))
        more = index + 1 < len(pages)
        return {"items": pages[index][:limit], "next_token": str(index + 1) if more else None}

    fetch.calls = calls
    return fetch


def test_a_search_reads_on_while_its_pages_come_back_short():
    fetch = pages_of([], ["a"], [], ["b", "c"], ["d"])

    assert filled(fetch, 3) == {"items": ["a", "b", "c"], "next_token": "4"}
    assert fetch.calls == [(3, None), (3, "1"), (2, "2"), (2, "3")]


def test_a_search_matching_nothing_stops_after_its_reads_and_says_where_to_go_on():
    fetch = pages_of(*([[]] * 20))

    assert filled(fetch, 5, reads=4) == {"items": [], "next_token": "4"}


def test_a_card_file_that_is_not_a_json_object_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "list.json").write_text("[1, 2]")

    with pytest.raises(SystemExit):
        parse("card", "digits", "2", "--from-json", str(tmp_path / "list.json"))
    with pytest.raises(SystemExit):
        parse("card", "digits", "2", "--from-json", str(tmp_path / "missing.json"))

    said = capsys.readouterr().err
    assert "list.json holds no card: expected a JSON object" in said and "cannot read a card from" in said
