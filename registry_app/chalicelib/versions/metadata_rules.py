"""What may be said about a version: the limits on descriptions, tags, model cards and approval reasons, in one place.

Pure rules over plain data, each raising InvalidInput with the rule's id in `details["rule"]`, so the
API answers 422 naming it and the ingest rejects an upload under the same id before a number is
reserved. Tags follow SageMaker's tag rules (128-character keys, 256-character values, 50 tags,
its charset); the other limits keep a version record within its budget (records.BUDGETS).
"""
import json
import math
import re
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput
from ..records import ModelCard

MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_CHARSET = r"A-Za-z0-9 _.:/=+\-@"
TAG_KEY_PATTERN = rf"^[{TAG_CHARSET}]{{1,{MAX_TAG_KEY}}}$"
TAG_VALUE_PATTERN = rf"^[{TAG_CHARSET}]{{0,{MAX_TAG_VALUE}}}$"
UPLOAD_TAG_KEY_PATTERN = rf"^[{TAG_CHARSET.replace('=', '')}]{{1,{MAX_TAG_KEY}}}$"  # x-amz-meta-tags splits at `=`
MAX_DESCRIPTION = 1024
MAX_CARD_TEXT = 4096
MAX_METRICS = 32
MAX_METRIC_NAME = 128
METRIC_RANGE = (1e-130, 9.9e125)  # the magnitude of a number DynamoDB can hold (0 aside)
MAX_LINKS = 16
MAX_LINK_TITLE = 256
MAX_URL = 2048
MAX_CARD_BYTES = 48 * 1024  # the whole card in UTF-8: 4,096 characters may take 16 KB each
MAX_REASON = 1024
# Where an upload says these (x-amz-meta-description, x-amz-meta-tags as `k=v;k=v`, x-amz-meta-card as JSON); a REST
# registration's fields travel under the same keys (ingest.with_said reads them back).
DESCRIPTION_METADATA, TAGS_METADATA, CARD_METADATA = "description", "tags", "card"
CARD_TEXT_FIELDS = ("intended_use", "training_data", "limitations", "owner", "license")
LIMITS = {
    "tags": f"at most {MAX_TAGS} tags; keys 1-{MAX_TAG_KEY} and values 0-{MAX_TAG_VALUE} characters of "
            "letters, digits, spaces and _ . : / = + - @ (SageMaker's tag rules)",
    "description": f"at most {MAX_DESCRIPTION:,} characters",
    "card": f"text fields at most {MAX_CARD_TEXT:,} characters each, at most {MAX_METRICS} metrics (names of "
            f"1-{MAX_METRIC_NAME} characters, numbers of magnitude 1e-130 to 9.9e125 or 0), at most {MAX_LINKS} "
            f"links (titles of at most {MAX_LINK_TITLE} characters, http or https URLs of at most {MAX_URL:,} ASCII "
            "characters), "
            f"{MAX_CARD_BYTES // 1024} KB in all (UTF-8)",
    "reason": f"at most {MAX_REASON:,} characters",
}

_TAG_KEY = re.compile(TAG_KEY_PATTERN[1:-1], re.ASCII)
_TAG_VALUE = re.compile(TAG_VALUE_PATTERN[1:-1], re.ASCII)
_URL = re.compile(r"https?://[\x21-\x7e]+", re.ASCII | re.IGNORECASE)


def refuse(rule: str, message: str, **details: Any) -> InvalidInput:
    """The error for a broken rule: the message, then the rule's id and the limits of its area."""
    return InvalidInput(f"{message} (rule {rule}: {LIMITS[rule.split('.')[0]]})", {"rule": rule, **details})


def check_tag_key(key: str) -> str:
    if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
        raise refuse("tags.key", f"tag key {str(key)[:40]!r} is not 1-{MAX_TAG_KEY} characters of the tag charset",
                     key=str(key)[:MAX_TAG_KEY])
    return key


def check_upload_tag_key(key: str) -> str:
    """A tag key an upload or a registration can carry (x-amz-meta-tags, `k=v;k=v`): no `=` in it."""
    if "=" in check_tag_key(key):
        raise refuse("tags.header", f"tag key {key!r} holds '=', which x-amz-meta-tags (k=v;k=v) cannot carry: "
                     "set it after the upload (PATCH the version)", key=key)
    return key


def check_tag_value(value: str, key: str = "") -> str:
    if not isinstance(value, str) or not _TAG_VALUE.fullmatch(value):
        raise refuse("tags.value", f"the value of tag {key!r} is not 0-{MAX_TAG_VALUE} characters of the tag "
                     "charset", key=key)
    return value


