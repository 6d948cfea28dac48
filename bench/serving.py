"""What serving an image through the MME container costs against the same work in process
(issue goals: MMS invoke ≤ 1.1× in-process decode + resize + forward; two workers ≥ 1.8× one
worker's throughput, p99 ≤ 1.5× p50 under a steady closed loop; the local gateway with the
TargetModel warm ≤ 1.05× the direct MMS invoke).

    .venv/bin/python bench/serving.py [--requests N] [--skip-gateway] [--json PATH]

The reference is the handler's own code path run in this process (handler_inputs.decode of
the JPEG, Predictor.predict, handler_payloads.encode), with OMP_NUM_THREADS=1 as in an MMS
worker, so the ratio is exactly what MMS, its frontend hop and its worker protocol add.
Requests are paired (in process, then served) so a busy machine weighs on both sides alike.
MMS and the gateway are called the way the gateway calls MMS (urllib3, kept alive), so the
client's own Python (requests adds about 0.5 ms) is not counted as theirs; the gateway is also
timed through boto3, as a user meets it. Every process it starts is stopped before it returns.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before mxnet loads, as in an MMS worker

import urllib3  # noqa: E402

from common import GoalLines, add_json_option, jpeg, latency, timed  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "container"))

import handler_inputs  # noqa: E402
import handler_payloads  # noqa: E402
import model_handler  # noqa: E402
from local_stack.runtime.mms.backend import TARGET_MODEL_HEADER, start_mms  # noqa: E402
from local_stack.demo.sample_models import cached_tarball, unpack  # noqa: E402

MODEL = "resnet_18"
IMAGE = "image/jpeg"


def in_process(predictor: model_handler.Predictor, body: bytes) -> bytes | str:
    """The handler's work for one request, minus MMS: decode + resize + forward + encode."""
    decoded = handler_inputs.decode(body, IMAGE, None, predictor.inputs)
    answer, _ = handler_payloads.encode(predictor.predict(decoded.batch), decoded, predictor.labels)
    return answer


HTTP = urllib3.PoolManager(maxsize=4, retries=False)  # the gateway's own client (local_stack/runtime/gateway.py)


def post(url: str, body: bytes, headers: dict, status: int = 200) -> bytes:
    response = HTTP.request("POST", url, body=body, headers={"Content-Type": IMAGE, **headers}, retries=False)
    assert response.status == status, response.data[:300]
    return response.data


def interleaved(count: int, *calls) -> list[list[float]]:
    """`count` rounds of every call, the order rotating each round; the latencies of each call."""
    samples: list[list[float]] = [[] for _ in calls]
    for index in range(count):
        for which in (list(range(index % len(calls), len(calls))) + list(range(index % len(calls)))):
            samples[which].append(timed(calls[which])[0])
    return samples


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
    return {"frontend": latency(access), "worker": latency(backend)}


def report_mms(tmp: Path, count: int, seconds: float, warmup: int) -> dict:
    model_dir = unpack(cached_tarball(MODEL), tmp / MODEL)
    body = jpeg()
    predictor = model_handler.Predictor(model_dir)
    expected = in_process(predictor, body)
    rows = {}
    with start_mms(tmp / "mms") as server:
        for workers in (1, 2):
            name = f"w{workers}"
            assert server.load(name, model_dir, workers=workers).status_code == 200
            url = f"{server.url}/models/{name}/invoke"
            invoke = lambda: post(url, body, {TARGET_MODEL_HEADER: name})  # noqa: E731
            for _ in range(warmup):  # the connection, the worker's first requests
                invoke()
            for _ in range(50 * warmup):  # the frontend's JIT: its HTTP path costs 2.8 ms cold, 0.8 ms after 300
                post(f"{server.url}/models/none/invoke", body, {}, 404)
            served_answer = invoke()
            assert served_answer == (expected.encode() if isinstance(expected, str) else expected), \
                (served_answer, expected)
            if workers == 1:
                log = server.state_dir / "logs" / "mms_log.log"
                seen = log.stat().st_size
                refs, serves, hops = interleaved(count, lambda: in_process(predictor, body), invoke,
                                                 lambda: post(f"{server.url}/models/none/invoke", body, {}, 404))
                rows["reference"], rows["mms"], rows["hop"] = latency(refs), latency(serves), latency(hops)
                time.sleep(1)  # the frontend's logging is asynchronous
                rows.update(frontend_times(log, seen, name))
            rps, latencies = closed_loop(invoke, workers, seconds)
            rows[f"loop_w{workers}"] = {"rps": rps, **latency(latencies)}
            server.unload(name)
    return rows


