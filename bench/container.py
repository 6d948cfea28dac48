"""Benchmarks the MME container: executor variants, warm latency and throughput through a
real MMS, and cold load time against plain MXNet measured in the same run; then the TF Serving
backend's cold load and warm latency against plain in-process TensorFlow on the same SavedModel
and inputs, and what building the TF environment adds to a fresh clone's set-up.

    .venv/bin/python bench/container.py [--requests N] [--skip-variants] [--skip-mms] [--skip-tf] [--tf-setup]
                                        [--json PATH]

Everything runs with OMP_NUM_THREADS=1, which is what MMS gives each worker unless told
otherwise, so the in-process numbers compare like with like. Request counts are bounded;
every process it starts is stopped before it returns.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before mxnet loads, as in an MMS worker

import numpy as np  # noqa: E402

from common import PLAIN_MXNET_LOAD, GoalLines, add_json_option, jpeg, latency, timed  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "container"))

import model_handler  # noqa: E402
from local_stack.environments import tf_env  # noqa: E402
from local_stack.runtime.mms.backend import start_mms  # noqa: E402
from local_stack.runtime.tensorflow.backend import TfServingServer  # noqa: E402
from local_stack.demo.tf_sample_models import train_cnns  # noqa: E402
from local_stack.demo.sample_models import cached_tarball, unpack  # noqa: E402

MODELS = {"resnet_18": "resnet-18", "squeezenet_v1.0": "squeezenet_v1.0"}


def extract(name: str, into: Path) -> Path:
    return unpack(cached_tarball(name), into / name)


def fmt(s: dict) -> str:
    return f"median {s['median']:8.2f} ms   p99 {s['p99']:8.2f} ms   (n={s['n']})"


# --- 1. executor variants, in process ---------------------------------------------------


def compare_variants(model_dir: Path, rounds: int, per_round: int, loads: int = 3) -> dict[str, dict]:
    """Load time and warm batch-1 latency of every executor variant, interleaved round by round.

    Loads rotate too (A B C D, A B C D, ...) so no variant alone pays for a cold cache.
    """
    variants = list(model_handler.EXECUTOR_VARIANTS)
    results = {v: {"load_s": [], "samples": []} for v in variants}
    predictors = {}
    for _ in range(loads):
        for variant in variants:
            start = time.perf_counter()
            predictors[variant] = model_handler.Predictor(model_dir, variant=variant)  # includes a first forward
            results[variant]["load_s"].append(time.perf_counter() - start)
    batch = np.random.default_rng(0).random(predictors[variants[0]].input_shape, dtype=np.float32)
    reference = predictors[variants[0]].predict(batch)
    for _ in range(rounds):
        for variant, predictor in predictors.items():
            for _ in range(per_round):
                start = time.perf_counter()
                out = predictor.predict(batch)
                results[variant]["samples"].append(time.perf_counter() - start)
            results[variant]["max_diff"] = float(np.abs(out - reference).max())
    return results


def report_variants(tmp: Path) -> None:
    print("\n== Executor variants (in process, batch 1, interleaved rounds; load = median of 3) ==")
    # One throwaway load first: the first MKLDNN use in a process pays a one-time setup.
    model_handler.Predictor(extract("digits", tmp), variant="module")
    for name in MODELS:
        print(f"{name}:")
        for variant, r in compare_variants(extract(name, tmp / "variants"), rounds=10, per_round=10).items():
            mark = "  <- EXECUTOR" if variant == model_handler.EXECUTOR else ""
            print(f"  {variant:20s} load {np.median(r['load_s']) * 1000:7.1f} ms   {fmt(latency(r['samples']))}"
                  f"   max|diff| {r['max_diff']:.1e}{mark}")


# --- 2. through MMS -----------------------------------------------------------------------


def sequential(server, name, body, content_type, count, predictor=None, x=None) -> tuple[list[float], list[float]]:
    """MMS request latencies, each paired with one in-process forward run just before it.

    Pairing keeps the ratio honest on a busy machine: both sides see the same load.
    """
    served, direct = [], []
    for _ in range(count):
        if predictor is not None:
            direct.append(timed(lambda: predictor.predict(x))[0])
        seconds, result = timed(lambda: server.invoke(name, body, content_type))
        assert result.status == 200, result.body[:300]
        served.append(seconds)
    return served, direct


def throughput(server, name, body, content_type, count, clients) -> float:
    def one(_):
        result = server.invoke(name, body, content_type)
        assert result.status == 200, result.body[:300]

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - start)


def plain_mxnet_cold(model_dir: Path, prefix: str) -> tuple[float, float]:
    """(import + load + first forward, load + first forward) in a fresh Python, as a worker starts."""
    script = f"""
