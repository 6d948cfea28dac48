"""`mme-registry plan` reads its models from the registry: sizes, unpacked sizes, measured warm-ups, aliases."""
from __future__ import annotations

import gzip
import tarfile

from aws_fakes import ScriptedRuntime
from registry_in_process import ChaliceSession, ingest

from client.plan.catalog import from_registry
from client.registry_api import RegistryApi
from local_stack.demo.sample_models import cached_tarball


def unpacked(name: str) -> int:
    with tarfile.open(cached_tarball(name)) as archive:
        return sum(member.size for member in archive if member.isfile())


def test_a_version_records_what_it_unpacks_to_and_how_long_its_warm_up_took(app_module, api):
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {})

    version = RegistryApi("http://registry.test", session=ChaliceSession(api.http)).get_version("digits", 1)

    assert version["unpacked_size"] == unpacked("digits")
    assert version["warmup_seconds"] is not None and version["warmup_seconds"] >= 0


def test_the_plan_catalog_holds_each_served_version_with_its_sizes_warm_up_and_aliases(app_module, api):
    # GIVEN two models of different sizes, warmed at ingestion, one of them behind an alias
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "prod"})
    small = cached_tarball("digits_small").read_bytes()
    ingest(app_module, "incoming/digits_small.tar.gz", ScriptedRuntime(), {}, small)

    # WHEN the planner reads the registry over its REST API
    catalog = from_registry(RegistryApi("http://registry.test", session=ChaliceSession(api.http)))

    # THEN each latest version is a model with the sizes the registry recorded, and the alias names its target
    by_target = {entry.target_model: entry for entry in catalog.entries}
    assert set(by_target) == {"digits_v1.tar.gz", "digits_small_v1.tar.gz"}
    assert by_target["digits_small_v1.tar.gz"].compressed_bytes == len(small)
    assert by_target["digits_v1.tar.gz"].unpacked_bytes == unpacked("digits")
    assert all(entry.warmup_seconds is not None and entry.framework == "mxnet" for entry in catalog.entries)
    assert catalog.aliases == {"prod": "digits_v1.tar.gz"}
    models, line = catalog.models()
    assert line.measured == 2 and all(model.load_seconds >= 0 for model in models)


def test_an_alias_on_an_older_version_brings_that_version_into_the_catalog(app_module, api):
    # GIVEN v1 behind an alias and a v2 uploaded without moving it
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {"alias": "prod"})
    other = gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=2)
    ingest(app_module, "incoming/digits.tar.gz", ScriptedRuntime(), {}, other)

    catalog = from_registry(RegistryApi("http://registry.test", session=ChaliceSession(api.http)))

    # THEN both are served: the latest version, and the one the alias names
    assert {entry.target_model for entry in catalog.entries} == {"digits_v1.tar.gz", "digits_v2.tar.gz"}
    assert catalog.aliases == {"prod": "digits_v1.tar.gz"}
