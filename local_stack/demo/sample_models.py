"""Real MXNet models built in code (no weights can be downloaded): gluon model-zoo
architectures with random weights, and a digits classifier trained on the
scikit-learn copy of the UCI digits in seconds. Tests, benches and the demo all
take their models from here."""
from __future__ import annotations

import fcntl
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_DIR = Path(os.environ.get("MME_REGISTRY_CACHE", Path(__file__).resolve().parents[2] / ".cache")) / "models"

ZOO = {
    # registry name: (gluon model-zoo constructor, export prefix)
    "resnet_18": ("resnet18_v1", "resnet-18"),
    "squeezenet_v1.0": ("squeezenet1.0", "squeezenet_v1.0"),
    "resnet_152": ("resnet152_v1", "resnet-152"),
}


def _import_mxnet():
    import mxnet as mx  # imported late: the Lambda side never needs it

    return mx


def write_layout(model_dir: Path, prefix: str, input_shape: list[int], labels: list[str] | None) -> None:
    """Writes the files the MXNet handler reads beside an exported graph."""
    (model_dir / f"{prefix}-shapes.json").write_text(json.dumps([{"name": "data", "shape": input_shape}]))
    if labels is not None:
        (model_dir / "synset.txt").write_text("\n".join(labels) + "\n")


