"""`make demo`: the whole registry, end to end, on this machine, in a few minutes.

Starts the local stack, builds real MXNet models, uploads them into the drop folder,
serves them by alias, moves and rolls back the alias, shows a hostile tarball being
rejected, trains a small TensorFlow CNN and serves it by alias from the TF endpoint, and
stops everything it started.
"""
from __future__ import annotations

import io
import shutil
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress

from local_stack.stack import REPO, Stack, StackConfig

console = Console(highlight=False)
ALIAS = "digits"
CALLER_TTL = 2.0  # the demo's caller re-reads aliases every 2 s (30 s by default)


def step(number: int, title: str) -> None:
    console.print()
    console.rule(f"[bold]{number}. {title}", align="left")


def build_models(built: dict, tf_folder: Path) -> None:
    """Builds (or reuses from .cache/models) the three MXNet tarballs and trains the TF CNNs, while the stack starts."""
    from local_stack.demo.sample_models import cached_tarball
    from local_stack.demo.tf_sample_models import train_cnns

    try:
        for name in ("digits_small", "digits", "resnet_18"):
            started = time.monotonic()
            built[name] = cached_tarball(name)
            built[f"{name}_seconds"] = time.monotonic() - started
        started = time.monotonic()
        built["tensorflow"] = train_cnns(tf_folder)
        built["tensorflow_seconds"] = time.monotonic() - started
    except BaseException as error:  # noqa: BLE001 - reported by the main thread
        built["error"] = error


def upload(path: Path, name: str, aliases: list[str] | None = None):
    from client.commands import print_outcome
    from client.uploads import upload_model

    columns = ("  [progress.description]{task.description}", BarColumn(), DownloadColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"uploading {path.name} as {name}", total=path.stat().st_size)
        outcome = upload_model(path, name, aliases, on_bytes=lambda n: progress.advance(task, n))
    print_outcome(outcome, console, indent="  ")
    return outcome


def accuracy(client, split) -> tuple[float, int]:
    """Classifies the held-out digits by alias; returns the accuracy and the version that answered."""
    result = client.invoke(ALIAS, _instances(split.test_x), content_type="application/json", accept="application/json")
    predicted = np.asarray(result.json()["predictions"]).argmax(axis=1)
    return float((predicted == split.test_y).mean()), result.version


def _instances(rows) -> str:
    import json

    return json.dumps({"instances": rows.tolist()})


