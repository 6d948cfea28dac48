"""The registry at 1,000 and at 100,000 versions: does every read still cost what it cost on a small table?

    .venv/bin/python bench/scale.py [--sizes 1000 100000] [--rounds 15] [--json PATH]

For each size a fresh AWS emulator (a child process, as `make up` runs it) is seeded by
`python -m local_stack.aws.seed` (10 versions a model, one alias a model), and the registry API
is served in this process (local_stack.aws.devserver, in a thread), so that botocore's event hooks
on the app's session see every DynamoDB call an operation makes: its round trips, the items it
read (a Query's ScannedCount, what a GetItem or BatchGetItem returned), and how long the API
waited for the emulator. Each operation's time is printed whole, and without that wait.

The emulator is moto with its DynamoDB costs made DynamoDB's (local_stack/aws/emulator.py,
dynamodb_gaps): moto itself walks and sorts every item of the table for each Query
(moto/dynamodb/models/table.py, Table.query over Table.all_items) and deep-copies the table for
each transaction, so on plain moto every read and alias move costs more as the table grows though
the registry asks for no more (the one-item Query printed below measured 136 ms on a table of
3,400 items before the gap was filled). What is left of the emulator's time is printed apart.
The registry's own work (round trips, items read) must not grow; its own time should stay within
1.5x. The change-event publisher is measured under 1,000 alias moves a minute.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "registry_app"))

import boto3  # noqa: E402
import requests  # noqa: E402

from common import GoalLines, add_json_option  # noqa: E402
from local_stack.aws import seed  # noqa: E402
from local_stack.aws.devserver import build_server  # noqa: E402
from local_stack.aws.provision import provision  # noqa: E402
from local_stack.processes.children import ChildProcess, free_port  # noqa: E402
from local_stack.stack import HOST, REGION  # noqa: E402

VERSIONS_PER_MODEL = 10
MOVES_PER_MINUTE = 1000
MOVE_SECONDS = 60  # 1,000 alias moves: one scheduled minute's worth


@dataclass
class Cost:
    """What one run of an operation cost: wall time, time with a DynamoDB call outstanding, calls and items."""

    seconds: float = 0.0
    waiting: float = 0.0
    calls: Counter = field(default_factory=Counter)
    items: int = 0
    api_requests: int = 0


class Meter:
    """Counts the DynamoDB calls made through a boto3 session (every thread), and the time they took."""

    def __init__(self):
        self._lock = threading.Lock()
        self._local = threading.local()
        self._intervals: list[tuple[float, float]] = []
        self.calls: Counter = Counter()
        self.items = 0
        self.api_requests = 0

    def watch(self, session) -> None:
        events = session.events if hasattr(session, "events") else session._session
        events.register("before-call.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _before(self, model, **_):
        self._local.started = time.perf_counter()

    def _after(self, http_response, parsed, model, **_):
        ended = time.perf_counter()
        found = {"Query": parsed.get("ScannedCount", 0), "Scan": parsed.get("ScannedCount", 0),
                 "GetItem": 1 if "Item" in parsed else 0,
                 "BatchGetItem": sum(len(v) for v in parsed.get("Responses", {}).values())}.get(model.name, 0)
        with self._lock:
            self.calls[model.name] += 1
            self.items += found
            self._intervals.append((self._local.started, ended))

    def count_request(self, *_args, **_kwargs) -> None:
        with self._lock:
            self.api_requests += 1

    def measure(self, operation: Callable[[], object]) -> Cost:
        with self._lock:
            self.calls, self.items, self._intervals, self.api_requests = Counter(), 0, [], 0
        started = time.perf_counter()
        operation()
        seconds = time.perf_counter() - started
        with self._lock:
            return Cost(seconds, _union(self._intervals), Counter(self.calls), self.items, self.api_requests)


def _union(intervals: list[tuple[float, float]]) -> float:
    """The time covered by at least one interval (calls made in parallel count once)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


@dataclass
class Result:
    name: str
    p50_ms: float
    own_ms: float  # without the time spent waiting for the emulator
    waiting_ms: float
    calls: dict
    items: int
    api_requests: int


