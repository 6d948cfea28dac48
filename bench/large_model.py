"""The 220 MB ResNet-152 through the local stack, each against a reference measured in the same run:

- drop -> version (goal: <= 1.3x): from the end of the put into incoming/ until `GET /models/{name}`
  shows the version, against the validator alone on the same file (validate_file, in this process);
  beside it, the emulator's own CopyObject of the same object (the server-side copy every accepted
  version makes, which moto performs by reading, writing and hashing all of it), so the line also
  says how far the drop is from validator + copy, the floor of a validate-then-copy ingest here;
- cold TargetModel through the gateway (goal: <= 1.3x): the first invoke_endpoint of the new version
  (download from the emulator, check, extract, load into MMS, first answer) against a fresh Python
  doing a plain download of the same object (one GetObject, as the gateway reads it: boto3's
  download_file splits it into ranged GETs, and moto reads the whole object for each range), a
  `tarfile` extract and an MXNet load + first forward.

    .venv/bin/python bench/large_model.py [--rounds 2] [--json PATH]

Starts `python -m local_stack up` on free ports (local_stack.background) and stops it at the end.
Uploads carry `x-amz-meta-warmup: false`, so the version's first load is the measured cold invoke.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "registry_app"))

import boto3  # noqa: E402
import requests  # noqa: E402
from botocore.config import Config  # noqa: E402

from chalicelib.validation import validate_file  # noqa: E402
from common import PLAIN_MXNET_LOAD, GoalLines, add_json_option, jpeg  # noqa: E402
from local_stack.background import BackgroundStack  # noqa: E402
from local_stack.demo.sample_models import cached_tarball  # noqa: E402
from local_stack.stack import local_endpoint_settings  # noqa: E402


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def drop_to_version(s3, api_url: str, bucket: str, tarball: Path, name: str, timeout: float = 300) -> tuple[float, float]:
    """(put seconds, seconds from the end of the put until the version is listed)."""
    put = timed(lambda: s3.upload_file(str(tarball), bucket, f"incoming/{name}.tar.gz",
                                       ExtraArgs={"Metadata": {"warmup": "false"}}))
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        answer = requests.get(f"{api_url}/models/{name}", timeout=30)
        if answer.status_code == 200 and answer.json().get("latest_version"):
            return put, time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not become a version within {timeout:.0f} s")


def cold_invoke(runtime, endpoint: str, target_model: str, body: bytes, timeout: float = 300) -> float:
    """Wall time of the first answer, counting ModelNotReadyException retries (as AliasClient would)."""
    started = time.perf_counter()
    while True:
        try:
            runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=target_model, Body=body,
                                    ContentType="image/jpeg")["Body"].read()
            return time.perf_counter() - started
        except runtime.exceptions.ModelNotReadyException:
            if time.perf_counter() - started > timeout:
                raise
            time.sleep(0.1)


def emulator_copy(s3, bucket: str, key: str) -> float:
    """Seconds of one CopyObject of `key` to a scratch key (deleted after), as the ingest copies a version."""
    scratch = f"bench-scratch/{key.rsplit('/', 1)[-1]}"
    seconds = timed(lambda: s3.copy_object(Bucket=bucket, Key=scratch, CopySource={"Bucket": bucket, "Key": key}))
    s3.delete_object(Bucket=bucket, Key=scratch)
    return seconds


PLAIN = """
import json, sys, tarfile, time, pathlib
t0 = time.perf_counter()
import boto3, mxnet as mx
from botocore.config import Config
bucket, key, workdir = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
# as the gateway reads it: moto gives a multipart object's composite checksum as a whole-object one
s3 = boto3.Session(region_name="us-east-1").client("s3", config=Config(response_checksum_validation="when_required"))
t1 = time.perf_counter()
with open(workdir / "model.tar.gz", "wb") as file:
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        file.write(chunk)
t2 = time.perf_counter()
with tarfile.open(workdir / "model.tar.gz") as archive:
    archive.extractall(workdir / "model", filter="data")
