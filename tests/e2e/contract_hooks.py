"""Schemathesis hooks for the contract run (loaded through SCHEMATHESIS_HOOKS=contract_hooks).

Two rules of a weighted alias cannot be said in JSON Schema, which has no sum and no
uniqueness by key: the weights add up to 100, and each (model, version) appears once. The
document states them in words (PutAlias); here every generated *positive* PUT body is made
to follow them, the way a client reading the words would, so "schema-valid request
rejected" means a rule the document could have stated and did not. Negative cases are
left alone: they must still be refused.

Two size rules of what a version says of itself are stated in words too: a presigned upload carries
its description, tags and card as S3 object metadata (2,048 bytes in all, rule upload.metadata_size),
and a card takes at most 48 KB (rule card.size). A positive body over either leaves them out.
"""
import json

import schemathesis
from schemathesis import GenerationMode

WEIGHTS_TOTAL = 100
UPLOAD_METADATA_BYTES = 1024  # what a link's description, tags and card may take, leaving room for aliases and caller
CARD_BYTES = 48 * 1024


def _within_stated_sizes(body: dict, upload: bool) -> None:
    said = {k: body[k] for k in ("description", "tags", "card") if body.get(k)}
    size = len(json.dumps(said, ensure_ascii=not upload).encode())
    if size > (UPLOAD_METADATA_BYTES if upload else CARD_BYTES):
        for key in said:
            body.pop(key)


@schemathesis.hook
def map_case(context, case):
    targets = case.body.get("targets") if isinstance(case.body, dict) else None
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict) and case.method == "POST" and \
            case.path in ("/models/{name}/uploads", "/models/{name}/versions"):
        _within_stated_sizes(case.body, upload=case.path.endswith("uploads"))
    if not positive or not isinstance(targets, list) or not targets or \
            not all(isinstance(t, dict) for t in targets):
        return case
    share, extra = divmod(WEIGHTS_TOTAL, len(targets))
    for index, target in enumerate(targets):
        target["weight"] = share + (extra if index == 0 else 0)
        target["version"] = index + 1  # distinct versions: each (model, version) once
    return case