def hostile_tarball() -> bytes:
    """A tarball that tries to write outside its folder: `../` in a member name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("model-symbol.json", b"{}"), ("../../etc/cron.d/innocent", b"* * * * * root sh\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sample_image() -> bytes:
    """A 224x224 JPEG drawn in code (no image can be downloaded)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (224, 224), (30, 120, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 184, 184), fill=(250, 200, 40))
    draw.rectangle((90, 150, 134, 220), fill=(90, 60, 30))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def run(stack: Stack, built: dict, models_thread: threading.Thread) -> None:
    from client import AliasClient
    from client.commands_alias import history_table, print_alias
    from local_stack.demo.sample_models import digits_split

    step(2, "Build real MXNet models (and, meanwhile, train two TensorFlow CNNs)")
    models_thread.join()
    if "error" in built:
        raise built["error"]
    for name, what in (("digits_small", "digits v1: a tiny MLP, 1 epoch (weak)"),
                       ("digits", "digits v2: a better MLP, 20 epochs"),
                       ("resnet_18", "ResNet-18 from the gluon model zoo (random weights)")):
        size = built[name].stat().st_size
        shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
        console.print(f"  {what}: {built[name].name}, {shown} ({built[name + '_seconds']:.1f} s)")

    step(3, f"Upload digits v1 into the drop folder, asking for alias '{ALIAS}'")
    upload(built["digits_small"], "digits", [ALIAS])

    step(4, f"Classify the held-out digits by alias '{ALIAS}'")
    split = digits_split()
    caller = AliasClient(cache_ttl=CALLER_TTL)  # the application: it only ever names the alias
    score, version = accuracy(caller, split)
    console.print(f"  {len(split.test_y)} held-out digits through alias '{ALIAS}' (served by v{version}): "
                  f"accuracy [bold]{score:.3f}[/]")

    step(5, f"Upload v2 and move '{ALIAS}' to it; the caller does not change")
    upload(built["digits"], "digits")
    print_alias(caller.registry.put_alias(ALIAS, {"model": "digits", "version": 2}), indent="  ")
    time.sleep(CALLER_TTL)  # the caller's alias cache expires; no restart, no new key
    score, version = accuracy(caller, split)
    console.print(f"  same caller, same alias, now served by v{version}: accuracy [bold]{score:.3f}[/]")

    step(6, "Roll the move back, and read the alias history")
    print_alias(caller.registry.rollback_alias(ALIAS), indent="  ")  # one call; itself a recorded change
    time.sleep(CALLER_TTL)
    score, version = accuracy(caller, split)
    console.print(f"  after the rollback the same caller is served by v{version} again: accuracy {score:.3f}")
    console.print(history_table(caller.registry.alias_history(ALIAS)))

    step(7, "Upload a hostile tarball (a member named ../../etc/cron.d/innocent)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sneaky.tar.gz"
        path.write_bytes(hostile_tarball())
        outcome = upload(path, "sneaky")
    console.print(f"  nothing of it reached models/: outcome [bold]{outcome.outcome}[/]")

    step(8, "Upload ResNet-18 and classify an image by alias 'resnet'")
    upload(built["resnet_18"], "resnet_18", ["resnet"])
    started = time.monotonic()
    result = caller.invoke("resnet", sample_image(), content_type="image/jpeg",
                           accept="application/json; verbose=true")
    console.print(f"  {result.target_model} answered in {time.monotonic() - started:.1f} s (already loaded by the registry's warm-up); "
                  "top 3 (random weights, so the classes mean nothing):")
    for row in result.json()[:3]:
        console.print(f"    {row['label']:<22} {row['probability']:.4f}")

    cifar = built["tensorflow"]["cifar"]
    step(9, "Drop a TensorFlow CNN and classify by alias 'cifar' on the TF Serving endpoint")
    console.print(f"  a Keras CNN on 32x32x3 pictures, trained in {built['tensorflow_seconds']:.0f} s and "
                  f"exported as a SavedModel ({cifar.tarball.stat().st_size / 1e3:.0f} kB: 1/saved_model.pb, 1/variables/)")
    upload(cifar.tarball, "cifar", ["cifar"])
    pictures, expected = np.load(cifar.inputs), np.load(cifar.probabilities)
    result = caller.invoke("cifar", _instances(pictures), content_type="application/json")
    served = np.asarray(result.json()["predictions"])
    same = int((served.argmax(axis=1) == expected.argmax(axis=1)).sum())
    console.print(f"  {len(pictures)} held-out pictures through alias 'cifar' (endpoint {result.endpoint}, "
                  f"{result.target_model}): {same}/{len(pictures)} classes as TensorFlow's own, "
                  f"max |probability difference| {np.abs(served - expected).max():.1e}")
    caller.close()  # its last per-model metrics go to CloudWatch now, while the stack's emulator still answers


def main() -> int:
    started = time.monotonic()
    console.rule("[bold]mme-registry demo")
    built: dict = {}
    config = StackConfig(workdir=REPO / ".local" / "demo").with_free_ports()  # never clashes with `make up`
    tf_folder = Path(tempfile.mkdtemp(prefix="demo-tf-"))
    models_thread = threading.Thread(target=build_models, args=(built, tf_folder), name="build-models", daemon=True)
    models_thread.start()
    step(1, "Start the local stack: AWS emulator, registry API, event pump, MMS, gateway, console")
    try:
        with Stack(config, say=lambda line: console.print(f"  {line}")) as stack:
            run(stack, built, models_thread)
            step(10, "Stop the stack")
    except KeyboardInterrupt:
        console.print("\ninterrupted: the stack was stopped")
        return 130
    finally:
        shutil.rmtree(tf_folder, ignore_errors=True)
    console.print(f"  every process the demo started has exited. Total: {time.monotonic() - started:.0f} s.")
    console.print("  Next: `make up` keeps the stack running for your own boto3 code (see README).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
