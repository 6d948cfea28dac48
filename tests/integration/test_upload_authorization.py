"""Who may change what: an upload moves only aliases of its own model, and the actor is a verified identity."""
import gzip
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from chalicelib.events import S3Upload
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")

PRINCIPAL = "AWS:AIDAEXAMPLEUPLOADER"
API_ROLE_ID = "AROAEXAMPLEAPIROLE"
API_SESSION = f"AWS:{API_ROLE_ID}:mme-registry-prod-api"  # how S3 names a request signed by the API function
ADA = "arn:aws:iam::123456789012:user/ada"


def tarball(mtime: int = 0) -> bytes:
    """The digits model; a different mtime gives different bytes for the same content."""
    return gzip.compress(gzip.decompress(cached_tarball("digits").read_bytes()), mtime=mtime)


def drop(emulator, app, key: str, body: bytes, metadata: dict, principal: str = PRINCIPAL):
    """Puts `key` and delivers its notification the way S3 does in AWS: with the verified principal."""
    emulator.drop(key, body, metadata=metadata)
    return deliver(emulator, app, key, principal)


def deliver(emulator, app, key: str, principal: str):
    """The notification of `key` as S3 sends it in AWS, naming the principal it verified (the emulator's name none)."""
    head = emulator.s3.head_object(Bucket=emulator.settings.bucket, Key=key)
    upload = S3Upload(bucket=emulator.settings.bucket, key=key, etag=head["ETag"].strip('"'),
                      size=head["ContentLength"], version_id=head.get("VersionId"), principal=principal)
    return app.get_ingestor().ingest(upload)


def test_an_upload_of_another_model_cannot_take_over_an_alias(emulator, emulated_app):
    # GIVEN fraud-prod points at model fraud
    drop(emulator, emulated_app, "incoming/fraud.tar.gz", tarball(1), {"alias": "fraud-prod"})
    assert emulated_app.get_aliases().get("fraud-prod").targets[0].model == "fraud"
    # WHEN an upload of model scratch asks for fraud-prod
    record = drop(emulator, emulated_app, "incoming/scratch.tar.gz", tarball(2), {"alias": "fraud-prod"})
    # THEN scratch v1 exists, but the alias stays on fraud and the record says why and what to do
    assert record.outcome == "accepted" and record.version == 1
    assert record.aliases == {
        "fraud-prod": "refused: alias fraud-prod points at model fraud; move it through the API"}
    alias = emulated_app.get_aliases().get("fraud-prod")
    assert (alias.targets[0].model, alias.targets[0].version, alias.revision) == ("fraud", 1, 1)


def test_an_upload_may_create_an_alias_and_move_one_that_follows_its_model(emulator, emulated_app):
    first = drop(emulator, emulated_app, "incoming/fraud.tar.gz", tarball(1), {"alias": "fraud-prod"})
    second = drop(emulator, emulated_app, "incoming/fraud.tar.gz", tarball(2), {"alias": "fraud-prod"})

    assert first.aliases == {"fraud-prod": "created at v1"}
    assert second.aliases == {"fraud-prod": "moved to v2"}


def test_a_split_alias_that_includes_another_model_is_refused(emulator, emulated_app):
    from chalicelib.aliases.alias_store import AliasTarget

    drop(emulator, emulated_app, "incoming/fraud.tar.gz", tarball(1), {})
    drop(emulator, emulated_app, "incoming/scratch.tar.gz", tarball(2), {})
    split = [AliasTarget(model="fraud", version=1, weight=90), AliasTarget(model="scratch", version=1, weight=10)]
    emulated_app.get_aliases().point("canary", split, False, None, "ops")

    record = drop(emulator, emulated_app, "incoming/scratch.tar.gz", tarball(3), {"alias": "canary"})

    assert record.aliases["canary"].startswith("refused: alias canary points at model fraud")
    assert emulated_app.get_aliases().get("canary").targets == split


def test_the_actor_is_the_verified_principal_and_the_typed_uploader_only_a_claim(emulator, emulated_app):
    # WHEN mallory's PUT says x-amz-meta-uploader: ada
    drop(emulator, emulated_app, "incoming/fraud.tar.gz", tarball(1), {"alias": "fraud-prod", "uploader": "ada"},
         principal="AWS:AIDAMALLORY")
    # THEN the version and the alias history name the principal S3 verified; "ada" is kept as a labelled claim
    version = emulated_app.get_store().get_version("fraud", 1)
    assert (version.uploader, version.claimed_uploader) == ("AWS:AIDAMALLORY", "ada")
    assert "uploader" not in version.metadata
    [change], _ = emulated_app.get_alias_store().history("fraud-prod", 10, None)
    assert change.by == "AWS:AIDAMALLORY"
    assert emulated_app.get_aliases().get("fraud-prod").updated_by == "AWS:AIDAMALLORY"


def presigned_put(app, name: str, aliases: list[str], actor: str):
    """The link POST /models/{name}/uploads answers for `actor`, PUT with exactly the headers it lists."""
    link = app.get_upload_links().presign(name, aliases, actor, 300)
    answer = requests.put(link.url, data=tarball(1), headers=link.headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return link


def test_a_presigned_link_signs_the_caller_into_the_upload_so_the_uploader_cannot_change_it(emulator, emulated_app):
    link = emulated_app.get_upload_links().presign("fraud", ["fraud-prod"], ADA, 300)

    signed = parse_qs(urlparse(link.url).query)["X-Amz-SignedHeaders"][0].split(";")
    assert link.headers["x-amz-meta-registry-actor"] == ADA
    assert "x-amz-meta-registry-actor" in signed


def test_an_upload_through_a_presigned_link_is_authored_by_the_caller_the_api_signed_it_for(emulator, reconfigure):
    # GIVEN the registry knows the API function's role
    app = reconfigure(REGISTRY_API_ROLE_ID=API_ROLE_ID)
    # WHEN ada's presigned upload asking for fraud-prod is PUT, and S3 reports the API role's session as its principal
    presigned_put(app, "fraud", ["fraud-prod"], ADA)
    record = deliver(emulator, app, "incoming/fraud.tar.gz", API_SESSION)
    # THEN ada, not the API role, is the version's author and the one who moved the alias
    assert record.outcome == "accepted"
    version = app.get_store().get_version("fraud", 1)
    assert (version.uploader, version.claimed_uploader) == (ADA, None)
    assert "registry-actor" not in version.metadata
    [change], _ = app.get_alias_store().history("fraud-prod", 10, None)
    assert change.by == ADA


def test_the_vouched_caller_from_any_other_principal_is_only_a_claim(emulator, reconfigure):
    # GIVEN the registry knows the API function's role
    app = reconfigure(REGISTRY_API_ROLE_ID=API_ROLE_ID)
    # WHEN mallory PUTs with her own credentials and types x-amz-meta-registry-actor: ada
    drop(emulator, app, "incoming/fraud.tar.gz", tarball(1), {"alias": "fraud-prod", "registry-actor": ADA},
         principal="AWS:AIDAMALLORY")
    # THEN mallory is the author; "ada" is kept as a labelled claim and acts nowhere
    version = app.get_store().get_version("fraud", 1)
    assert (version.uploader, version.claimed_uploader) == ("AWS:AIDAMALLORY", ADA)
    assert app.get_aliases().get("fraud-prod").updated_by == "AWS:AIDAMALLORY"
