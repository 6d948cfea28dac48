"""What a version records from the validator, and the bounds that keep it small whatever the archive says.

A version record (VersionRecord: one DynamoDB item, 400 KB at most) carries the model's inputs
(`input_shapes`) and, for TensorFlow, its outputs (`outputs`) as the validator read them, besides
`framework`, `labels_count` (an int), `sha256` and `size`. Each tensor is recorded as {"name",
"shape"} (MXNet) or {"name", "dtype", "shape"} (TensorFlow), nothing else; the rules of `shapes`
and `tensorflow` refuse an archive past any of these bounds:

    MAX_TENSORS inputs and MAX_TENSORS outputs; a name of at most MAX_NAME_BYTES bytes of UTF-8
    with no control or invisible formatting character; at most MAX_RANK dimensions, each an int64.

Worst case, as `json.dumps` writes it (non-ASCII as \\uXXXX: 6 bytes for each 2-byte character,
so a 128-byte name is at most 384 bytes between its quotes; a dimension at most 20 characters,
-9223372036854775808; the longest JSON dtype, float16, 7):

    one tensor   {"name": "<384>", "dtype": "<7>", "shape": [<8 x 20, 7 x ", ">]}   =    603 bytes
    32 of them   32 x 603 + 31 x ", " + "[]"                                        = 19,360 bytes
    the lot      {"input_shapes": <19,360>, "outputs": <19,360>, "labels_count": null,
                 "framework": "tensorflow"}                                         = 38,800 bytes

so what a version records from the validator stays within WORST_CASE_BYTES (38,800; 22,416 as
UTF-8, what DynamoDB counts), under a tenth of the item; tests/unit/test_validator_bounds.py
builds that case through the validator.
"""
from __future__ import annotations

from .member_names import hidden_character

MAX_TENSORS = 32  # detection models have 8 outputs, BERT 3 inputs
MAX_RANK = 8  # video and 3-D volumes with channels need 5
MAX_NAME_BYTES = 128
WORST_CASE_BYTES = 38_800


def name_problem(name: str) -> tuple[str, str] | None:
    """('too_long' | 'control_chars', why) when a tensor name breaks a bound above, else None."""
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        return "too_long", f"is {size:,} bytes long, more than the {MAX_NAME_BYTES} a version records"
    hidden = hidden_character(name)
    if hidden:
        return "control_chars", f"contains the control or invisible formatting character {hidden}"
    return None
