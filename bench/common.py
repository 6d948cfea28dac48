"""What the bench scripts share: timing and latency statistics, the test image, the machine
and its load, and each script's goal lines as JSON (`--json PATH`) for bench/summary.py.

A goal line is one ratio of the issue's goals with the reference measured in the same run;
the summary prints them as one table, so every script records its own and says nothing more.
"""
from __future__ import annotations

import io
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


# Plain MXNet as a fresh worker would run it: load the checkpoint at `prefix`, bind, one forward.
# The cold-load references (container.py, large_model.py) run it in a fresh Python, in a script
# that imports json and mxnet as mx and sets `prefix` first.
PLAIN_MXNET_LOAD = """
sym, args, aux = mx.model.load_checkpoint(prefix, 0)
shape = json.load(open(prefix + "-shapes.json"))[0]["shape"]
mod = mx.mod.Module(sym, data_names=["data"], label_names=None, context=mx.cpu())
mod.bind(data_shapes=[("data", shape)], for_training=False)
mod.set_params(args, aux)
mod.forward(mx.io.DataBatch([mx.nd.zeros(shape)]), is_train=False)
mod.get_outputs()[0].asnumpy()
"""


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def latency(samples_s: list[float]) -> dict:
    """Median (also as p50), p99 and count of latencies in seconds, as milliseconds."""
    values = np.array(samples_s) * 1000
    median = float(np.median(values))
    return {"median": median, "p50": median, "p99": float(np.percentile(values, 99)), "n": len(values)}


def jpeg(width: int = 320, height: int = 240) -> bytes:
    """A photo-like JPEG (smooth gradients plus noise), 320×240 as the issue measures."""
    from PIL import Image

    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class GoalLine:
    goal: str  # the goal number
    measure: str
    value: float  # the ratio (or the value itself when there is no reference)
    detail: str  # the two numbers behind the ratio, e.g. "42.1 / 36.6 ms"
    target: str  # e.g. "<= 1.10"; "" when the issue asks only for a report
    met: bool | None


class GoalLines:
    """The goal lines of one run: `ratio(...)` or `report(...)` them, then `write(args.json)`."""

    def __init__(self, bench: str):
        self.bench, self.lines, self.load_start, self.started = bench, [], load(), time.monotonic()

    def ratio(self, goal: str, measure: str, value: float, detail: str, at_most: float | None = None,
              at_least: float | None = None) -> None:
        if at_most is not None:
            target, met = f"<= {at_most:g}", value <= at_most
        elif at_least is not None:
            target, met = f">= {at_least:g}", value >= at_least
        else:
            target, met = "", None
        self.lines.append(GoalLine(goal, measure, value, detail, target, met))

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        document = {"bench": self.bench, "machine": machine(), "load_start": self.load_start, "load_end": load(),
                    "seconds": time.monotonic() - self.started, "lines": [asdict(line) for line in self.lines]}
        Path(path).write_text(json.dumps(document, indent=1))


def add_json_option(parser) -> None:
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the goal lines here (bench/summary.py)")
