"""How values read on a page: sizes, times, hashes, shapes. Jinja filters, one home for each."""
from __future__ import annotations

import json
from datetime import datetime

from client.routing import percent


def size(count) -> str:
    if count is None:
        return "–"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def when(stamp) -> str:
    """An API timestamp as `2026-11-30 08:51:42 UTC` (the API speaks UTC)."""
    if not stamp:
        return "–"
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def shapes(inputs) -> str:
    """`data [1, 3, 224, 224]`; a TensorFlow input also names its dtype: `image float32 [-1, 32, 32, 3]`."""
    if not inputs:
        return "–"
    def one(item) -> str:
        parts = (item.get("name", "?"), item.get("dtype"), json.dumps(item.get("shape")))
        return " ".join(str(part) for part in parts if part)

    return ", ".join(one(item) for item in inputs)


def framework(version: dict) -> str:
    """Versions record `layout`; newer records also `framework`: show whichever is present."""
    return version.get("framework") or version.get("layout") or "–"


def targets(state) -> str:
    """An alias state (targets + tracks_latest) in a line: `digits v2 (90%), digits v3 (10%)`, each target's
    share of traffic (weights are relative)."""
    if not state:
        return "(none)"
    items = state.get("targets") or []
    weights = [t["weight"] for t in items]
    shares = [f" ({percent(t['weight'], weights)})" if len(items) > 1 else "" for t in items]
    text = ", ".join(f"{t['model']} v{t['version']}{shown}" for t, shown in zip(items, shares))
    return text + (" — follows latest" if state.get("tracks_latest") else "")


def share(target: dict, targets: list[dict]) -> str:
    """One target's share of its alias's traffic: `75%` for weight 3 beside a 1."""
    return percent(target["weight"], [t["weight"] for t in targets])


FILTERS = {"size": size, "when": when, "shapes": shapes, "framework": framework, "targets": targets, "share": share}
