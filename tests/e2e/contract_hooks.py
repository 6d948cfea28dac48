"""Schemathesis hooks for the contract run (loaded through SCHEMATHESIS_HOOKS=contract_hooks).

One rule of a weighted alias cannot be said in JSON Schema, which has no uniqueness by key:
each (model, version) appears once in `targets` (weights are relative, so the schema states
their whole rule). The document states it in words (PutAlias); here every generated
*positive* PUT body is made to follow it, the way a client reading the words would, so
"schema-valid request rejected" means a rule the document could have stated and did not.
Negative cases are left alone: they must still be refused.

With CONTRACT_CALLS set to a file, every call's operation and status is appended to it, one line
each, so a test can tell which operations answered with something other than 404.

A rollout's steps are stated as unique percents from 1 to 100 that include 100; that they come in increasing
order is said in words: a positive body's steps are sorted.

Two size rules of what a version says of itself are stated in words too: a presigned upload carries
its description, tags and card as S3 object metadata (2,048 bytes in all, rule upload.metadata_size),
and a card takes at most 48 KB (rule card.size). A positive body over either leaves them out.
"""
import json
import os

import schemathesis
from schemathesis import GenerationMode

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
    steps = case.body.get("steps") if isinstance(case.body, dict) else None
    if positive and case.path == "/aliases/{alias}/rollouts" and isinstance(steps, list) and \
            all(isinstance(step, (int, float)) for step in steps):
        case.body["steps"] = sorted(steps)
    if not positive or not isinstance(targets, list) or not targets or \
            not all(isinstance(t, dict) for t in targets):
        return case
    for index, target in enumerate(targets):
        target["version"] = index + 1  # distinct versions: each (model, version) once
    return case


@schemathesis.hook
def after_call(context, case, response):
    calls = os.environ.get("CONTRACT_CALLS")
    if calls:
        with open(calls, "a", encoding="utf-8") as log:
            log.write(f"{case.operation.label}\t{response.status_code}\n")
