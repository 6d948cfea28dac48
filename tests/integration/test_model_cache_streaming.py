"""The gateway's fetch of a TargetModel: one pass over the S3 object, extracted as it arrives and
validated on the way, with no copy of the tarball on disk (moto's S3, the real ModelCache)."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from hostile_tarballs import entry, gzip_bomb, multi_member_mxnet, mxnet_files, tgz, valid_mxnet
from local_stack.runtime.model_cache import ModelCache, RuntimeApiError


@pytest.fixture
def bucket(aws_session, settings):
    return settings.bucket


@pytest.fixture
def s3(aws_session):
    return aws_session.client("s3")


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def members(tarball: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        return {m.name.removeprefix("./"): archive.extractfile(m).read() for m in archive if m.isfile()}


def test_the_tarball_is_never_on_disk_and_the_model_is_extracted_whole(s3, bucket, tmp_path):
    """Whatever the gateway has written under its cache folder while it talks to S3, and once the fetch
    is done, is only the model's own files: never the .tar.gz (the old download went to a temporary
    file first, then was read twice: once to validate, once to extract)."""
    tarball = tgz(mxnet_files(params_size=3 << 20), dot_root=True)  # several reads' worth of bytes
    s3.put_object(Bucket=bucket, Key="models/big_v1.tar.gz", Body=tarball)
    cache_dir = tmp_path / "cache"
    seen: list[set[str]] = []
    s3.meta.events.register("before-call.s3", lambda **_: seen.append(files_under(cache_dir)))
    s3.meta.events.register("after-call.s3", lambda **_: seen.append(files_under(cache_dir)))
    cache = ModelCache(mms=None, s3=s3, cache_dir=cache_dir)

    path, size = cache._fetch(bucket, "models/big_v1.tar.gz", "big")

    expected = members(tarball)
    assert seen, "the fetch made no S3 call"
    assert all(not any(name.endswith((".tar.gz", ".tmp")) for name in snapshot) for snapshot in seen), seen
    assert files_under(cache_dir) == {f"big/model/{name}" for name in expected}
    assert {name: (path / name).read_bytes() for name in expected} == expected
    assert size == sum(len(data) for data in expected.values())


def test_several_gzip_members_extract_as_one_archive(s3, bucket, tmp_path):
    tarball = multi_member_mxnet()
    s3.put_object(Bucket=bucket, Key="models/multi_v1.tar.gz", Body=tarball)
    path, _ = ModelCache(mms=None, s3=s3, cache_dir=tmp_path)._fetch(bucket, "models/multi_v1.tar.gz", "multi")
    expected = members(tarball)
    assert {name: (path / name).read_bytes() for name in expected} == expected


@pytest.mark.parametrize("tarball, rule", [
    (tgz(mxnet_files(), extra=[entry("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")]), "safety."),
    (gzip_bomb(), "limits."),
    (valid_mxnet()[:-40], "gzip.truncated"),
], ids=["symlink", "gzip-bomb", "truncated"])
def test_a_refused_archive_leaves_nothing_and_names_the_validators_rule(s3, bucket, tmp_path, tarball, rule):
    s3.put_object(Bucket=bucket, Key="models/bad_v1.tar.gz", Body=tarball)
    with pytest.raises(RuntimeApiError) as refused:
        ModelCache(mms=None, s3=s3, cache_dir=tmp_path / "cache")._fetch(bucket, "models/bad_v1.tar.gz", "bad")
    assert "is not a servable archive" in str(refused.value) and rule in str(refused.value), str(refused.value)
    assert files_under(tmp_path / "cache") == set()