import time; t0 = time.perf_counter()
import json, mxnet as mx, numpy as np
t1 = time.perf_counter()
prefix = {str(model_dir / prefix)!r}
""" + PLAIN_MXNET_LOAD + """
t2 = time.perf_counter()
print(json.dumps([t2 - t0, t2 - t1]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def report_mms(tmp: Path, count: int, goals: GoalLines) -> None:
    model_dir = extract("resnet_18", tmp / "mms-models")
    shape = [1, 3, 224, 224]
    json_body = json.dumps({"instances": np.random.default_rng(2).random(shape, dtype=np.float32).tolist()})
    image_body = jpeg()
    in_process = model_handler.Predictor(model_dir)
    x = np.random.default_rng(3).random(shape, dtype=np.float32)

    with start_mms(tmp / "mms") as server:
        print("\n== ResNet-18 cold load: extracted model -> first answer ==")
        load_s, response = timed(lambda: server.load("cold", model_dir))
        assert response.status_code == 200, response.text
        first_s, _ = timed(lambda: server.invoke("cold", image_body, "image/jpeg"))
        plain_total, plain_load = plain_mxnet_cold(model_dir, "resnet-18")
        mms_cold = load_s + first_s
        print(f"  MMS: POST /models {load_s * 1000:7.0f} ms + first invoke {first_s * 1000:5.0f} ms"
              f" = {mms_cold * 1000:7.0f} ms")
        print(f"  plain MXNet, fresh process: import+load+forward {plain_total * 1000:7.0f} ms"
              f"   (load+forward {plain_load * 1000:5.0f} ms)")
        print(f"  ratio MMS / plain (with import) {mms_cold / plain_total:5.2f}x;"
              f" / plain (load+forward) {mms_cold / plain_load:5.2f}x")
        goals.ratio("3", "ResNet-18 cold in MMS (POST /models + first invoke) / a fresh Python's import+load+forward",
                    mms_cold / plain_total, f"{mms_cold:.2f} / {plain_total:.2f} s")
        server.unload("cold")

        print(f"\n== ResNet-18 warm through MMS; forward = the same model in this process, paired (JSON body"
              f" {len(json_body) / 1e6:.1f} MB, JPEG {len(image_body) / 1e3:.0f} kB) ==")
        for workers in (1, 2):
            name = f"resnet_w{workers}"
            assert server.load(name, model_dir, workers=workers).status_code == 200
            for label, body, ctype in (("JSON ", json_body, "application/json"), ("image", image_body, "image/jpeg")):
                sequential(server, name, body, ctype, 3)  # warm the connection and worker
                served, direct = sequential(server, name, body, ctype, count, in_process, x)
                answer, forward = latency(served), latency(direct)
                rps = throughput(server, name, body, ctype, count, clients=2 * workers)
                print(f"  {workers} worker(s) {label} {fmt(answer)}   {rps:6.1f} req/s ({2 * workers} clients)"
                      f"   forward median {forward['median']:6.2f} ms -> {answer['median'] / forward['median']:5.2f}x")
            server.unload(name)


# --- 3. the TF Serving backend ---------------------------------------------------------------


def plain_tf_cold(model_dir: Path, shape: tuple) -> tuple[float, float]:
    """(import + load + first call, load + first call) of the SavedModel in a fresh TF-venv Python."""
    script = f"""
import time; t0 = time.perf_counter()
import json, numpy as np, tensorflow as tf
t1 = time.perf_counter()
f = tf.saved_model.load({str(model_dir / "1")!r}).signatures["serving_default"]
f(image=tf.constant(np.zeros((1, *{tuple(shape)!r}), np.float32)))["output_0"].numpy()
t2 = time.perf_counter()
print(json.dumps([t2 - t0, t2 - t1]))
"""
    out = subprocess.run([str(tf_env.interpreter()), "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def report_tf(tmp: Path, count: int, goals: GoalLines) -> None:
    models = train_cnns(tmp / "tf-models")
    start_s, server = timed(lambda: TfServingServer(tmp / "tf-serving", start_timeout=180).start())
    print(f"\n== TF Serving backend process: start (Python + TensorFlow import) to first /ping {start_s:5.1f} s ==")
    with server:
        for name in ("cifar", "sign-language"):
            model, model_dir = models[name], unpack(models[name].tarball, tmp / "tf-dirs" / name)
            body = json.dumps({"instances": np.load(model.inputs)[:1].tolist()})
            print(f"\n== TF Serving backend, {name} CNN ({'x'.join(map(str, model.shape))}): cold load ==")
            load_s, response = timed(lambda: server.load(name, model_dir))
            assert response.status_code == 200, response.text
            first_s, _ = timed(lambda: server.invoke(name, body, "application/json"))
            plain_total, plain_load = plain_tf_cold(model_dir, model.shape)
            cold = load_s + first_s
            print(f"  backend: POST /models {load_s * 1000:6.0f} ms + first invoke {first_s * 1000:5.0f} ms"
                  f" = {cold * 1000:6.0f} ms (TF already imported in the backend)")
            print(f"  plain TF, fresh process: import+load+call {plain_total * 1000:6.0f} ms"
                  f"   (load+call {plain_load * 1000:5.0f} ms) -> backend / plain load+call {cold / plain_load:5.2f}x")
            goals.ratio("7", f"TF backend cold, {name} CNN / a fresh Python's load+call (import excluded)",
                        cold / plain_load, f"{cold * 1000:.0f} / {plain_load * 1000:.0f} ms")
            for batch in (1, 16):
                out = subprocess.run(
                    [str(tf_env.interpreter()), str(REPO / "bench" / "tf_latency.py"), "--url", server.url,
                     "--name", name, "--model-dir", str(model_dir), "--inputs", str(model.inputs),
                     "--batch", str(batch), "--count", str(count if batch > 1 else 3 * count)],
                    capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
                result = json.loads(out.stdout.strip().splitlines()[-1])
                served, direct, decoded, answered, hop = (latency(result[k]) for k in ("served", "direct", "decoded",
                                                                                        "answered", "hop"))
                print(f"  warm, batch {batch:2d} (JSON {result['body_bytes'] / 1e3:5.0f} kB): backend {fmt(served)}"
                      f"   max|diff| {result['max_diff']:.1e}\n"
                      f"      in-process TF: decode the JSON + call + encode the answer {answered['median']:7.2f} ms"
                      f" -> {served['median'] / answered['median']:5.2f}x;  without the answer"
                      f" {decoded['median']:7.2f} ms -> {served['median'] / decoded['median']:5.2f}x;"
                      f"  bare call on an array {direct['median']:6.2f} ms -> {served['median'] / direct['median']:5.2f}x\n"
                      f"      the HTTP hop alone (the same body to a model not loaded: 404) {hop['median']:6.2f} ms")
                goals.ratio("7", f"TF backend warm, {name} CNN batch {batch} / in-process TF decode+call+encode (p50)",
                            served["median"] / answered["median"],
                            f"{served['median']:.2f} / {answered['median']:.2f} ms", at_most=1.2)
                assert result["max_diff"] == 0, result["max_diff"]  # the backend answers what TF answers
            server.unload(name)


def report_tf_setup(tmp: Path) -> None:
    """Builds the TF venv from nothing into a scratch cache, as a fresh clone's `make` does (pip's own
    download cache off, so every wheel comes from the index)."""
    print("\n== TF environment set-up (fresh venv from requirements-tf.txt, no pip cache) ==")
    env = {**os.environ, "MME_REGISTRY_CACHE": str(tmp / "fresh-cache"), "PIP_NO_CACHE_DIR": "1"}
    argv = [sys.executable, "-m", "local_stack.environments.tf_env"]
    seconds, _ = timed(lambda: subprocess.run(argv, env=env, check=True, capture_output=True, cwd=REPO))
    size = sum(f.stat().st_size for f in (tmp / "fresh-cache").rglob("*") if f.is_file())
    print(f"  python -m local_stack.environments.tf_env: {seconds:5.1f} s, {size / 2**20:5.0f} MiB on disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per latency / throughput run")
    parser.add_argument("--skip-variants", action="store_true")
    parser.add_argument("--skip-mms", action="store_true")
    parser.add_argument("--skip-tf", action="store_true")
    parser.add_argument("--tf-setup", action="store_true", help="also time building the TF venv from nothing")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("container.py")
    with tempfile.TemporaryDirectory(prefix="bench-container-") as tmp:
        if not args.skip_variants:
            report_variants(Path(tmp))
        if not args.skip_mms:
            report_mms(Path(tmp), args.requests, goals)
        if not args.skip_tf:
            tf_env.interpreter()  # says how to build it if missing
            report_tf(Path(tmp), max(args.requests, 100), goals)
        if args.tf_setup:
            report_tf_setup(Path(tmp))
    goals.write(args.json)


if __name__ == "__main__":
    main()