def check_tag(key: str, value: str) -> None:
    check_tag_value(value, check_tag_key(key))


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """A whole tag set (after a patch is applied): each tag's charset and length, and how many."""
    for key, value in tags.items():
        check_tag(key, value)
    if len(tags) > MAX_TAGS:
        raise refuse("tags.count", f"{len(tags)} tags; a version has at most {MAX_TAGS}", count=len(tags))
    return tags


def apply_tag_patch(tags: dict[str, str], patch: dict[str, str | None]) -> dict[str, str]:
    """`patch` applied to `tags`: a value sets, None removes; the result checked as a whole."""
    result = dict(tags)
    for key, value in patch.items():
        if value is None:
            check_tag(key, "")
            result.pop(key, None)
        else:
            check_tag(key, value)
            result[key] = value
    return check_tags(result)


def check_description(text: str) -> str:
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
        raise refuse("description.length", f"the description has {len(str(text)):,} characters")
    return text


def check_reason(text: str | None) -> str | None:
    if text is not None and len(text) > MAX_REASON:
        raise refuse("reason.length", f"the approval reason has {len(text):,} characters")
    return text


def check_card(card: dict[str, Any]) -> dict[str, Any]:
    """A model card as plain data (records.ModelCard.model_dump()): every field optional."""
    for name in CARD_TEXT_FIELDS:
        text = card.get(name)
        if text is not None and len(text) > MAX_CARD_TEXT:
            raise refuse("card.text", f"card field {name} has {len(text):,} characters", field=name)
    metrics = card.get("metrics") or {}
    if len(metrics) > MAX_METRICS:
        raise refuse("card.metrics", f"the card has {len(metrics)} metrics", count=len(metrics))
    for name, number in metrics.items():
        if not 1 <= len(name) <= MAX_METRIC_NAME:
            raise refuse("card.metrics", f"metric name {name[:40]!r} is not 1-{MAX_METRIC_NAME} characters")
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) \
                or not (number == 0 or METRIC_RANGE[0] <= abs(number) <= METRIC_RANGE[1]):
            raise refuse("card.metrics", f"metric {name!r} is not a finite number DynamoDB can hold (0, or 1e-130 "
                         "to 9.9e125 either side of it)", metric=name)
    links = card.get("links") or []
    if len(links) > MAX_LINKS:
        raise refuse("card.links", f"the card has {len(links)} links", count=len(links))
    for link in links:
        title, url = link.get("title") or "", link.get("url") or ""
        if len(title) > MAX_LINK_TITLE:
            raise refuse("card.links", f"link title {title[:40]!r}… has {len(title):,} characters")
        if len(url) > MAX_URL or not _URL.fullmatch(url):
            raise refuse("card.links", f"link {url[:80]!r} is not an http or https URL of at most {MAX_URL:,} "
                         "ASCII characters")
    size = len(json.dumps(card, ensure_ascii=False).encode())
    if size > MAX_CARD_BYTES:
        raise refuse("card.size", f"the card takes {size:,} bytes", size=size)
    return card


def parse_tags_header(text: str) -> dict[str, str]:
    """`x-amz-meta-tags`: `k=v;k=v` (a key without `=` has an empty value), checked as a tag set."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        key = key.strip()
        if key in tags:
            raise refuse("tags.duplicate", f"tag {key!r} is given twice in x-amz-meta-tags", key=key)
        tags[key] = value.strip()
    return check_tags(tags)


def parse_card(text: str) -> dict[str, Any]:
    """x-amz-meta-card: the card as a JSON object."""
    try:
        card = json.loads(text)
    except ValueError as error:
        raise refuse("card.json", f"x-amz-meta-card is not JSON: {error}") from None
    if not isinstance(card, dict):
        raise refuse("card.json", "x-amz-meta-card is not a JSON object")
    try:  # the record's shape: a wrong type is refused like a broken limit
        return ModelCard.model_validate(card, strict=False).model_dump(mode="json")
    except ValidationError as error:
        raise refuse("card.json", f"x-amz-meta-card is not a model card: {error.errors()[0]['msg']}") from None


def tags_header(tags: dict[str, str]) -> str:
    """The inverse of parse_tags_header, for a presigned upload or a registration; a key holding `=` has no form."""
    for key in check_tags(tags):
        check_upload_tag_key(key)
    return ";".join(f"{k}={v}" for k, v in tags.items())


def said_metadata(description: str | None, tags: dict[str, str] | None, card: dict[str, Any] | None) -> dict[str, str]:
    """What an upload says of itself, as the object metadata the ingest reads back (ingest.with_said)."""
    said = {}
    if description:
        said[DESCRIPTION_METADATA] = check_description(description)
    if tags:
        said[TAGS_METADATA] = tags_header(tags)
    if card:
        said[CARD_METADATA] = json.dumps(check_card(card), separators=(",", ":"))  # ASCII: S3 metadata is
    return said
