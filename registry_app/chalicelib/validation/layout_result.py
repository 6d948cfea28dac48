"""What a layout check returns; shared by the per-framework rule modules."""
from __future__ import annotations

from dataclasses import dataclass, field

Failure = tuple[str, str]  # (rule id, sentence for a person)
PACK_HINT = "pack from inside the model folder, e.g. `tar -C model_dir -czf model.tar.gz .`"


@dataclass
class LayoutResult:
    layout: str | None = None
    prefix: str | None = None
    input_shapes: list[dict] | None = None
    outputs: list[dict] | None = None  # TensorFlow: the serving signature's outputs
    labels_count: int | None = None
    samples: list = field(default_factory=list)  # samples.Sample: the reference requests under samples/
    failures: list[Failure] = field(default_factory=list)
