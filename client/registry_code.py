"""The registry's own code the client reuses: the validator, the model-name rule, the limits.

One place decides where it lives. In the repository it is `chalicelib` (the Lambda's
package, on the path through the editable install); in the installed client
distribution the same files are `mme_registry.registry`, so no generic top-level name
(`chalicelib`) lands in an application's environment. See distributions/client/pyproject.toml.
"""
from __future__ import annotations

if __name__.startswith("mme_registry."):  # installed as mme-registry-client
    from ..registry.names import validate_model_name
    from ..registry.settings import get_settings
    from ..registry.validation import Limits, ValidationReport, human_size, validate_file
else:  # the repository
    from chalicelib.names import validate_model_name
    from chalicelib.settings import get_settings
    from chalicelib.validation import Limits, ValidationReport, human_size, validate_file

__all__ = ["Limits", "ValidationReport", "get_settings", "human_size", "validate_file", "validate_model_name"]
