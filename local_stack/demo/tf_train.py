"""Trains two small Keras CNNs in seconds and packs each as a TF Serving MME tarball
(`1/saved_model.pb`, `1/variables/…` at the root), with held-out inputs and TensorFlow's own
probabilities for them beside it. Runs under the TF venv; tf_sample_models.py calls it.

The data are synthetic (nothing can be downloaded): each class is a fixed random picture seen
through noise, which a two-layer CNN tells apart within a few epochs. The two models stand for
the notebook's CIFAR-10 classifier (32×32×3) and its sign-language digits model (64×64×3 here
instead of 224×224×3, to train in seconds).
"""
from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from pathlib import Path

import numpy as np

MODELS = {"cifar": (32, 32, 3), "sign-language": (64, 64, 3)}
CLASSES = 10
HELD_OUT = 16


def synthetic(shape, seed: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    templates = np.random.default_rng(len(shape) * 1000 + shape[0]).random((CLASSES, *shape), dtype=np.float32)
    labels = np.repeat(np.arange(CLASSES), per_class)
    rng.shuffle(labels)
    noise = rng.random((len(labels), *shape), dtype=np.float32)
    return (0.6 * templates[labels] + 0.4 * noise).astype(np.float32), labels


def train(shape, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape, name="image"), keras.layers.Conv2D(8, 3, activation="relu"),
              keras.layers.MaxPooling2D(2 if shape[0] <= 32 else 4), keras.layers.Conv2D(16, 3, activation="relu"),
              keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(CLASSES, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = synthetic(shape, seed, per_class=40)
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    return model


def pack(model, tarball: Path) -> None:
    """The SavedModel as version 1, at the archive root, as TF Serving on an MME reads it."""
    with tempfile.TemporaryDirectory() as folder:
        model.export(str(Path(folder) / "1"), format="tf_saved_model", verbose=False)
        with tarfile.open(tarball, "w:gz") as archive:
            archive.add(Path(folder) / "1", arcname="1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for index, (name, shape) in enumerate(MODELS.items()):
        model = train(shape, args.seed + index)
        x, y = synthetic(shape, args.seed + 100 + index, per_class=HELD_OUT // CLASSES + 1)
        x, y = x[:HELD_OUT], y[:HELD_OUT]
        probabilities = model.predict(x, verbose=0)
        pack(model, args.out / f"{name}.tar.gz")
        np.save(args.out / f"{name}-held-out.npy", x)
        np.save(args.out / f"{name}-tf-probabilities.npy", probabilities)
        manifest[name] = {"tarball": f"{name}.tar.gz", "inputs": f"{name}-held-out.npy",
                          "probabilities": f"{name}-tf-probabilities.npy", "input_name": "image",
                          "shape": list(shape), "held_out_accuracy": float((probabilities.argmax(1) == y).mean())}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
