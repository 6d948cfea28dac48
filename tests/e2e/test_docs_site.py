"""`make docs`: the site builds with mkdocs --strict (a broken link, a page missing from the nav or a bad anchor
fails it), and its generated reference pages say what the code says: every CLI command and flag, every REST
route with its parameters, body schemas and statuses, every field of every change event."""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chalice.test import Client

REPO = Path(__file__).resolve().parents[2]
HEADING = re.compile(r"<h([1-4]) id=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                           cwd=REPO, capture_output=True, text=True, timeout=180,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-4000:]
    return out


def text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).replace("¶", " ").split())


def sections(page: Path) -> dict[str, str]:
    """Each heading's text -> the text up to the next heading, from a built page."""
    markup = page.read_text()
    found = list(HEADING.finditer(markup))
    return {text(h.group(3)): text(markup[h.end():found[i + 1].start() if i + 1 < len(found) else len(markup)])
            for i, h in enumerate(found)}


def anchors(page: Path) -> set[str]:
    return {h.group(2) for h in HEADING.finditer(page.read_text())}


def nav_pages(nav) -> list[str]:
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        yield from nav_pages(value) if isinstance(value, list) else [value]


def test_the_strict_build_writes_every_page_of_the_nav(site):
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]

    missing = [page for page in nav_pages(nav) if not (site / page.replace(".md", ".html")).exists()]

    assert not missing
    assert (site / "console" / "model.png").exists() and (site / "architecture.svg").exists()


def served_openapi() -> dict:
    sys.path.insert(0, str(REPO / "registry_app"))
    import app

    with Client(app.app, stage_name="local") as client:
        return json.loads(client.http.get("/openapi.json").body)


def test_the_rest_api_reference_has_every_route_parameter_body_schema_and_status(site):
    # GIVEN the document the app serves and the page the build rendered from it
    document, page = served_openapi(), site / "reference" / "rest-api.html"
    found, ids = sections(page), anchors(page)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            # THEN each operation has its section, naming its parameters and every status it answers
            section = found[f"{method.upper()} {path}"]
            assert all(p["name"] in section for p in operation.get("parameters", [])), (method, path)
            assert all(re.search(rf"\b{status}\b", section) for status in operation["responses"]), (method, path)
            # AND every schema it takes or answers is a section of the page (the links to it resolve)
            bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json", {})]
            bodies += [answer.get("content", {}).get("application/json", {})
                       for answer in operation["responses"].values()]
            for body in bodies:
                ref = body.get("schema", {}).get("$ref")
                assert ref is None or ref.rsplit("/", 1)[-1].lower() in ids, ref
    for name, schema in document["components"]["schemas"].items():
        assert all(field in found[name] for field in schema.get("properties", {})), name


def parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def test_the_cli_reference_has_every_command_and_flag_of_both_parsers(site):
    from client.cli import build_parser as client_parser
    from publisher.cli import build_parser as publisher_parser

    found = sections(site / "reference" / "cli.html")
    for root, installed in ((client_parser(), "mme-registry"), (publisher_parser(), "mme-registry-publisher")):
        for parser in parsers(root):
            section = found[installed + parser.prog.removeprefix(root.prog)]
            flags = [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]
            assert all(flag in section for flag in flags if flag != "--help"), parser.prog


def test_the_events_reference_has_every_field_and_the_example_of_each_event(site):
    found = sections(site / "reference" / "events.html")
    for schema_file in sorted((REPO / "events" / "schemas" / "v1").glob("*.json")):
        schema = json.loads(schema_file.read_text())
        example = json.loads((schema_file.parent / "examples" / schema_file.name).read_text())
        section = found[schema["title"]]
        assert all(field in section for field in schema["properties"]), schema_file.name
        assert example["event_id"] in section

