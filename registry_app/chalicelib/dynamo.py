"""Plain-dict <-> DynamoDB attribute codec, item sizes and opaque page tokens, shared by the stores."""
import base64
import json
import math
from decimal import Decimal
from typing import Any, Callable, Iterator

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .errors import NotFound

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Serialises a plain dict; None values are left out (DynamoDB has no use for them)."""
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(_to_dynamo(value))


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def item_size(item: dict[str, Any]) -> int:
    """The size DynamoDB counts for a wire-format item (what to_item makes), in bytes: attribute names plus values,
    by AWS's documented rules ("DynamoDB item sizes and formats"). Items over 400 KB are refused."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(text.encode()) for text in data)
    if kind == "NS":
        return sum(_number_size(number) for number in data)
    if kind == "BS":
        return sum(len(blob) for blob in data)
    if kind == "L":  # 3 bytes for the list, 1 per element
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in data.items())
    raise ValueError(f"not a DynamoDB attribute value type: {kind!r}")


def _number_size(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeros trimmed), plus 1; plus 1 for a minus sign,
    which AWS's page leaves out (an overestimate keeps a budget safe)."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1 + (1 if text.lstrip().startswith("-") else 0)


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    """LastEvaluatedKey → an opaque URL-safe token (callers must not depend on its shape)."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str | None, pk: str) -> dict[str, Any] | None:
    """The inverse of encode_token; a well-formed token this listing did not issue names no page: 404, not 500."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if key["pk"]["S"] != pk or set(key) != {"pk", "sk"} or not isinstance(key["sk"]["S"], str):
            raise ValueError("token from another listing")
    except (ValueError, KeyError, TypeError) as exc:
        raise NotFound("next_token names no page of this listing; list again without it",
                       {"next_token": token}) from exc
    return key


def is_condition_failure(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _without_keys(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item:
        item.pop("pk", None), item.pop("sk", None)
    return item


def get_item(client, table: str, pk: str, sk: str) -> dict[str, Any] | None:
    """One item as a plain dict without its keys, read consistently."""
    answer = client.get_item(TableName=table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True)
    return _without_keys(from_item(answer.get("Item")))


def query_page(client, table: str, pk: str, sk_prefix: str | None, limit: int, token: str | None,
               newest_first: bool, consistent: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a partition (optionally the sort keys starting with `sk_prefix`) and the next page's token."""
    condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else "")
    values = {":pk": to_value(pk), **({":prefix": to_value(sk_prefix)} if sk_prefix else {})}
    kwargs = {"TableName": table, "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
              "Limit": limit, "ScanIndexForward": not newest_first, "ConsistentRead": consistent}
    start = decode_token(token, pk)
    if start:
        kwargs["ExclusiveStartKey"] = start
    answer = client.query(**kwargs)
    items = [_without_keys(from_item(item)) for item in answer.get("Items", [])]
    return items, encode_token(answer.get("LastEvaluatedKey"))


def every_item(list_page: Callable[..., tuple[list, str | None]], page_size: int = 100) -> Iterator:
    """Every item of a paginated listing (`list_page(limit=, token=)`), one page at a time."""
    token = None
    while True:
        items, token = list_page(limit=page_size, token=token)
        yield from items
        if token is None:
            return
