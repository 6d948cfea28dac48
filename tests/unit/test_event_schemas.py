"""The published event schemas: one per type, each with an example that satisfies it."""
import json

import pytest

from change_events import SCHEMAS, check
from chalicelib.outbox import changes


@pytest.mark.parametrize("kind", changes.TYPES)
def test_every_event_type_has_a_schema_and_an_example_that_satisfies_it(kind):
    example = json.loads((SCHEMAS / "examples" / f"{kind}.json").read_text())
    assert example["type"] == kind
    check(example)


def test_an_event_id_depends_only_on_the_change_it_names():
    assert changes.event_id("AliasMoved", "prod", 3) == changes.event_id("AliasMoved", "prod", 3)
    assert changes.event_id("AliasMoved", "prod", 3) != changes.event_id("AliasMoved", "prod", 4)
    assert changes.event_id("VersionRetired", "m", 1) != changes.event_id("ModelVersionRegistered", "m", 1)


def test_a_schema_refuses_an_event_without_its_actor():
    example = json.loads((SCHEMAS / "examples" / "AliasMoved.json").read_text())
    del example["actor"]
    with pytest.raises(Exception, match="actor"):
        check(example)
