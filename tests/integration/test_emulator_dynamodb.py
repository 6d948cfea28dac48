"""The emulator's DynamoDB: a Query reads its partition and a transaction its items, as DynamoDB's do.

moto walks (and sorts) every item of the table for each Query and deep-copies each table a
transaction touches: at 100,000 versions that made reads take seconds and grew the emulator's
memory by megabytes with every alias move (local_stack/aws/dynamodb_gaps.py).
"""
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from local_stack.aws.dynamodb_gaps import dynamodb_gaps

pytestmark = pytest.mark.xdist_group("moto-server")


@pytest.fixture
def dynamodb(emulator, monkeypatch):
    for owner, name, replacement in dynamodb_gaps():
        monkeypatch.setattr(owner, name, replacement)
    return emulator.session.client("dynamodb")


def item(pk: str, sk: str, value: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "value": {"S": value}}


def test_a_query_walks_only_its_partition_and_pages_as_before(emulator, dynamodb, monkeypatch):
    table = emulator.settings.table
    for partition in ("A", "B", "C"):
        for n in range(5):
            dynamodb.put_item(TableName=table, Item=item(partition, f"{n:02d}", f"{partition}{n}"))
    monkeypatch.setattr(Table, "all_items", lambda self: pytest.fail("a Query walked the whole table"))

    first = dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk", ScanIndexForward=False, Limit=3,
                           ExpressionAttributeValues={":pk": {"S": "B"}})
    rest = dynamodb.query(TableName=table, KeyConditionExpression="pk = :pk", ScanIndexForward=False, Limit=3,
                          ExpressionAttributeValues={":pk": {"S": "B"}}, ExclusiveStartKey=first["LastEvaluatedKey"])

    assert [i["value"]["S"] for i in first["Items"] + rest["Items"]] == ["B4", "B3", "B2", "B1", "B0"]
    assert "LastEvaluatedKey" not in rest


def test_a_transaction_copies_no_table_and_a_failed_one_leaves_every_item_as_it_was(emulator, dynamodb,
                                                                                     monkeypatch):
    table = emulator.settings.table
    dynamodb.put_item(TableName=table, Item=item("A", "kept", "before"))
    dynamodb.put_item(TableName=table, Item=item("A", "deleted", "before"))
    monkeypatch.setattr(Table, "__deepcopy__", lambda self, memo: pytest.fail("a transaction copied the table"),
                        raising=False)
    changes = [
        {"Update": {"TableName": table, "Key": {"pk": {"S": "A"}, "sk": {"S": "kept"}},
                    "UpdateExpression": "SET #v = :v", "ExpressionAttributeNames": {"#v": "value"},
                    "ExpressionAttributeValues": {":v": {"S": "after"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "A"}, "sk": {"S": "deleted"}}}},
        {"Put": {"TableName": table, "Item": item("A", "new", "after")}},
    ]
    missing = {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "A"}, "sk": {"S": "absent"}},
                                  "ConditionExpression": "attribute_exists(pk)"}}

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=[*changes, missing])
    after_failure = dynamodb.scan(TableName=table)["Items"]
    dynamodb.transact_write_items(TransactItems=changes)
    after_success = dynamodb.scan(TableName=table)["Items"]

    assert sorted((i["sk"]["S"], i["value"]["S"]) for i in after_failure) == [("deleted", "before"),
                                                                             ("kept", "before")]
    assert sorted((i["sk"]["S"], i["value"]["S"]) for i in after_success) == [("kept", "after"), ("new", "after")]
