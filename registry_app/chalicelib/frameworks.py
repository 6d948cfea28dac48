"""The frameworks the registry serves, and which endpoint serves each.

One multi-model endpoint runs one container image, so one framework: MXNet versions go
to the project's MMS endpoint (REGISTRY_ENDPOINT), TensorFlow versions to a TF Serving
endpoint (REGISTRY_TENSORFLOW_ENDPOINT). A framework with no endpoint configured is an
error that says which setting to set, never a quiet fallback to the other endpoint.
"""
from __future__ import annotations

from typing import Any, Literal

from .errors import NoEndpoint

Framework = Literal["mxnet", "tensorflow"]
FRAMEWORKS: tuple[Framework, ...] = ("mxnet", "tensorflow")
SETTING = {"mxnet": "REGISTRY_ENDPOINT", "tensorflow": "REGISTRY_TENSORFLOW_ENDPOINT"}
RULE = "alias.framework_endpoint"


class Endpoints:
    """framework -> endpoint name; an empty name means none is configured."""

    def __init__(self, by_framework: dict[str, str]):
        self._by_framework = {framework: name for framework, name in by_framework.items() if name}

    @classmethod
    def from_settings(cls, settings: Any) -> Endpoints:
        return cls({"mxnet": settings.endpoint, "tensorflow": settings.tensorflow_endpoint})

    def as_dict(self) -> dict[str, str | None]:
        return {framework: self._by_framework.get(framework) for framework in FRAMEWORKS}

    def serves(self, framework: str) -> bool:
        return framework in self._by_framework

    def for_framework(self, framework: str, what: str = "") -> str:
        """The endpoint of `framework`; NoEndpoint (naming `what`, e.g. 'digits v2') when there is none."""
        if framework in self._by_framework:
            return self._by_framework[framework]
        subject = f"{what} is a {framework} model, and" if what else "the model is a"
        setting = SETTING.get(framework, "an endpoint setting")
        raise NoEndpoint(f"{subject} no endpoint serves {framework} here: set {setting} (rule {RULE})",
                         {"rule": RULE, "framework": framework, "setting": setting, "endpoints": self.as_dict()})