def export_zoo(name: str, model_dir: Path, seed: int = 0) -> Path:
    """Exports a model-zoo network (random weights, pretrained=False) to `model_dir`."""
    mx = _import_mxnet()
    from mxnet.gluon.model_zoo import vision

    arch, prefix = ZOO[name]
    mx.random.seed(seed)
    net = vision.get_model(arch, pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    model_dir.mkdir(parents=True, exist_ok=True)
    net.export(str(model_dir / prefix), epoch=0)
    write_layout(model_dir, prefix, [1, 3, 224, 224], [f"n{i:08d} class_{i}" for i in range(1000)])
    return model_dir


@dataclass(frozen=True)
class DigitsSplit:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def digits_split(seed: int = 0) -> DigitsSplit:
    """The 8x8 digits, scaled to [0, 1], with a fixed held-out quarter."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    y = data.target.astype("int64")
    train_x, test_x, train_y, test_y = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    return DigitsSplit(train_x, train_y, test_x, test_y)


def train_digits(model_dir: Path, hidden: int = 64, epochs: int = 20, seed: int = 0) -> float:
    """Trains a small MLP on the digits, exports it, and returns its held-out accuracy.

    `hidden=8, epochs=1` (about 0.66) gives a visibly weaker model than the defaults, which is
    what the demo's v1 → v2 story needs.
    """
    mx = _import_mxnet()
    from mxnet import autograd, gluon

    split = digits_split()
    mx.random.seed(seed)
    np.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(hidden, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    batches = gluon.data.DataLoader(
        gluon.data.ArrayDataset(split.train_x, split.train_y.astype("float32")), batch_size=32, shuffle=True
    )
    for _ in range(epochs):
        for xb, yb in batches:
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(xb.shape[0])
    predicted = net(mx.nd.array(split.test_x)).argmax(axis=1).asnumpy().astype("int64")
    model_dir.mkdir(parents=True, exist_ok=True)
    net.export(str(model_dir / "digits"), epoch=0)
    write_layout(model_dir, "digits", [1, 64], [str(d) for d in range(10)])
    return float((predicted == split.test_y).mean())


FLAKY_FROM = 0.7  # digits_flaky fails on inputs whose first feature is at least this (zeros, its warm-up, pass)


def export_flaky_digits(model_dir: Path) -> Path:
    """The digits MLP, whose graph fails on inputs whose first feature is at least FLAKY_FROM (30 % of
    inputs whose first feature is uniform in [0, 1]).

    FLAKY_FROM minus each input's first feature is factorised as a 1x1 matrix (a Cholesky factorisation), which
    MXNet refuses for a value that is not positive: the forward pass raises, and the container's MMS handler
    answers that request 500 (its model failed), as a model with a bug on part of its inputs would. Its answers
    to the other inputs are the digits MLP's own: the factor is added times zero.
    """
    mx = _import_mxnet()

    train_digits(model_dir)
    net = mx.sym.load(str(model_dir / "digits-symbol.json"))
    data = net.get_internals()["data"]
    first = mx.sym.reshape(FLAKY_FROM - mx.sym.slice_axis(data, axis=1, begin=0, end=1), shape=(-1, 1, 1))
    guard = mx.sym.reshape(mx.sym.sum(mx.sym.linalg.potrf(first), axis=(1, 2)), shape=(-1, 1))
    flaky = mx.sym.broadcast_add(net, guard * 0, name="flaky")
    flaky.save(str(model_dir / "digits-symbol.json"))
    return model_dir


TWO_INPUTS = [{"name": "pixels", "shape": [1, 1, 4, 4]}, {"name": "extra", "shape": [1, 3]}]


def export_two_input(model_dir: Path, seed: int = 0) -> Path:
    """A small symbolic network with two inputs (a 4x4 picture and 3 numbers) and 5 classes, random weights."""
    mx = _import_mxnet()

    mx.random.seed(seed)
    pixels, extra = (mx.sym.var(entry["name"]) for entry in TWO_INPUTS)
    seen = mx.sym.FullyConnected(mx.sym.flatten(pixels), num_hidden=8, name="seen")
    told = mx.sym.FullyConnected(extra, num_hidden=8, name="told")
    joined = mx.sym.Activation(mx.sym.concat(seen, told, dim=1), act_type="relu")
    head = mx.sym.FullyConnected(joined, num_hidden=5, name="head")
    module = mx.mod.Module(head, data_names=[e["name"] for e in TWO_INPUTS], label_names=None, context=mx.cpu())
    module.bind(data_shapes=[(e["name"], tuple(e["shape"])) for e in TWO_INPUTS], for_training=False)
    module.init_params(mx.init.Xavier(magnitude=3))
    model_dir.mkdir(parents=True, exist_ok=True)
    module.save_checkpoint(str(model_dir / "two_input"), 0)
    (model_dir / "two_input-shapes.json").write_text(json.dumps(TWO_INPUTS))
    return model_dir


def pack(model_dir: Path, tarball: Path) -> Path:
    """Packs a model folder the way the AWS notebooks do (`arcname="."`)."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(model_dir, arcname=".")
    return tarball


def unpack(tarball: Path, folder: Path) -> Path:
    """Extracts one of our own tarballs (tarfile's "data" filter refuses anything unsafe)."""
    with tarfile.open(tarball) as tar:
        tar.extractall(folder, filter="data")
    return folder


def cached_tarball(name: str) -> Path:
    """A packed model, built once and kept under .cache/models (git-ignored).

    Names: the keys of ZOO, `digits` (the default MLP), `digits_small` (weaker), `digits_flaky` (the default
    MLP failing on about 30 % of inputs) and `digits_h<N>` (an MLP of N hidden units trained one epoch: models
    of any size, for the planner's agreement with the gateway).
    """
    tarball = CACHE_DIR / f"{name}.tar.gz"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers build each model once
        if not tarball.exists():
            model_dir = CACHE_DIR / "dirs" / name
            if name == "digits":
                train_digits(model_dir)
            elif name == "digits_small":
                train_digits(model_dir, hidden=8, epochs=1)
            elif name == "digits_flaky":
                export_flaky_digits(model_dir)
            elif name.startswith("digits_h") and name[len("digits_h"):].isdigit():
                train_digits(model_dir, hidden=int(name[len("digits_h"):]), epochs=1)
            else:
                export_zoo(name, model_dir)
            partial = tarball.with_suffix(".partial")
            pack(model_dir, partial)
            partial.replace(tarball)
    return tarball
