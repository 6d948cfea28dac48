"""What `from mme_registry.client import AliasClient` costs an application at start-up,
against `import boto3` measured in the same run, the same venv, fresh interpreters.

    .venv/bin/python bench/client_import.py [--rounds 15] [--python VENV/bin/python] [--json PATH]

By default it measures the installed form: it builds the client wheel
(distributions/build.py) and installs it into a fresh, cached venv with nothing else
(tests/wheel_venv.py). Each round is a new interpreter, so every import is cold of
modules but warm of the page cache; the medians are printed with their ratio.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from common import GoalLines, add_json_option  # noqa: E402
from wheel_venv import application_env, wheel_venv  # noqa: E402

PROBE = """
import json, sys, time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
heavy = [m for m in ("boto3", "botocore", "pydantic", "pydantic_settings", "requests", "rich") if m in sys.modules]
print(json.dumps({{"seconds": elapsed, "modules": len(sys.modules), "loaded": heavy}}))
"""
STATEMENTS = {
    "import boto3": "import boto3",
    "from mme_registry.client import AliasClient": "from mme_registry.client import AliasClient",
}


def installed_python() -> Path:
    """The client wheel's interpreter in a fresh cached venv."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, str(REPO / "distributions" / "build.py"), "client", "--out", out],
                       check=True, capture_output=True)
        (wheel,) = Path(out).glob("mme_registry_client-*.whl")
        return wheel_venv(wheel) / "bin" / "python"


def probe(python: Path, statement: str, workdir: Path) -> dict:
    answer = subprocess.run([str(python), "-c", PROBE.format(statement=statement)], cwd=workdir, check=True,
                            capture_output=True, text=True, env=application_env(python.parent.parent, workdir))
    return json.loads(answer.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--python", type=Path, help="an interpreter with mme-registry-client installed")
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("client_import.py")
    python = args.python or installed_python()
    samples: dict[str, list[dict]] = {name: [] for name in STATEMENTS}
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(args.rounds):  # interleaved, so load on the machine hits both alike
            for name, statement in STATEMENTS.items():
                samples[name].append(probe(python, statement, Path(workdir)))
    medians = {name: statistics.median(s["seconds"] for s in runs) for name, runs in samples.items()}
    for name, runs in samples.items():
        print(f"{name:<46} {medians[name] * 1000:7.1f} ms  (median of {len(runs)}; {runs[-1]['modules']} modules; "
              f"loads {', '.join(runs[-1]['loaded']) or 'none of the heavy ones'})")
    client, boto3 = medians["from mme_registry.client import AliasClient"], medians["import boto3"]
    print(f"ratio AliasClient / boto3: {client / boto3:.2f}x")
    goals.ratio("", "importing AliasClient (installed wheel) / import boto3", client / boto3,
                f"{client * 1000:.0f} / {boto3 * 1000:.0f} ms")
    goals.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