def summary(name: str, costs: list[Cost]) -> Result:
    middle = sorted(costs, key=lambda c: c.seconds)[len(costs) // 2]
    own = statistics.median(c.seconds - c.waiting for c in costs)
    return Result(name, middle.seconds * 1e3, own * 1e3, statistics.median(c.waiting for c in costs) * 1e3,
                  dict(sorted(middle.calls.items())), middle.items, middle.api_requests)


class Registry:
    """A seeded emulator (child process) with the registry API served from this process."""

    server = None  # chalice's dev server is built once per process (it re-classes the app object)
    api_port = 0

    def __init__(self, workdir: Path, versions: int):
        self.versions = versions
        self.models = max(1, versions // VERSIONS_PER_MODEL)
        self.aliases = self.models
        self.workdir = workdir
        self.port = free_port()
        self.emulator_url = f"http://{HOST}:{self.port}"
        self.console: ChildProcess | None = None

    def start(self) -> "Registry":
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        env.pop("AWS_PROFILE", None)
        self.emulator = ChildProcess("the AWS emulator", [sys.executable, "-m", "local_stack.aws.emulator", "--host",
                                                          HOST, "--port", str(self.port)],
                                     self.workdir / "emulator.log", env=env).start()
        self.emulator.wait_for_http(f"{self.emulator_url}/moto-api/", 60)
        self.activate()
        provision(self.session, self.settings)
        return self

    def activate(self, meter: "Meter | None" = None) -> None:
        """Points the API served here (and boto3 in this process) at this emulator; `meter` counts its calls."""
        import app

        from chalicelib.settings import Settings

        os.environ.update({"AWS_ENDPOINT_URL": self.emulator_url, "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION})
        os.environ.pop("AWS_PROFILE", None)
        self.settings = Settings()
        self.session = boto3.Session(region_name=REGION)
        for getter in (getattr(app, name) for name in dir(app) if name.startswith("get_")):
            if hasattr(getter, "cache_clear"):
                getter.cache_clear()  # the app's clients: this emulator's
        if Registry.server is None:
            Registry.api_port = free_port()
            Registry.server = build_server(HOST, Registry.api_port, "local")
            threading.Thread(target=Registry.server.serve_forever, name="registry-api", daemon=True).start()
        self.url = f"http://{HOST}:{Registry.api_port}"
        self.app = app
        if meter is not None:
            meter.watch(app.get_session())

    def seed(self) -> tuple[int, float]:
        return seed.seed(self.session, self.settings.table, self.models, VERSIONS_PER_MODEL, self.aliases,
                         progress=lambda line: print(line, flush=True))

    def console_browser(self) -> tuple[requests.Session, str]:
        """A browser logged in to the console, and the console's address, as users run it: `python -m console`, its own process on the API
        served here (nothing outside the console imports it)."""
        port = free_port()
        log = self.workdir / "console.log"
        self.console = ChildProcess("the console", [sys.executable, "-m", "console", "--registry-url", self.url,
                                                    "--port", str(port)], log).start()
        self.console.wait_for_http(f"http://{HOST}:{port}/", 60)
        link = next(line.rsplit(" ", 1)[1] for line in log.read_text().splitlines() if "/login?token=" in line)
        browser = requests.Session()
        browser.get(link, timeout=30).raise_for_status()
        return browser, f"http://{HOST}:{port}"

    def stop(self) -> None:
        if self.console is not None:
            self.console.stop()
        self.emulator.stop()


def operations(registry: Registry, meter: Meter) -> dict[str, Callable[[], object]]:
    """Each measured operation as a call; the names are the table's rows."""
    from chalicelib.dynamo import encode_token, to_item
    from chalicelib.versions.store import MODELS_PK, model_pk, version_sk
    from client import AliasClient

    http = requests.Session()
    http.hooks["response"].append(meter.count_request)
    url = registry.url
    middle_model = seed.model_name(registry.models // 2)
    middle_alias = seed.alias_name(registry.aliases // 2)
    deep_models = encode_token(to_item({"pk": MODELS_PK, "sk": seed.model_name(max(0, registry.models - 51))}))
    deep_versions = encode_token(to_item({"pk": model_pk(middle_model), "sk": version_sk(6)}))
    alias_client = AliasClient(registry_url=url, endpoint="bench")
    alias_client.registry.http.hooks["response"].append(meter.count_request)

    def miss():
        alias_client.cache.invalidate(middle_alias)
        alias_client.resolve(middle_alias)

    browser, console = registry.console_browser()

    def page(path: str):
        def get():
            answer = browser.get(f"{console}{path}", timeout=60)
            assert answer.status_code == 200, answer.text[:500]
        return get

    def api(path: str, **params):
        def get():
            answer = http.get(f"{url}{path}", params=params, timeout=60)
            assert answer.status_code == 200, answer.text[:500]
        return get

    return {
        "GET /models, first page (50)": api("/models", limit=50),
        "GET /models, last page (50)": api("/models", limit=50, next_token=deep_models),
        "GET /models/{name}/versions, first page (5)": api(f"/models/{middle_model}/versions", limit=5),
        "GET /models/{name}/versions, second page (5)": api(f"/models/{middle_model}/versions", limit=5,
                                                           next_token=deep_versions),
        "GET /models/{name}": api(f"/models/{middle_model}"),
        "GET /aliases/{alias}": api(f"/aliases/{middle_alias}"),
        "AliasClient cache miss": miss,
        "console: models page": page("/models"),
        "console: search by tag (5 models)": page(f"/models?tag={':'.join(seed.NEEDLE)}"),
        "console: search by name": page(f"/models?q={middle_model}"),
    }


def sweep(registry: Registry, meter: Meter, uploads: int = 20) -> Callable[[], object]:
    """One sweep run over `uploads` objects waiting in incoming/ with no claim (each is announced again)."""
    from chalicelib.settings import Settings
    from chalicelib.versions.artifacts import Artifacts
    from chalicelib.versions.claims import ClaimStore
    from chalicelib.versions.ingest_queue import IngestQueue
    from chalicelib.versions.sweep import Sweeper

    settings = Settings(sweep_after_seconds=0)
    session = boto3.Session(region_name=REGION)
    meter.watch(session)
    s3 = session.client("s3")
    for index in range(uploads):
        s3.put_object(Bucket=settings.bucket, Key=f"{settings.incoming_prefix}swept-{index:02d}.tar.gz", Body=b"x")
    sweeper = Sweeper(s3, Artifacts(s3, settings.bucket), ClaimStore(session.client("dynamodb"), settings.events_table,
                      settings.claim_timeout_seconds), IngestQueue(session.client("sqs"), settings.queue), settings)

    def run():
        report = sweeper.run()
        assert len(report.announced) == uploads, report
    return run


def drain(registry: Registry, meter: Meter) -> dict:
    """Alias moves at MOVES_PER_MINUTE through the API for MOVE_SECONDS, the publisher run once a minute as
    scheduled (here: once after the moves, then again until the outbox is empty); the drain rate."""
    moves = MOVES_PER_MINUTE * MOVE_SECONDS // 60
    interval = 60 / MOVES_PER_MINUTE
    local = threading.local()

    def move(index: int) -> None:  # alias a moves at indexes a, a + aliases, ...: never two of one in flight
        http = getattr(local, "http", None) or setattr(local, "http", requests.Session()) or local.http
        alias, revision = index % registry.aliases, 2 + index // registry.aliases
        body = {"model": seed.model_name(alias % registry.models), "expected_revision": revision,
                "version": VERSIONS_PER_MODEL - 1 if revision % 2 == 0 else VERSIONS_PER_MODEL}
        answer = http.put(f"{registry.url}/aliases/{seed.alias_name(alias)}", json=body, timeout=60)
        assert answer.status_code == 200, answer.text[:300]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:  # a move takes longer than 60 ms on the emulator
        futures = []
        for index in range(moves):
            futures.append(pool.submit(move, index))
            time.sleep(max(0.0, started + (index + 1) * interval - time.monotonic()))
        for future in futures:
            future.result()
    moved_in = time.monotonic() - started
    publisher = registry.app.get_event_publisher()
    runs, published, costs = 0, 0, []
    drain_started = time.monotonic()
    while True:
        box: list = []
        cost = meter.measure(lambda: box.append(publisher.run()))
        done = box[0]
        runs += 1
        published += len(done.published)
        costs.append(cost)
        if not done.published and not done.failed:
            break
    seconds = time.monotonic() - drain_started
    waiting = sum(c.waiting for c in costs)
    calls = sum((c.calls for c in costs), Counter())
    return {"moves": moves, "moved_in": moved_in, "published": published, "runs": runs - 1, "seconds": seconds,
            "own_seconds": seconds - waiting, "calls": dict(calls), "items": sum(c.items for c in costs)}


def run(sizes: list[int], rounds: int, workdir: Path) -> list[dict]:
    """Both registries seeded and up at once, measured in turn round after round, so the machine's load
    (shared, changing) weighs on both alike; then the publisher's drain on each."""
    registries = []
    try:
        for versions in sizes:
            registry = Registry(workdir / str(versions), versions)
            registries.append(registry.start())
            print(f"\n== {versions:,} versions: {registry.models:,} models, {registry.aliases:,} aliases", flush=True)
            registry.items, registry.seed_seconds = registry.seed()
            print(f"seeded {registry.items:,} items in {registry.seed_seconds:.0f} s "
                  f"({registry.items / registry.seed_seconds:,.0f} a second)", flush=True)
        meter, calls, costs = Meter(), {}, {}
        for registry in registries:
            registry.activate(meter)
            calls[registry] = {**operations(registry, meter),
                               "sweep run (20 waiting uploads)": sweep(registry, meter)}
            costs[registry] = {name: [] for name in calls[registry]}
        print(f"\nmeasuring: {rounds} rounds, the sizes in turn", flush=True)
        for round_ in range(rounds + 1):  # round 0 opens connections and fills caches
            for registry in registries:
                registry.activate(meter)
                calls[registry]["GET /models/{name}"]()  # the app's new clients, and its cache of frameworks
                calls[registry]["GET /aliases/{alias}"]()
                for name, call in calls[registry].items():
                    cost = meter.measure(call)
                    if round_:
                        costs[registry][name].append(cost)
        found = []
        for registry in registries:
            registry.activate(meter)
            found.append({"versions": registry.versions, "items": registry.items,
                          "seed_seconds": registry.seed_seconds, "probe": _moto_query_probe(registry),
                          "results": [summary(name, c) for name, c in costs[registry].items()],
                          "outbox": drain(registry, meter)})
        return found
    finally:
        for registry in registries:
            registry.stop()


def _moto_query_probe(registry: Registry, rounds: int = 10) -> float:
    """The emulator's time for a Query that reads one item (a model's upload): what moto's walk costs."""
    from chalicelib.versions.store import model_pk

    client = registry.session.client("dynamodb")
    key = {":pk": {"S": model_pk(seed.model_name(0))}, ":u": {"S": "U#"}}
    samples = []
    for _ in range(rounds):
        begin = time.perf_counter()
        client.query(TableName=registry.settings.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :u)",
                     ExpressionAttributeValues=key, Limit=1)
        samples.append(time.perf_counter() - begin)
    return statistics.median(samples) * 1e3


def report(small: dict, large: dict, goals: GoalLines) -> int:
    s, l = small["versions"], large["versions"]
    print(f"\nseeding: {small['items']:,} items in {small['seed_seconds']:.0f} s; {large['items']:,} items in "
          f"{large['seed_seconds']:.0f} s")
    print(f"the emulator's own cost of a one-item Query: {small['probe']:.1f} ms at {s:,} versions, "
          f"{large['probe']:.1f} ms at {l:,} (moto alone walks the whole table per Query; the emulator reads the "
          "partition, as DynamoDB does)")
    header = (f"{'operation':<46} {'p50 ms':>15} {'ratio':>6} {'own ms':>15} {'ratio':>6} "
              f"{'DynamoDB calls (both sizes)':<34} {'items':>11}")
    print("\n" + header)
    grew = []
    for a, b in zip(small["results"], large["results"]):
        same = a.calls == b.calls and a.items == b.items and a.api_requests == b.api_requests
        grew += [] if same else [a.name]
        calls = ", ".join(f"{n} {c}" for n, c in a.calls.items()) + ("" if same else f" -> {b.calls}")
        requests_note = f"; {a.api_requests} API requests" if a.api_requests > 1 else ""
        print(f"{a.name:<46} {a.p50_ms:7.1f} {b.p50_ms:7.1f} {b.p50_ms / a.p50_ms:6.2f} {a.own_ms:7.1f} "
              f"{b.own_ms:7.1f} {b.own_ms / a.own_ms:6.2f} {calls + requests_note:<34} {a.items:>5} {b.items:>5}")
        goals.ratio("scale", f"{a.name}: {l // 1000}k / {s // 1000}k versions, without the emulator's wait (p50)",
                    b.own_ms / a.own_ms, f"{b.own_ms:.1f} / {a.own_ms:.1f} ms (whole: {b.p50_ms:.1f} / "
                    f"{a.p50_ms:.1f} ms)", at_most=1.5)
    goals.ratio("scale", "operations whose DynamoDB round trips or items read grew with the registry",
                len(grew), "; ".join(grew) or "none", at_most=0)
    for size in (small, large):
        o = size["outbox"]
        rate = o["published"] / o["seconds"]
        print(f"outbox at {size['versions']:,} versions: {o['moves']} alias moves in {o['moved_in']:.0f} s "
              f"({o['moves'] / o['moved_in'] * 60:,.0f} a minute); drained {o['published']} events in "
              f"{o['seconds']:.1f} s over {o['runs']} publisher runs ({rate:.0f} events a second; "
              f"{o['own_seconds']:.1f} s without the emulator's wait); DynamoDB {o['calls']}")
    a, b = small["outbox"], large["outbox"]
    need = MOVES_PER_MINUTE / 60
    goals.ratio("scale", f"outbox drain rate at {l // 1000}k versions / {MOVES_PER_MINUTE:,} moves a minute "
                "(events a second)", b["published"] / b["seconds"] / need,
                f"{b['published'] / b['seconds']:.0f} / {need:.0f} a second", at_least=1.0)
    goals.ratio("scale", f"  publisher runs to drain {b['moves']} moves: {l // 1000}k / {s // 1000}k versions",
                b["runs"] / max(1, a["runs"]), f"{b['runs']} / {a['runs']} runs", at_most=1.0)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100_000], metavar=("SMALL", "LARGE"),
                        help="versions at each size (default 1000 100000)")
    parser.add_argument("--rounds", type=int, default=15)
    add_json_option(parser)
    args = parser.parse_args()
    goals = GoalLines("scale.py")
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"logs in {workdir}")
    sizes = run(args.sizes, args.rounds, workdir)
    status = report(*sizes, goals)
    goals.write(args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
