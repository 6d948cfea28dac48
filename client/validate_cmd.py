"""`python -m client validate FILE...`: the registry's own checks, run before an upload.

Why locally: the same validator the ingest Lambda runs, with the same limits
(REGISTRY_* settings), so a bad tarball is caught in seconds instead of
turning up later in `rejected/`. The validator is imported only once a file is checked,
and the settings only when a REGISTRY_ variable could change a limit (pydantic-settings
alone takes longer to import than `validate --help` may take to answer).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .registry_code import Limits, ValidationReport


def add_commands(commands: argparse._SubParsersAction) -> None:
    validate = commands.add_parser(
        "validate",
        help="check model tarballs the way the registry will",
        description="Validates each FILE (.tar.gz) with the registry's layout and safety rules. "
        "Exit status: 0 when every file is valid, 1 otherwise.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print the reports as a JSON list")
    validate.set_defaults(run=run_validate)


def limits() -> Limits:
    """The registry's limits: the defaults unless a REGISTRY_ variable is set, then the settings' (as the Lambda)."""
    from .registry_code import Limits

    if not any(name.upper().startswith("REGISTRY_") for name in os.environ):
        return Limits()  # what Settings() gives with no REGISTRY_ variable (tests/unit/test_validate_cli.py)
    from .registry_code import get_settings

    return Limits.from_settings(get_settings())


def run_validate(args: argparse.Namespace) -> int:
    from .registry_code import validate_file

    limits_ = limits()
    results: list[tuple[Path, ValidationReport | None, str | None]] = []
    for path in args.files:
        try:
            results.append((path, validate_file(path, limits_), None))
        except OSError as error:
            results.append((path, None, f"cannot read {path}: {error.strerror or error}"))
    if args.json:
        print(json.dumps([_as_json(path, report, error) for path, report, error in results], indent=2))
    else:
        for path, report, error in results:
            print(describe(path, report) if report else f"{path}: ERROR\n  {error}")
    return 0 if all(report and report.valid for _, report, _ in results) else 1


def _as_json(path: Path, report: ValidationReport | None, error: str | None) -> dict:
    if report is None:
        return {"file": str(path), "valid": False, "error": error}
    return {"file": str(path), **report.as_json()}


def describe(path: Path, report: ValidationReport) -> str:
    """A report in a few lines a person reads: the verdict first, then the facts, then each broken rule."""
    from .registry_code import human_size

    files = sum(1 for member in report.members if member.type == "file")
    verdict = "OK" if report.valid else f"INVALID ({len(report.failures)} rule{'s' if len(report.failures) > 1 else ''})"
    lines = [f"{path}: {verdict}", f"  layout    {_layout(report)}"]
    lines.append(f"  members   {files} files, {len(report.members) - files} directories")
    lines.append(f"  size      {human_size(report.compressed_bytes)} compressed, "
                 f"{human_size(report.uncompressed_bytes)} unpacked")
    lines.append(f"  sha256    {report.sha256}")
    width = max((len(failure.rule) for failure in report.failures), default=0)
    lines += [f"  ✗ {failure.rule:<{width}}  {failure.message}" for failure in report.failures]
    return "\n".join(lines)


def _layout(report: ValidationReport) -> str:
    if report.layout is None:
        return "unknown"
    details = []
    if report.prefix:
        details.append(f"prefix {report.prefix}")
    for shape in report.input_shapes or []:
        dtype = f" {shape['dtype']}" if "dtype" in shape else ""
        details.append(f"input {shape['name']}{dtype} {shape['shape']}")
    if report.labels_count is not None:
        details.append(f"{report.labels_count} labels")
    if report.samples:
        details.append(f"{len(report.samples)} reference samples")
    return report.layout + (f" ({', '.join(details)})" if details else "")
