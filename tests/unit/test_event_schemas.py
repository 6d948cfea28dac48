"""The published event schemas: one per type, each with an example that satisfies it."""
import json

import pytest

from change_events import SCHEMAS, check
from chalicelib.outbox import changes, sizes


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


@pytest.mark.parametrize("kind", [k for k in changes.TYPES if k != "VersionRetired"])  # identity fields only
def test_an_event_too_large_to_publish_whole_is_trimmed_and_still_satisfies_its_schema(kind):
    # GIVEN the example with its first free-text or list field blown past the detail budget
    event = json.loads((SCHEMAS / "examples" / f"{kind}.json").read_text())
    field = next(k for k, v in event.items() if k not in sizes.IDENTITY and isinstance(v, (str, list, dict)))
    blown = [f"item-{i}" for i in range(20_000)]
    if isinstance(event[field], dict):  # a policy: its first list
        event[field] = {**event[field], next(k for k, v in event[field].items() if isinstance(v, list)): blown}
    else:
        event[field] = "x" * 100_000 if isinstance(event[field], str) else blown
    # WHEN it is fitted for the outbox and PutEvents
    fitted = sizes.fitted(event)
    # THEN it is under the budget, names what it shortened and where the whole record is, and is schema-valid
    assert len(sizes.detail(fitted).encode()) <= sizes.DETAIL_BUDGET
    assert fitted["trimmed"] == [field] and fitted["full_record"].startswith(("/models/", "/aliases/"))
    assert {k: v for k, v in fitted.items() if k not in (field, "trimmed", "full_record")} == {
        k: v for k, v in event.items() if k != field}
    check(fitted)
    assert sizes.fitted(fitted) == fitted
