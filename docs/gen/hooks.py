"""MkDocs hooks (mkdocs.yml `hooks:`): the reference pages are written from the code at every build, never
committed, so they cannot drift: the CLI from its argparse parsers, the REST API from the OpenAPI document
the app serves, the change events from their JSON schemas. Their sibling modules hold the renderers."""
from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

import api_reference
import cli_reference
import events_reference

ROOT = Path(__file__).resolve().parents[2]


def on_config(config):
    """The repository's packages (client, publisher) and the Chalice app (app, chalicelib) become importable."""
    for folder in (ROOT, ROOT / "registry_app"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    return config


def on_files(files: Files, config) -> Files:
    pages = {
        "reference/cli.md": cli_reference.page(),
        "reference/rest-api.md": api_reference.page(),
        "reference/events.md": events_reference.page(ROOT / "events" / "schemas" / "v1", ROOT),
    }
    for uri, text in pages.items():
        files.append(File.generated(config, uri, content=text))
    return files
