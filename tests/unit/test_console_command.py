"""`python -m client console` hands the process over to `python -m console` with the options it was given."""
import argparse

import pytest

from client.cli import build_parser
from client.console_cmd import add_options, console_argv


@pytest.mark.parametrize("given", [
    [],
    ["--port", "0"],
    ["--registry-url", "https://abc.execute-api.eu-west-1.amazonaws.com/prod", "--iam", "--region", "eu-west-1"],
    ["--gateway-url", "http://127.0.0.1:8080", "--port", "8002", "--registry-url", "http://127.0.0.1:8000"],
])
def test_the_console_command_hands_every_option_over_unchanged(given):
    args = build_parser(["console"]).parse_args(["console", *given])
    console = argparse.ArgumentParser()
    add_options(console)

    handed_over = console.parse_args(console_argv(args))

    assert vars(handed_over) == {name: value for name, value in vars(args).items() if name in vars(handed_over)}
    assert vars(handed_over) == vars(console.parse_args(given))
