"""The conditional writes that guard models/ and alias history, each exercised by the race it exists for.

moto cannot pause between a read and a write, so the races are staged through stand-ins at the
AWS client boundary (tests/aws_fakes.py).
"""
import pytest
from aws_fakes import BeforeFirstTransaction, ConditionalS3
from test_ingest_recovery import adapters, upload_of

from chalicelib.aliases.alias_store import AliasStore, AliasTarget
from chalicelib.aliases.aliases import Aliases
from chalicelib.versions.artifacts import Artifacts
from chalicelib.errors import Conflict
from chalicelib.versions.ingest import Ingestor
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("moto-server")


def test_a_version_key_that_appears_just_before_the_copy_is_never_overwritten(emulator):
    # GIVEN an S3 where another writer puts models/digits_v1.tar.gz right before ingestion's copy to it
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    racing = ConditionalS3(emulator.s3, race_key="models/digits_v1.tar.gz", race_body=b"someone else's bytes")
    parts = {**adapters(emulator), "artifacts": Artifacts(racing, emulator.settings.bucket)}
    # WHEN ingestion copies its upload there
    with pytest.raises(Conflict):
        Ingestor(settings=emulator.settings, **parts).ingest(upload_of(emulator, "incoming/digits.tar.gz"))
    # THEN the conditional copy lost: the other writer's bytes stand and the upload waits in the drop folder
    assert emulator.read("models/digits_v1.tar.gz") == b"someone else's bytes"
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]



def test_a_version_key_that_appears_during_a_multipart_copy_is_never_overwritten(emulator):
    # GIVEN a copy above the multipart threshold (lowered to one byte: the path CopyObject's 5 GB limit takes),
    # and another writer that puts models/digits_v1.tar.gz right after ingestion's HEAD found it missing
    emulator.drop("incoming/digits.tar.gz", cached_tarball("digits").read_bytes())
    racing = ConditionalS3(emulator.s3, race_key="models/digits_v1.tar.gz", race_body=b"someone else's bytes")
    parts = {**adapters(emulator), "artifacts": Artifacts(racing, emulator.settings.bucket, multipart_threshold=1)}
    # WHEN ingestion copies its upload there part by part
    with pytest.raises(Conflict):
        Ingestor(settings=emulator.settings, **parts).ingest(upload_of(emulator, "incoming/digits.tar.gz"))
    # THEN CompleteMultipartUpload's IfNoneMatch refused to replace the other writer's object
    assert emulator.read("models/digits_v1.tar.gz") == b"someone else's bytes"
    assert emulator.keys("incoming/") == ["incoming/digits.tar.gz"]
    assert emulator.s3.list_multipart_uploads(Bucket=emulator.settings.bucket).get("Uploads", []) == []

def aliases_racing(registry_app, concurrently) -> tuple[Aliases, BeforeFirstTransaction]:
    """Alias use cases whose first write lets `concurrently` run between their read and their transaction."""
    client = BeforeFirstTransaction(registry_app.get_session().client("dynamodb"), concurrently)
    return Aliases(registry_app.get_store(), AliasStore(client, registry_app.settings.table)), client


def at(version: int) -> list[AliasTarget]:
    return [AliasTarget(model="resnet_18", version=version)]


@pytest.mark.xdist_group("aliases")
def test_a_stale_alias_write_is_refused_by_the_current_items_own_revision_condition(registry_app, seed):
    # GIVEN prod at revision 1, and a writer that read it there
    for _ in range(3):
        seed.version("resnet_18")
    other = registry_app.get_aliases()
    other.point("prod", at(1), False, None, "ada")
    mine, client = aliases_racing(registry_app, lambda: other.point("prod", at(2), False, None, "bob"))
    # WHEN another writer moves it to revision 2 first
    with pytest.raises(Conflict):
        mine.point("prod", at(3), False, 1, "carol")
    # THEN the write was refused by the alias item itself (not only by the taken history slot), and bob's move stands
    assert client.reasons[:2] == ["ConditionalCheckFailed", "ConditionalCheckFailed"]
    assert other.get("prod").targets == at(2)


@pytest.mark.xdist_group("aliases")
def test_history_is_never_overwritten_when_an_alias_is_recreated_and_deleted_meanwhile(registry_app, seed):
    # GIVEN prod was created and deleted (history 1, 2), and a writer about to re-create it as revision 3
    seed.version("resnet_18"), seed.version("resnet_18")
    other = registry_app.get_aliases()
    other.point("prod", at(1), False, None, "ada")
    other.delete("prod", None, "ada")

    def recreate_and_delete():
        other.point("prod", at(2), False, None, "bob")
        other.delete("prod", None, "bob")

    mine, _ = aliases_racing(registry_app, recreate_and_delete)
    # WHEN someone else re-creates and deletes it in between (the alias item is absent again, as the writer read it)
    record = mine.point("prod", at(1), False, None, "carol")
    # THEN the writer lands after them: five entries, each starting where the previous one ended
    changes, _ = registry_app.get_alias_store().history("prod", 100, None)
    assert [c.revision for c in changes] == [5, 4, 3, 2, 1]
    assert [c.by for c in changes] == ["carol", "bob", "bob", "ada", "ada"]
    for newer, older in zip(changes, changes[1:]):
        assert newer.before == older.after
    assert record.revision == 5
