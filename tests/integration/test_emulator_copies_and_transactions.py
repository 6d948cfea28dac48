"""Two gaps of the emulator, filled as AWS behaves: a copy of a source whose ETag changed is refused (412), and a
DynamoDB transaction backs up the items it names rather than every table it touches, so it costs the same in a
big table, and a cancelled one still leaves every item as it was."""
import time

import pytest
from botocore.exceptions import ClientError

from local_stack.aws.emulator import dynamodb_transaction_gaps, s3_copy_gaps

pytestmark = pytest.mark.xdist_group("moto-server")


def apply(monkeypatch, gaps):
    for owner, name, replacement in gaps:
        monkeypatch.setattr(owner, name, replacement)


@pytest.fixture
def table(emulator):
    db = emulator.session.client("dynamodb")
    db.create_table(TableName="gap-items", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "S"}])
    return db


def item(pk: str, sk: str, n: int) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)}}


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


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(table, monkeypatch):
    apply(monkeypatch, dynamodb_transaction_gaps())
    table.put_item(TableName="gap-items", Item=item("a", "1", 1))
    table.put_item(TableName="gap-items", Item=item("a", "2", 2))

    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "gap-items", "Item": item("a", "3", 3)}},  # new
            {"Put": {"TableName": "gap-items", "Item": item("a", "1", 10)}},  # over an existing one
            {"Update": {"TableName": "gap-items", "Key": {"pk": {"S": "a"}, "sk": {"S": "2"}},
                        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "20"}}}},
            {"ConditionCheck": {"TableName": "gap-items", "Key": {"pk": {"S": "b"}, "sk": {"S": "1"}},
                                "ConditionExpression": "attribute_exists(pk)"}},  # fails: b/1 does not exist
        ])

    items = table.query(TableName="gap-items", KeyConditionExpression="pk = :a",
                        ExpressionAttributeValues={":a": {"S": "a"}})["Items"]
    assert sorted((i["sk"]["S"], i["n"]["N"]) for i in items) == [("1", "1"), ("2", "2")]
    table.transact_write_items(TransactItems=[{"Put": {"TableName": "gap-items", "Item": item("a", "3", 3)}}])
    assert table.get_item(TableName="gap-items", Key={"pk": {"S": "a"}, "sk": {"S": "3"}})["Item"]["n"]["N"] == "3"


def test_a_transaction_in_a_table_of_thousands_of_items_costs_what_it_costs_in_an_empty_one(table, monkeypatch):
    apply(monkeypatch, dynamodb_transaction_gaps())

    def transactions(tag: str) -> float:
        started = time.perf_counter()
        for n in range(20):
            table.transact_write_items(TransactItems=[{"Put": {"TableName": "gap-items", "Item": item(tag, str(n), n)}}])
        return time.perf_counter() - started

    empty = transactions("empty")
    for start in range(0, 3000, 25):
        table.batch_write_item(RequestItems={"gap-items": [
            {"PutRequest": {"Item": {**item("bulk", f"{n:05d}", n), "pad": {"S": "x" * 200}}}}
            for n in range(start, start + 25)]})
    full = transactions("full")

    assert full < 3 * empty + 0.5, f"20 transactions: {empty:.2f} s in an empty table, {full:.2f} s with 3,000 items"
