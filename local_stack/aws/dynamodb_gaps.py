"""The emulator's DynamoDB costs, filled as DynamoDB's are (emulator.py applies them with the rest).

Costs rather than answers: moto walks and sorts every item of the table for each Query, where DynamoDB reads
the partition asked for, and deep-copies every table a transaction touches. At 100,000 versions
(local_stack/aws/seed.py) reads took seconds and the emulator's memory grew by megabytes with every alias move.
"""
from __future__ import annotations


class _TablesAsThey:
    """`copy` for moto's DynamoDB backend, except that a Table is not copied (_transactions_by_item keeps instead
    the items a transaction touches)."""

    def __init__(self):
        import copy

        from moto.dynamodb.models.table import Table

        self._copy, self._table = copy, Table

    def deepcopy(self, value, memo=None):
        return value if isinstance(value, self._table) else self._copy.deepcopy(value, memo)

    def __getattr__(self, name: str):
        return getattr(self._copy, name)


def _transactions_by_item(transact_write_items):
    def patched(self, transact_items):
        import copy

        from moto.dynamodb.models.dynamo_type import DynamoType

        kept = []
        for element in transact_items:
            operation = next(iter(element.values()))
            table = self.tables.get(operation.get("TableName"))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or table.hash_key_attr not in key or (table.range_key_attr or "") not in (*key, ""):
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            kept.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(kept):
                partition = table.items[hash_key] if range_key is not None else table.items
                slot = range_key if range_key is not None else hash_key
                if item is None:
                    partition.pop(slot, None)
                else:
                    partition[slot] = item
            raise

    return patched


def _partition_queries(query):
    def patched(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return query(self, hash_key, *args, **kwargs)
        partition = list(self.items[hash_key].values()) if hash_key in self.items else []
        self.all_items = lambda: partition  # what moto's query walks: this partition's items, not the table's
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return patched


def dynamodb_gaps() -> list[tuple[object, str, object]]:
    """(owner, attribute, replacement), as sagemaker_gaps: a Query reads its partition, a transaction its items.

    moto answers a Query of the table by sorting every item of the table and keeping those of the partition
    (moto/dynamodb/models/table.py, Table.query over Table.all_items): 136 ms for a one-item Query on a table of
    3,400 items, seconds at 100,000 versions, where DynamoDB reads only the partition asked for. Here the
    walk covers the partition (index queries and scans keep moto's way).

    And moto's TransactWriteItems first deep-copies every table it touches, to restore it if the transaction
    fails (moto/dynamodb/models/__init__.py): seconds per transaction on a table of 100,000 versions, and the
    emulator's memory grew by megabytes with every alias move. DynamoDB's cost is per item; here the items the
    transaction names are kept instead, and put back as they were when it fails, so it still leaves nothing.
    """
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    from moto.dynamodb.models.table import Table

    return [(models, "copy", _TablesAsThey()),
            (DynamoDBBackend, "transact_write_items", _transactions_by_item(DynamoDBBackend.transact_write_items)),
            (Table, "query", _partition_queries(Table.query))]
