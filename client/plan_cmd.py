"""`mme-registry plan`: the instance type and count that keep a traffic's p99 within a target, at the lowest
hourly price, by simulating the endpoint's model cache (client/plan/).

The models come from the registry (sizes and measured warm-ups), a catalog file (`--catalog`, written by
`--save-catalog`) or `--models N --model-size SIZE`; the traffic from a trace CSV (`--trace`) or a seeded
Zipf-skewed Poisson stream (`--rate`, `--zipf`, `--duration`, `--alias-rate`).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

err = Console(stderr=True, highlight=False)


def add_commands(commands: argparse._SubParsersAction) -> None:
    plan = commands.add_parser(
        "plan", help="simulate an MME's model cache: which instances meet a p99 target at the lowest price",
        description="Simulates the endpoint's instances (memory LRU, disk cache, S3 downloads, loads, queueing) "
        "for a traffic over the registry's models and recommends the cheapest instance type and count whose p99 "
        "meets the target. Prices and sizes come from a dated table that must be checked against AWS's pages.")
    source = plan.add_argument_group("models (default: the registry's)")
    source.add_argument("--catalog", type=Path, help="a catalog JSON file instead of the registry (offline)")
    source.add_argument("--save-catalog", type=Path, metavar="FILE", help="write the catalog read, for offline use")
    source.add_argument("--model-size", help="no registry: --models N models of this unpacked size, e.g. 50MB")
    source.add_argument("--framework", choices=("mxnet", "tensorflow"),
                        help="plan the endpoint serving this framework's models (needed when there are both)")
    traffic = plan.add_argument_group("traffic (default: a Zipf stream)")
    traffic.add_argument("--trace", type=Path, help="a CSV 'time,target_model' or 'time,alias' (seconds or ISO 8601)")
    traffic.add_argument("--rate", default="50/s", help="requests over all models, e.g. 200/s (default 50/s)")
    traffic.add_argument("--zipf", type=float, default=1.1, help="popularity skew; 0 is uniform (default 1.1)")
    traffic.add_argument("--models", type=int, help="spread the rate over this many models (default: all)")
    traffic.add_argument("--alias-rate", action="append", default=[], metavar="ALIAS=RATE",
                         help="an alias's own rate on top, e.g. classifier=20/s (repeatable)")
    traffic.add_argument("--duration", default="10m", help="how long a stream to simulate (default 10m)")
    traffic.add_argument("--seed", type=int, default=1, help="the stream's seed (same seed, same requests)")
    traffic.add_argument("--warm-up", help="requests in this first stretch fill the caches but are not counted "
                         "(default: the first fifth of the traffic; 0 counts the cold start)")
    plan.add_argument("--p99-target", default="300ms", help="the latency 99%% of requests must meet (default 300ms)")
    plan.add_argument("--instance-types", help="comma-separated, e.g. ml.m5.xlarge,ml.c5.2xlarge (default: all)")
    plan.add_argument("--counts", default="1-8", help="instance counts to try, e.g. 1-8 or 1,2,4 (default 1-8)")
    plan.add_argument("--region", default="us-east-1", help="which price to use (default us-east-1)")
    plan.add_argument("--download-rate", default="100MB/s", help="S3 to one instance (default 100MB/s, assumed)")
    plan.add_argument("--plot", type=Path, metavar="OUT", help="hit rate and p99 against count: OUT.html or OUT.png")
    plan.add_argument("--json", action="store_true", help="print the results as JSON")
    plan.set_defaults(run=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from .errors import AliasClientError
    from .plan.errors import PlanInputError

    try:
        return _plan(args)
    except (PlanInputError, AliasClientError) as error:
        err.print(f"[red]error:[/] {error}")
        return 1


def _plan(args: argparse.Namespace) -> int:
    from .plan import catalog as catalogs
    from .plan.instances import load_table
    from .plan.planner import plan
    from .plan.plot import write_plot
    from .plan.units import parse_bytes, parse_counts, parse_seconds

    target = parse_seconds(args.p99_target, "plan.p99_target")
    counts = parse_counts(args.counts)
    download_rate = parse_bytes(args.download_rate, "plan.download_rate")
    table = load_table()
    names = args.instance_types.split(",") if args.instance_types else sorted(table.rows)
    specs = [table.spec(name.strip(), args.region) for name in names]
    catalog = _catalog(args, catalogs, parse_bytes)
    if args.save_catalog:
        catalog.save(args.save_catalog)
        err.print(f"catalog of {len(catalog.entries)} models written to {args.save_catalog}")
    catalog = catalog.for_framework(args.framework)
    models, line = catalog.models(download_rate)
    trace = _trace(args, catalog, parse_seconds)
    err.print(f"simulating {len(trace.times):,} requests over {len(models):,} models on {len(specs)} instance types "
              f"({'load times fitted on %d warm-ups' % line.measured if line.measured else 'default load times'})...")
    warm_up = trace.duration / 5 if args.warm_up is None else parse_seconds(args.warm_up, "plan.warm_up")
    done = plan(specs, counts, models, trace, target, download_rate, every_count=args.plot is not None,
                warm_up=warm_up)
    if args.plot:
        write_plot(done.results, target, args.plot)
        err.print(f"plot written to {args.plot}")
    if args.json:
        print(json.dumps(_as_json(done, table), indent=2))
    else:
        _print(done, table, args.region)
    return 0 if done.recommended is not None else 2


def _catalog(args, catalogs, parse_bytes):
    if args.catalog:
        return catalogs.read_catalog(args.catalog)
    if args.model_size:
        if not args.models:
            from .plan.errors import PlanInputError

            raise PlanInputError("plan.models", "--model-size needs --models N (how many models of that size)")
        return catalogs.synthetic(args.models, parse_bytes(args.model_size, "plan.model_size"))
    from .registry_api import RegistryApi

    return catalogs.from_registry(RegistryApi.from_settings())


def _trace(args, catalog, parse_seconds):
    from .plan.errors import PlanInputError
    from .plan.traffic import parse_rate, read_trace, zipf_trace

    index = catalog.index()
    if args.trace:
        return read_trace(args.trace, index, catalog.aliases)
    count = args.models or len(catalog.entries)
    if count > len(catalog.entries):
        raise PlanInputError("plan.models", f"--models {count}: the catalog has {len(catalog.entries)} models")
    rate = parse_rate(args.rate)
    extra = {}
    for item in args.alias_rate:
        alias, _, value = item.partition("=")
        if alias not in catalog.aliases or index[catalog.aliases[alias]] >= count:
            raise PlanInputError("plan.alias_rate", f"{item!r}: {alias!r} is not an alias of the planned models")
        extra[index[catalog.aliases[alias]]] = extra.get(index[catalog.aliases[alias]], 0.0) + parse_rate(value)
    duration = parse_seconds(args.duration, "plan.duration")
    requests = max(1, round((rate + sum(extra.values())) * duration))
    return zipf_trace(count, rate, args.zipf, requests, args.seed, extra)


def _as_json(done, table) -> dict:
    rows = [{"instance_type": r.type, "count": r.count, "price_per_hour": round(r.price_per_hour, 4),
             "hit_rate": r.hit_rate, "disk_hit_rate": r.disk_hit_rate, "loads_per_hour": r.loads_per_hour,
             "evictions": r.evictions, "p50_ms": r.p50 * 1000, "p99_ms": r.p99 * 1000, "too_large": r.too_large,
             "meets_target": done.meets(r)} for r in done.results]
    best = done.recommended
    return {"target_p99_ms": done.target_p99 * 1000, "results": rows,
            "recommended": {"instance_type": best.type, "count": best.count} if best else None,
            "table_date": table.date, "table_sources": table.sources}


def _print(done, table, region: str) -> None:
    out = Console(highlight=False)
    grid = Table(title=f"p99 target {done.target_p99 * 1000:.0f} ms; hits: requests finding their model loaded; "
                 "disk: loads finding it on disk")
    for column in ("type", "n", "$/h", "hits", "disk", "loads/h", "evicted", "p50 ms", "p99 ms", "meets"):
        grid.add_column(column, justify="left" if column == "type" else "right", no_wrap=True)
    for r in done.results:
        meets = "[green]yes[/]" if done.meets(r) else ("[red]too large[/]" if r.too_large else "[red]no[/]")
        grid.add_row(r.type, str(r.count), f"{r.price_per_hour:.3f}", f"{r.hit_rate:.1%}", f"{r.disk_hit_rate:.1%}",
                     f"{r.loads_per_hour:,.0f}", f"{r.evictions:,}", f"{r.p50 * 1000:.1f}", f"{r.p99 * 1000:.1f}",
                     meets)
    out.print(grid)
    best = done.recommended
    if best is None:
        out.print("[red]no configuration tried meets the target[/]: try more instances (--counts) or larger types")
    else:
        out.print(f"[green]recommended:[/] {best.count} × {best.type} at ${best.price_per_hour:.3f}/hour in {region}"
                  f" (p99 {best.p99 * 1000:.0f} ms, {best.hit_rate:.1%} of requests find their model loaded)")
    out.print(f"prices and sizes as of {table.date}: check them at {table.sources['price_per_hour']}")
