"""The registry's own code the client reuses: the validator, the model-name and alias rules, the limits, the
metric names and the comparison of two models' answers.

One place decides where it lives. In the repository it is `chalicelib` (the Lambda's
package, on the path through the editable install); in the installed client
distribution the same files are `mme_registry.registry`, so no generic top-level name
(`chalicelib`) lands in an application's environment. See distributions/client/pyproject.toml.
The settings are imported on first use: pydantic-settings takes a few tenths of a second
to import, more than the rest of `validate` together.
"""
from __future__ import annotations

from typing import Any

INSTALLED = __name__.startswith("mme_registry.")  # installed as mme-registry-client

if INSTALLED:
    from ..registry.errors import InvalidInput
    from ..registry.metrics import compare as answer_compare
    from ..registry.metrics import names as metric_names
    from ..registry.names import parse_incoming_key, validate_alias_name, validate_model_name
    from ..registry.validation import Limits, ValidationReport, human_size, validate_file
else:  # the repository
    from chalicelib.errors import InvalidInput
    from chalicelib.metrics import compare as answer_compare
    from chalicelib.metrics import names as metric_names
    from chalicelib.names import parse_incoming_key, validate_alias_name, validate_model_name
    from chalicelib.validation import Limits, ValidationReport, human_size, validate_file


def get_settings() -> Any:
    """The registry's settings (REGISTRY_* variables), as the Lambda reads them."""
    if INSTALLED:
        from ..registry.settings import get_settings as registry_settings
    else:
        from chalicelib.settings import get_settings as registry_settings
    return registry_settings()


__all__ = ["InvalidInput", "Limits", "ValidationReport", "answer_compare", "get_settings", "human_size",
           "metric_names", "parse_incoming_key", "validate_alias_name", "validate_file", "validate_model_name"]
