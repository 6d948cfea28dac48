"""What serving an image through the MME container costs against the same work in process
(issue goals: MMS invoke ≤ 1.1× in-process decode + resize + forward; two workers ≥ 1.8× one
worker's throughput, p99 ≤ 1.5× p50 under a steady closed loop; the local gateway with the
TargetModel warm ≤ 1.05× the direct MMS invoke).

    .venv/bin/python bench/serving.py [--requests N] [--skip-gateway]

The reference is the handler's own code path run in this process (handler_inputs.decode of
the JPEG, Predictor.predict, handler_payloads.encode), with OMP_NUM_THREADS=1 as in an MMS
worker, so the ratio is exactly what MMS, its frontend hop and its worker protocol add.
Requests are paired (in process, then served) so a busy machine weighs on both sides alike.
Every process it starts is stopped before it returns.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before mxnet loads, as in an MMS worker

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "container"))

import handler_inputs  # noqa: E402
import handler_payloads  # noqa: E402
import model_handler  # noqa: E402
from local_stack.mms import start_mms  # noqa: E402
from local_stack.sample_models import cached_tarball, unpack  # noqa: E402

MODEL = "resnet_18"
IMAGE = "image/jpeg"


def jpeg(width: int = 320, height: int = 240) -> bytes:
    """A 320×240 photo-like JPEG (smooth gradients plus noise), the size the issue measures."""
    from PIL import Image

    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def in_process(predictor: model_handler.Predictor, body: bytes) -> bytes | str:
    """The handler's work for one request, minus MMS: decode + resize + forward + encode."""
    decoded = handler_inputs.decode(body, IMAGE, None, predictor.inputs)
    answer, _ = handler_payloads.encode(predictor.predict(decoded.batch), decoded, predictor.labels)
    return answer


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def ms(samples: list[float]) -> dict:
    values = np.array(samples) * 1000
    return {"p50": float(np.median(values)), "p99": float(np.percentile(values, 99)), "n": len(values)}


def paired(count: int, reference, served) -> tuple[list[float], list[float]]:
    """`count` pairs, alternating which side goes first."""
    refs, serves = [], []
    for index in range(count):
        order = ((refs, reference), (serves, served)) if index % 2 == 0 else ((serves, served), (refs, reference))
        for samples, call in order:
            samples.append(timed(call)[0])
    return refs, serves


