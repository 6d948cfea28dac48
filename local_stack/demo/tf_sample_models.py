"""Small TensorFlow models built in code, from the MXNet venv: trains them in a subprocess
under the TF venv (tf_train.py), since TensorFlow cannot share this venv. Tests, the flow (b)
example and the bench take their TF models from here."""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from local_stack.environments import tf_env

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TfModel:
    name: str
    tarball: Path
    inputs: Path  # held-out inputs (.npy, float32, batch first)
    probabilities: Path  # TensorFlow's own answer for them (.npy)
    input_name: str
    shape: tuple[int, ...]


def train_cnns(out: Path, seed: int = 0, timeout: float = 600) -> dict[str, TfModel]:
    """Trains the two CNNs into `out` (tarballs, held-out inputs, TF's probabilities); about 15 s."""
    out = Path(out)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run([str(tf_env.interpreter()), "-m", "local_stack.demo.tf_train", "--out", str(out),
                                "--seed", str(seed)], env=env, cwd=REPO, capture_output=True, text=True,
                               timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"training the TF models failed:\n{completed.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    return {name: TfModel(name, out / entry["tarball"], out / entry["inputs"], out / entry["probabilities"],
                          entry["input_name"], tuple(entry["shape"])) for name, entry in manifest.items()}
