"""Request rules and answer shapes of the API's pydantic models, without AWS."""
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from chalicelib.api import schemas as s
from chalicelib.aliases.alias_store import AliasChange, AliasRecord, AliasState, AliasTarget
from chalicelib.aliases.routes import Route
from chalicelib.records import VersionRecord

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_an_alias_names_one_version_or_latest():
    assert s.PutAlias(model="m", version=2).alias_targets() == [AliasTarget(model="m", version=2)]
    assert s.PutAlias(model="m", version="latest").follow_latest


@pytest.mark.parametrize("body", [
    {"model": "m"},
    {"version": 1},
    {"model": "m", "version": "2"},
    {"model": "m", "version": 0},
    {"model": "m", "version": True},
    {"model": "m", "version": "newest"},
    {"model": "m", "version": 1, "expected_revision": -1},
    {"model": "m", "version": 1, "expected_revison": 1},
    {"model": "", "version": 1},
])
def test_a_malformed_alias_body_is_refused(body):
    with pytest.raises(ValidationError):
        s.PutAlias.model_validate(body)


def test_weighted_targets_take_any_positive_relative_weights_and_name_each_version_once():
    percentages = s.PutAlias(targets=[{"model": "m", "version": 1, "weight": 90}, {"model": "m", "version": 2,
                                                                                   "weight": 10}])
    relative = s.PutAlias(targets=[{"model": "m", "version": 1, "weight": 3}, {"model": "m", "version": 2, "weight": 1}])
    alone = s.PutAlias(targets=[{"model": "m", "version": 1, "weight": 1}])
    assert [t.weight for t in percentages.alias_targets()] == [90, 10]
    assert [t.weight for t in relative.alias_targets()] == [3, 1] and alone.alias_targets()[0].weight == 1
    for weight in (0, -1, s.MAX_WEIGHT + 1):
        with pytest.raises(ValidationError, match="weight"):
            s.PutAlias(targets=[{"model": "m", "version": 1, "weight": weight}])
    with pytest.raises(ValidationError, match="twice"):
        s.PutAlias(targets=[{"model": "m", "version": 1, "weight": 50}, {"model": "m", "version": 1, "weight": 50}])
    with pytest.raises(ValidationError, match="not both"):
        s.PutAlias(model="m", version=1, targets=[{"model": "m", "version": 1, "weight": 100}])


def test_a_weighted_alias_has_at_most_ten_targets():
    targets = [{"model": "m", "version": v, "weight": 1} for v in range(1, 12)]
    with pytest.raises(ValidationError):
        s.PutAlias(targets=targets)


@pytest.mark.parametrize("source", ["s3://b/k", "http://bucket/key", "s3://bucket", "s3://bucket/", "s3://Bucket/k"])
def test_a_registration_source_is_an_s3_url_with_a_key(source):
    with pytest.raises(ValidationError):
        s.RegisterVersion(source=source)


def test_page_limits_default_to_50_and_stop_at_1000():
    assert s.PageQuery().limit == 50
    assert s.PageQuery.model_validate({"limit": "1000"}).limit == 1000
    for limit in ("0", "1001", "ten"):
        with pytest.raises(ValidationError):
            s.PageQuery.model_validate({"limit": limit})


def test_upload_links_last_between_a_minute_and_twelve_hours():
    assert s.RequestUpload().expires_in == 3600
    for seconds in (59, 43201):
        with pytest.raises(ValidationError):
            s.RequestUpload(expires_in=seconds)


def test_an_alias_view_names_its_heaviest_target_and_lists_all_with_target_models():
    record = AliasRecord(alias="canary", revision=4, created_at=NOW, updated_at=NOW, updated_by="ada",
                         targets=[AliasTarget(model="m", version=2, weight=10),
                                  AliasTarget(model="m", version=1, weight=90)])

    view = s.AliasView.of(record, [Route("tensorflow", "endpoint-tf"), Route("mxnet", "endpoint-1")])

    assert (view.model, view.version, view.target_model, view.endpoint) == ("m", 1, "m_v1.tar.gz", "endpoint-1")
    assert [(t.target_model, t.framework, t.endpoint) for t in view.targets] == [
        ("m_v2.tar.gz", "tensorflow", "endpoint-tf"), ("m_v1.tar.gz", "mxnet", "endpoint-1")]


def test_a_history_entry_reads_from_and_to():
    change = AliasChange(alias="prod", revision=1, action="create", before=None,
                         after=AliasState(targets=[AliasTarget(model="m", version=1)]), at=NOW, by="ada")

    dumped = s.ChangeView.of(change).model_dump(mode="json")

    assert dumped["from"] is None
    assert dumped["to"]["targets"][0]["target_model"] == "m_v1.tar.gz"
    assert "from_" not in dumped


def test_a_version_view_leaves_internal_fields_out():
    record = VersionRecord(name="m", version=1, target_key="models/m_v1.tar.gz", target_model="m_v1.tar.gz",
                           sha256="0" * 64, size=1, layout="mxnet", source_key="incoming/m.tar.gz", source_etag="e",
                           event_id="secret-event", created_at=NOW)

    dumped = s.VersionView.of(record).model_dump()

    assert "event_id" not in dumped and "source_etag" not in dumped
    assert dumped["target_model"] == "m_v1.tar.gz"
