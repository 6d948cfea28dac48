"""Schemathesis hooks for the contract run (loaded through SCHEMATHESIS_HOOKS=contract_hooks).

Two rules of a weighted alias cannot be said in JSON Schema, which has no sum and no
uniqueness by key: the weights add up to 100, and each (model, version) appears once. The
document states them in words (PutAlias); here every generated *positive* PUT body is made
to follow them, the way a client reading the words would, so "schema-valid request
rejected" means a rule the document could have stated and did not. Negative cases are
left alone: they must still be refused.
"""
import schemathesis
from schemathesis import GenerationMode

WEIGHTS_TOTAL = 100


@schemathesis.hook
def map_case(context, case):
    targets = case.body.get("targets") if isinstance(case.body, dict) else None
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if not positive or not isinstance(targets, list) or not targets or \
            not all(isinstance(t, dict) for t in targets):
        return case
    share, extra = divmod(WEIGHTS_TOTAL, len(targets))
    for index, target in enumerate(targets):
        target["weight"] = share + (extra if index == 0 else 0)
        target["version"] = index + 1  # distinct versions: each (model, version) once
    return case