t3 = time.perf_counter()
prefix = str(workdir / "model" / "resnet-152")
""" + PLAIN_MXNET_LOAD + """
t4 = time.perf_counter()
print(json.dumps({"total": t4 - t0, "download": t2 - t1, "extract": t3 - t2, "load_forward": t4 - t3}))
"""


def plain_cold(env: dict, bucket: str, key: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as workdir:
        out = subprocess.run([sys.executable, "-c", PLAIN, bucket, key, workdir], capture_output=True, text=True,
                             env={**os.environ, **env}, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"the plain reference failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds: int, goals: GoalLines) -> int:
    tarball = cached_tarball("resnet_152")
    size = tarball.stat().st_size
    validate_file(tarball)  # the page cache holds the file for every measurement below
    with tempfile.TemporaryDirectory(prefix="bench-large-") as workdir:
        with BackgroundStack(Path(workdir)) as stack:
            env = {**stack.env}
            session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
            s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
            runtime = session.client("sagemaker-runtime", endpoint_url=env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"],
                                     config=Config(read_timeout=600, retries={"max_attempts": 1}))
            local = local_endpoint_settings()
            bucket, endpoint, models_prefix = local["bucket"], local["endpoint_name"], local["models_prefix"]
            api_url = env["MME_REGISTRY_URL"]
            image = jpeg()
            rows = []
            for index in range(rounds):
                validator = timed(lambda: validate_file(tarball))
                name = f"bench_resnet152_{index}"
                put, version = drop_to_version(s3, api_url, bucket, tarball, name)
                cold = cold_invoke(runtime, endpoint, f"{name}_v1.tar.gz", image)
                key = f"{models_prefix}{name}_v1.tar.gz"
                plain = plain_cold(env, bucket, key)
                copy = emulator_copy(s3, bucket, key)
                rows.append((validator, put, version, cold, plain, copy))
                print(f"round {index + 1}: validator {validator:.2f} s; put {put:.2f} s, then version after "
                      f"{version:.2f} s; the emulator's CopyObject {copy:.2f} s; "
                      f"cold invoke {cold:.2f} s; plain {plain['total']:.2f} s "
                      f"(download {plain['download']:.2f}, extract {plain['extract']:.2f}, "
                      f"load + forward {plain['load_forward']:.2f})", flush=True)
    best = lambda column: min(row[column] for row in rows)  # noqa: E731
    best_plain = min((row[4] for row in rows), key=lambda p: p["total"])
    print(f"\nResNet-152, {size / 1e6:.0f} MB; best of {rounds}; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    print(f"drop -> version (after the put) / validator alone: {best(2) / best(0):.2f} "
          f"({best(2):.2f} s / {best(0):.2f} s; goal <= 1.3); the put itself {best(1):.2f} s")
    floor = best(0) + best(5)
    print(f"  drop -> version / (validator + the emulator's CopyObject of the same object): {best(2) / floor:.2f} "
          f"({best(2):.2f} s / {best(0):.2f} + {best(5):.2f} s); one GetObject of it: "
          f"{min(row[4]['download'] for row in rows):.2f} s")
    print(f"cold TargetModel through the gateway / plain download + tarfile + MXNet: "
          f"{best(3) / best_plain['total']:.2f} ({best(3):.2f} s / {best_plain['total']:.2f} s; goal <= 1.3); plain: "
          f"download {best_plain['download']:.2f}, extract {best_plain['extract']:.2f}, "
          f"load + forward {best_plain['load_forward']:.2f} s")
    goals.ratio("4", "ResNet-152 (220 MB) drop -> version / the validator alone", best(2) / best(0),
                f"{best(2):.2f} / {best(0):.2f} s", at_most=1.3)
    goals.ratio("4", "  the same / (validator + the emulator's CopyObject of the same object)", best(2) / floor,
                f"{best(2):.2f} / ({best(0):.2f} + {best(5):.2f}) s")
    goals.ratio("3", "cold TargetModel via the gateway / download + tarfile + MXNet load in a fresh Python",
                best(3) / best_plain["total"], f"{best(3):.2f} / {best_plain['total']:.2f} s", at_most=1.3)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("large_model.py")
    status = run(args.rounds, goals)
    goals.write(args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