def closed_loop(call, clients: int, seconds: float) -> tuple[float, list[float]]:
    """Each client sends its next request as soon as the last answered; (requests/s, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        mine = []
        while time.perf_counter() < stop_at:
            mine.append(timed(call)[0])
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def frontend_times(log: Path, offset: int, model: str) -> dict:
    """Where MMS's time goes, from its own log (whole milliseconds): the frontend's request time
    (ACCESS_LOG, HTTP in to HTTP out) and the worker round trip ("Backend response time":
    frontend to the Python worker and back, the handler included)."""
    with open(log, "rb") as f:
        f.seek(offset)
        lines = list(dict.fromkeys(f.read().decode(errors="replace").splitlines()))  # MMS logs some lines twice
    thread = f"-{model} "
    backend = [float(l.rsplit(" ", 1)[1]) / 1000 for l in lines if thread in l and "Backend response time:" in l]
    access = [float(l.rsplit(" ", 1)[1]) / 1000 for l in lines
              if thread in l and "ACCESS_LOG" in l and f"/models/{model}/invoke" in l]
    return {"frontend": ms(access), "worker": ms(backend)}


def ok(result):
    assert result.status == 200, result.body[:300]
    return result.body


def report_mms(tmp: Path, count: int, seconds: float) -> dict:
    model_dir = unpack(cached_tarball(MODEL), tmp / MODEL)
    body = jpeg()
    predictor = model_handler.Predictor(model_dir)
    expected = in_process(predictor, body)
    rows = {}
    with start_mms(tmp / "mms") as server:
        for workers in (1, 2):
            name = f"w{workers}"
            assert server.load(name, model_dir, workers=workers).status_code == 200
            for _ in range(5):  # the connection, the worker's first requests
                ok(server.invoke(name, body, IMAGE))
            served_answer = ok(server.invoke(name, body, IMAGE))
            assert served_answer == (expected.encode() if isinstance(expected, str) else expected), \
                (served_answer, expected)
            if workers == 1:
                log = server.state_dir / "logs" / "mms_log.log"
                seen = log.stat().st_size
                refs, serves = paired(count, lambda: in_process(predictor, body),
                                      lambda: ok(server.invoke(name, body, IMAGE)))
                rows["reference"], rows["mms"] = ms(refs), ms(serves)
                time.sleep(1)  # the frontend's logging is asynchronous
                rows.update(frontend_times(log, seen, name))
            rps, latencies = closed_loop(lambda: ok(server.invoke(name, body, IMAGE)), workers, seconds)
            rows[f"loop_w{workers}"] = {"rps": rps, **ms(latencies)}
            server.unload(name)
    return rows


def report_gateway(tmp: Path, count: int) -> dict:
    """Warm TargetModel through the local gateway vs the same model invoked on MMS directly."""
    import boto3
    import requests

    from local_stack.background import BackgroundStack
    from local_stack.model_cache import mms_name
    from local_stack.stack import local_endpoint_settings

    body = jpeg()
    with BackgroundStack(tmp / "stack") as stack:
        env = stack.env
        aws = boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                            region_name=env["AWS_DEFAULT_REGION"])
        s3 = aws.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
        local = local_endpoint_settings()
        bucket, key, endpoint = local["bucket"], local["models_prefix"] + "bench-serving_v1.tar.gz", local["endpoint_name"]
        s3.upload_file(str(cached_tarball(MODEL)), bucket, key)
        runtime = aws.client("sagemaker-runtime", endpoint_url=env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"])

        def via_gateway():
            return runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=key.rsplit("/", 1)[1], Body=body,
                                           ContentType=IMAGE)["Body"].read()

        via_gateway()  # the cold load
        direct_url = f"{stack.info['mms_url']}/models/{mms_name(bucket, key)}/invoke"
        http = requests.Session()

        def direct():
            response = http.post(direct_url, data=body, headers={"Content-Type": IMAGE})
            assert response.status_code == 200, response.text[:300]
            return response.content

        for _ in range(5):
            assert direct() == via_gateway()
        refs, serves = paired(count, direct, via_gateway)
        return {"mms_direct": ms(refs), "gateway": ms(serves)}


def line(label: str, row: dict, reference: dict | None = None) -> str:
    text = f"  {label:34s} p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms   (n={row['n']})"
    return text + (f"   {row['p50'] / reference['p50']:5.2f}x" if reference else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="paired requests per comparison")
    parser.add_argument("--seconds", type=float, default=15, help="length of each closed-loop run")
    parser.add_argument("--skip-gateway", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        rows = report_mms(Path(tmp), args.requests, args.seconds)
        print(f"\n== ResNet-18, one 320x240 JPEG, batch 1 (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}) ==")
        print(line("in process: decode+resize+forward", rows["reference"]))
        print(line("MMS invoke, 1 worker (goal <= 1.10x)", rows["mms"], rows["reference"]))
        print("  where the served time goes (MMS's own log, whole ms):")
        print(line("  frontend, HTTP in to HTTP out", rows["frontend"], rows["reference"]))
        print(line("  worker round trip, handler incl.", rows["worker"], rows["reference"]))
        one, two = rows["loop_w1"], rows["loop_w2"]
        print(f"\n== closed loop, {args.seconds:.0f} s each, one client per worker ==")
        for label, row in (("1 worker", one), ("2 workers", two)):
            print(f"  {label:10s} {row['rps']:6.1f} req/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms"
                  f"   p99/p50 {row['p99'] / row['p50']:4.2f} (goal <= 1.5)")
        print(f"  throughput 2 workers / 1 worker {two['rps'] / one['rps']:4.2f}x (goal >= 1.8x)")
        if not args.skip_gateway:
            gateway = report_gateway(Path(tmp), args.requests)
            print("\n== warm TargetModel: local gateway vs the same model on MMS directly ==")
            print(line("MMS direct", gateway["mms_direct"]))
            print(line("gateway (goal <= 1.05x)", gateway["gateway"], gateway["mms_direct"]))


if __name__ == "__main__":
    main()
