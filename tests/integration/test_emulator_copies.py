"""A gap of the emulator, filled as S3 behaves: a copy of a source whose ETag changed is refused (412), whole or by
part (local_stack/aws/emulator.py, s3_copy_gaps). The DynamoDB gaps: test_emulator_dynamodb.py."""
import pytest
from botocore.exceptions import ClientError

from local_stack.aws.emulator import s3_copy_gaps

pytestmark = pytest.mark.xdist_group("moto-server")


def apply(monkeypatch, gaps):
    for owner, name, replacement in gaps:
        monkeypatch.setattr(owner, name, replacement)


def test_a_copy_whose_source_changed_since_it_was_read_is_refused_whole_or_by_part(emulator, monkeypatch):
    apply(monkeypatch, s3_copy_gaps())
    s3, bucket = emulator.s3, emulator.settings.bucket
    old = s3.put_object(Bucket=bucket, Key="staging/src", Body=b"first")["ETag"]
    new = s3.put_object(Bucket=bucket, Key="staging/src", Body=b"second")["ETag"]
    source = {"Bucket": bucket, "Key": "staging/src"}

    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.copy_object(Bucket=bucket, Key="staging/dst", CopySource=source, CopySourceIfMatch=old)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="staging/dst")["UploadId"]
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.upload_part_copy(Bucket=bucket, Key="staging/dst", UploadId=upload, PartNumber=1, CopySource=source,
                            CopySourceIfMatch=old)
    s3.copy_object(Bucket=bucket, Key="staging/dst", CopySource=source, CopySourceIfMatch=new)
    assert s3.get_object(Bucket=bucket, Key="staging/dst")["Body"].read() == b"second"
