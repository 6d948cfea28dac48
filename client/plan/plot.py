"""Hit rate and p99 against instance count, one line per instance type: an HTML page with inline SVG (no
dependency), or a PNG when matplotlib is importable (it is not a dependency of the client)."""
from __future__ import annotations

import html
from pathlib import Path

from .errors import PlanInputError
from .simulator import Result

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939"]
WIDTH, HEIGHT, PAD = 560, 300, 48


def write_plot(results: list[Result], target_p99: float, path: Path) -> None:
    path = Path(path)
    if path.suffix == ".html":
        path.write_text(_html(results, target_p99))
    elif path.suffix == ".png":
        _png(results, target_p99, path)
    else:
        raise PlanInputError("plan.plot", f"{path}: write the plot as .html (no dependency) or .png (matplotlib)")


def _series(results: list[Result], value) -> dict[str, list[tuple[int, float]]]:
    lines: dict[str, list[tuple[int, float]]] = {}
    for result in results:
        lines.setdefault(result.type, []).append((result.count, value(result)))
    return lines


def _svg(title: str, lines: dict[str, list[tuple[int, float]]], unit: str, target: float | None = None) -> str:
    points = [point for line in lines.values() for point in line]
    x_max = max(x for x, _ in points)
    y_max = max([y for _, y in points] + ([target] if target is not None else [])) or 1.0
    def x_of(x: float) -> float:
        return PAD + (x - 1) / max(1, x_max - 1) * (WIDTH - 2 * PAD)

    def y_of(y: float) -> float:
        return HEIGHT - PAD - y / y_max * (HEIGHT - 2 * PAD)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="black"/>',
             f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="black"/>',
             f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12">instances</text>',
             f'<text x="4" y="{PAD - 8}" font-size="12">{html.escape(unit)} (max {y_max:.3g})</text>']
    for x in range(1, x_max + 1):
        parts.append(f'<text x="{x_of(x):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle" font-size="11">{x}</text>')
    if target is not None:
        parts.append(f'<line x1="{PAD}" y1="{y_of(target):.1f}" x2="{WIDTH - PAD}" y2="{y_of(target):.1f}" '
                     'stroke="red" stroke-dasharray="4 3"><title>target</title></line>')
    for colour, (name, line) in zip(COLOURS * 4, sorted(lines.items())):
        path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in line)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
                     f'<title>{html.escape(name)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def _html(results: list[Result], target_p99: float) -> str:
    hit = _svg("memory hit rate", _series(results, lambda r: r.hit_rate * 100), "%")
    p99 = _svg("p99 latency", _series(results, lambda r: r.p99 * 1000), "ms", target_p99 * 1000)
    legend = "".join(f'<li style="color:{colour}">{html.escape(name)}</li>'
                     for colour, name in zip(COLOURS * 4, sorted({r.type for r in results})))
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>mme-registry plan</title></head><body>"
            f"<h1>mme-registry plan</h1><p>p99 target {target_p99 * 1000:.0f} ms (dashed)</p><ul>{legend}</ul>"
            f"{hit}{p99}</body></html>\n")


def _png(results: list[Result], target_p99: float, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise PlanInputError("plan.plot", "a .png plot needs matplotlib (pip install matplotlib); "
                             "or write the plot as .html") from None
    figure, (hits, p99) = pyplot.subplots(1, 2, figsize=(11, 4))
    for name, line in sorted(_series(results, lambda r: r.hit_rate * 100).items()):
        hits.plot(*zip(*line), marker="o", label=name)
    for name, line in sorted(_series(results, lambda r: r.p99 * 1000).items()):
        p99.plot(*zip(*line), marker="o", label=name)
    p99.axhline(target_p99 * 1000, color="red", linestyle="--", label="target")
    hits.set(xlabel="instances", ylabel="memory hit rate (%)")
    p99.set(xlabel="instances", ylabel="p99 (ms)")
    p99.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
