"""mme-registry rollout: what its options read as, and the body it sends."""
import argparse

import pytest

from client.cli import build_parser
from client.rollout_cmd import duration, steps, target


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("90s", 90), ("1h", 3600), ("45", 45), ("1.5m", 90)])
def test_a_bake_reads_as_seconds_minutes_or_hours(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("bad, parse", [("ten minutes", duration), ("fraud", target), ("fraud:v3", target),
                                        ("5,x,100", steps)])
def test_an_option_that_does_not_read_says_what_it_expects(bad, parse):
    with pytest.raises(argparse.ArgumentTypeError, match="such as"):
        parse(bad)


def test_the_rollout_command_reads_its_candidate_steps_and_thresholds():
    args = build_parser(["rollout"]).parse_args(["rollout", "fraud-prod", "--to", "fraud:3", "--steps", "5,25,50,100",
                                                 "--bake", "10m", "--max-error-rate", "0.01", "--max-p99-ratio",
                                                 "1.2", "--min-requests", "200", "--wait"])
    assert (args.alias, args.to, args.steps, args.bake) == ("fraud-prod", ("fraud", 3), [5, 25, 50, 100], 600)
    assert (args.max_error_rate, args.max_p99_ratio, args.min_requests, args.wait) == (0.01, 1.2, 200, True)
    assert build_parser(["rollout"]).parse_args(["rollout", "fraud-prod"]).min_requests is None  # the registry's