def report_gateway(tmp: Path, count: int, warmup: int) -> dict:
    """Warm TargetModel through the local gateway vs the same model invoked on MMS directly, by the
    same client (the gateway's cost alone), and through boto3 (what a user's call costs)."""
    import boto3

    from local_stack.background import BackgroundStack
    from local_stack.runtime.model_cache import mms_name
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

        target = key.rsplit("/", 1)[1]
        gateway_url = f"{env['AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME']}/endpoints/{endpoint}/invocations"
        direct_url = f"{stack.info['mms_url']}/models/{mms_name(bucket, key)}/invoke"
        calls = {
            "mms_direct": lambda: post(direct_url, body, {}),
            "gateway": lambda: post(gateway_url, body, {"X-Amzn-SageMaker-Target-Model": target}),
            "gateway_boto3": lambda: runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=target, Body=body,
                                                             ContentType=IMAGE)["Body"].read(),
        }
        calls["gateway_boto3"]()  # the cold load
        for _ in range(warmup):
            assert len({call() for call in calls.values()}) == 1
        for _ in range(50 * warmup):  # the frontend's JIT, as in report_mms
            post(f"{stack.info['mms_url']}/models/none/invoke", body, {}, 404)
        return {name: latency(samples) for name, samples in zip(calls, interleaved(count, *calls.values()))}


def line(label: str, row: dict, reference: dict | None = None) -> str:
    text = f"  {label:34s} p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms   (n={row['n']})"
    return text + (f"   {row['p50'] / reference['p50']:5.2f}x" if reference else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="paired requests per comparison")
    parser.add_argument("--seconds", type=float, default=15, help="length of each closed-loop run")
    parser.add_argument("--warmup", type=int, default=30, help="invokes before any timing (and 50x as many 404s)")
    parser.add_argument("--skip-gateway", action="store_true")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("serving.py")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        rows = report_mms(Path(tmp), args.requests, args.seconds, args.warmup)
        print(f"\n== ResNet-18, one 320x240 JPEG, batch 1 (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}) ==")
        print(line("in process: decode+resize+forward", rows["reference"]))
        print(line("MMS invoke, 1 worker (goal <= 1.10x)", rows["mms"], rows["reference"]))
        print("  where the served time goes (MMS's own log, whole ms):")
        print(line("  frontend, HTTP in to HTTP out", rows["frontend"], rows["reference"]))
        print(line("  worker round trip, handler incl.", rows["worker"], rows["reference"]))
        print(line("  HTTP hop alone: same body, 404", rows["hop"]))
        mms, ref = rows["mms"]["p50"], rows["reference"]["p50"]
        goals.ratio("2", "ResNet-18 JPEG through MMS / in-process decode+resize+forward (p50)", mms / ref,
                    f"{mms:.1f} / {ref:.1f} ms", at_most=1.1)
        one, two = rows["loop_w1"], rows["loop_w2"]
        print(f"\n== closed loop, {args.seconds:.0f} s each, one client per worker ==")
        for label, row in (("1 worker", one), ("2 workers", two)):
            print(f"  {label:10s} {row['rps']:6.1f} req/s   p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms"
                  f"   p99/p50 {row['p99'] / row['p50']:4.2f} (goal <= 1.5)")
        print(f"  throughput 2 workers / 1 worker {two['rps'] / one['rps']:4.2f}x (goal >= 1.8x)")
        goals.ratio("2", "closed loop: 2 workers' req/s / 1 worker's", two["rps"] / one["rps"],
                    f"{two['rps']:.1f} / {one['rps']:.1f} req/s", at_least=1.8)
        goals.ratio("2", "closed loop, 2 workers: p99 / p50", two["p99"] / two["p50"],
                    f"{two['p99']:.1f} / {two['p50']:.1f} ms", at_most=1.5)
        if not args.skip_gateway:
            gateway = report_gateway(Path(tmp), args.requests, args.warmup)
            print("\n== warm TargetModel: local gateway vs the same model on MMS directly ==")
            print(line("MMS direct", gateway["mms_direct"]))
            print(line("gateway (goal <= 1.05x)", gateway["gateway"], gateway["mms_direct"]))
            print(line("gateway through boto3", gateway["gateway_boto3"], gateway["mms_direct"]))
            via, direct = gateway["gateway"]["p50"], gateway["mms_direct"]["p50"]
            goals.ratio("2", "warm TargetModel through the gateway / MMS direct (p50)", via / direct,
                        f"{via:.1f} / {direct:.1f} ms", at_most=1.05)
            boto = gateway["gateway_boto3"]["p50"]
            goals.ratio("2", "  the same through boto3 (its signing and parsing included)", boto / direct,
                        f"{boto:.1f} / {direct:.1f} ms")
    goals.write(args.json)


if __name__ == "__main__":
    main()
