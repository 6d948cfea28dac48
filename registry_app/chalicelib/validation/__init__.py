"""The streaming validator: one pass over a .tar.gz gives a report of every broken rule.

Modules, from the bytes up: `gzip_stream` (inflate, CRC, length), `tar_headers`
(one 512-byte header, pax records), `tar_walk` (the member list), `member_names`
(names that would unpack differently), `layouts` with one module per framework
(`mxnet` and its `shapes`; `tensorflow`, which reads the serving signature
through `saved_model` and its wire reader `protowire`), `limits`, `recorded` (the bounds on what a
version records of a model's inputs and outputs), `messages` (how a rule's sentence quotes names and
lists), and `report` (the pass and the report the rest of the registry reads). Importers use
this package, not its modules, so the split can change without touching them.
"""
from .limits import Limits
from .report import (
    Member,
    RuleFailure,
    ValidationReport,
    human_size,
    validate_file,
    validate_stream,
)

__all__ = [
    "Limits",
    "Member",
    "RuleFailure",
    "ValidationReport",
    "human_size",
    "validate_file",
    "validate_stream",
]
