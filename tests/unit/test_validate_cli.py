"""`python -m client validate`, run in-process: readable reports, JSON, and exit statuses."""
import json
import os

import pytest

from chalicelib.settings import Settings, get_settings
from chalicelib.validation import Limits
from client.cli import COMMAND_MODULES, build_parser, main, modules_for
from client.validate_cmd import limits
from hostile_tarballs import ALL_CASES, tgz, valid_mxnet


@pytest.fixture
def tarballs(tmp_path):
    good = tmp_path / "good.tar.gz"
    good.write_bytes(valid_mxnet())
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(tgz({"model/model-symbol.json": b"{}"}))
    return good, bad


def test_a_valid_tarball_prints_ok_with_its_facts_and_exits_zero(tarballs, capsys):
    good, _ = tarballs

    status = main(["validate", str(good)])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith(f"{good}: OK")
    assert "mxnet (prefix model, input data [1, 8], 3 labels)" in out
    assert "4 files, 0 directories" in out


def test_an_invalid_tarball_prints_each_broken_rule_and_exits_one(tarballs, capsys):
    good, bad = tarballs

    status = main(["validate", str(good), str(bad)])

    out = capsys.readouterr().out
    assert status == 1
    assert f"{bad}: INVALID (1 rule)" in out
    assert "✗ mxnet.not_at_root  the MXNet files sit in folder 'model/'" in out


def test_json_output_is_one_report_per_file(tarballs, capsys):
    good, bad = tarballs

    status = main(["validate", "--json", str(good), str(bad)])

    reports = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [(r["file"], r["valid"]) for r in reports] == [(str(good), True), (str(bad), False)]
    assert reports[1]["failures"][0]["rule"] == "mxnet.not_at_root"


def test_the_three_hostile_tensorflow_signatures_are_each_refused_by_a_rule_in_a_short_report(tmp_path, capsys):
    # GIVEN 500,000 dimensions, 300 dimensions of 2**62, 60,000 signatures and no serving_default
    names = ("tf_input_of_500000_dimensions", "tf_input_of_300_dimensions_of_2_62",
             "tf_60000_signatures_without_serving_default")
    cases = [case for case in ALL_CASES if case.name in names]
    paths = [tmp_path / f"{case.name}.tar.gz" for case in cases]
    for case, path in zip(cases, paths):
        path.write_bytes(case.build())

    # WHEN they are validated
    status = main(["validate", *map(str, paths)])

    # THEN each is invalid by its rule, in a few lines
    out, err = capsys.readouterr()
    assert status == 1 and err == ""
    for case, path in zip(cases, paths):
        assert f"{path}: INVALID (1 rule)" in out and f"✗ {case.rule_id}" in out
    assert len(cases) == 3 and len(out) < 3 * 1000


def test_an_unreadable_file_is_reported_and_fails(tmp_path, capsys):
    status = main(["validate", str(tmp_path / "missing.tar.gz")])

    assert status == 1
    assert "cannot read" in capsys.readouterr().out


def test_no_file_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])

    assert exit_info.value.code == 2


def test_without_registry_variables_the_limits_are_the_settings_defaults(monkeypatch):
    for name in [name for name in os.environ if name.upper().startswith("REGISTRY_")]:
        monkeypatch.delenv(name)

    assert limits() == Limits.from_settings(Settings())


@pytest.fixture
def fresh_settings():
    """get_settings() is cached for the process: read it anew, and leave no test's variables in it."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_registry_variable_reaches_the_limits(monkeypatch, fresh_settings):
    monkeypatch.setenv("REGISTRY_MAX_MEMBERS", "3")

    assert limits().max_members == 3


@pytest.mark.parametrize("argv,modules", [
    (["validate", "a.tar.gz"], ["client.validate_cmd"]),
    (["--json", "alias", "get", "x"], ["client.commands"]),
    (["--help"], list(COMMAND_MODULES)),
    (["frobnicate"], list(COMMAND_MODULES)),
])
def test_only_the_named_commands_module_is_imported(argv, modules):
    assert modules_for(argv) == modules


def test_every_command_is_listed_with_its_module():
    parser = build_parser()
    listed = {command for commands in COMMAND_MODULES.values() for command in commands}

    assert set(parser._subparsers._group_actions[0].choices) == listed


def test_validate_counts_the_reference_samples_and_names_a_broken_one(tmp_path, capsys):
    from hostile_tarballs import mxnet_files

    good, bad = tmp_path / "sampled.tar.gz", tmp_path / "bad-sample.tar.gz"
    good.write_bytes(tgz({**mxnet_files(), "samples/a.json": b"[1]", "samples/b.json": b"[2]"}))
    bad.write_bytes(tgz({**mxnet_files(), "samples/a.json": b"[1"}))

    status = main(["validate", str(good), str(bad)])

    out = capsys.readouterr().out
    assert status == 1
    assert "3 labels, 2 reference samples)" in out
    assert "✗ samples.json  'samples/a.json' is not one JSON document" in out
