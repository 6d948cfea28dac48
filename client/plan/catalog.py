"""The models a plan serves: their sizes, load and invoke times, and the aliases naming them.

Read from the registry (each model's latest version and every alias's targets, with the sizes and the
warm-up duration the version records) or from a JSON file for offline use (`--save-catalog` writes one).
Load time by size is fitted by least squares on what the registry measured: a version's warm-up is the
first invoke on the endpoint (download, load, invoke), so its load is the warm-up less the download at the
plan's S3 rate and a default invoke. With fewer than two distinct measured sizes the default line is used.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import PlanInputError
from .simulator import DEFAULT_DOWNLOAD_RATE, Model

DEFAULT_LOAD_SECONDS = 0.5  # a model server's fixed cost to start a model's worker: an assumption
DEFAULT_LOAD_RATE = 200 * 10**6  # unpacked bytes/s a framework deserializes: an assumption
DEFAULT_INVOKE_SECONDS = 0.02  # an invoke's own latency when nothing says otherwise
UNPACKED_PER_COMPRESSED = 1.1  # for versions recorded before their unpacked size: weights barely compress


@dataclass(frozen=True)
class LoadTime:
    """seconds = intercept + per_byte × unpacked bytes."""

    intercept: float = DEFAULT_LOAD_SECONDS
    per_byte: float = 1 / DEFAULT_LOAD_RATE
    measured: int = 0  # how many measurements the line was fitted on (0: the default)

    def seconds(self, unpacked: int) -> float:
        return max(0.0, self.intercept + self.per_byte * unpacked)


def fit_load_time(points: list[tuple[int, float]]) -> LoadTime:
    """Least squares of load seconds on unpacked bytes; the default when the sizes do not span a line,
    and a flat line (the mean) when the fit would have loads get faster with size."""
    if len({size for size, _ in points}) < 2:
        return LoadTime()
    n = len(points)
    mean_x = sum(size for size, _ in points) / n
    mean_y = sum(seconds for _, seconds in points) / n
    spread = sum((size - mean_x) ** 2 for size, _ in points)
    slope = sum((size - mean_x) * (seconds - mean_y) for size, seconds in points) / spread
    if slope < 0:
        return LoadTime(mean_y, 0.0, n)
    return LoadTime(mean_y - slope * mean_x, slope, n)


@dataclass
class Entry:
    """One servable version as the catalog file holds it."""

    target_model: str
    compressed_bytes: int
    unpacked_bytes: int | None = None
    warmup_seconds: float | None = None
    load_seconds: float | None = None
    invoke_seconds: float | None = None
    framework: str | None = None  # one endpoint serves one framework: a plan is for one of them


@dataclass
class Catalog:
    entries: list[Entry]
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> TargetModel (its heaviest target)

    def models(self, download_rate: float = DEFAULT_DOWNLOAD_RATE) -> tuple[list[Model], LoadTime]:
        """The simulator's models, with load times from each entry, else the line fitted on the warm-ups."""
        points = [(self._unpacked(e), e.warmup_seconds - e.compressed_bytes / download_rate - DEFAULT_INVOKE_SECONDS)
                  for e in self.entries if e.warmup_seconds is not None]
        line = fit_load_time([(size, max(0.0, seconds)) for size, seconds in points])
        models = [Model(e.target_model, e.compressed_bytes, self._unpacked(e),
                        e.load_seconds if e.load_seconds is not None else line.seconds(self._unpacked(e)),
                        e.invoke_seconds if e.invoke_seconds is not None else DEFAULT_INVOKE_SECONDS)
                  for e in self.entries]
        return models, line

    def for_framework(self, framework: str | None) -> Catalog:
        """The models one endpoint serves: those of `framework`; None when the catalog holds only one framework."""
        frameworks = sorted({entry.framework for entry in self.entries if entry.framework})
        if framework is None:
            if len(frameworks) > 1:
                raise PlanInputError("plan.framework", f"the models are {' and '.join(frameworks)}, served by one "
                                     "endpoint each: plan one of them with --framework")
            return self
        entries = [entry for entry in self.entries if entry.framework == framework]
        if not entries:
            raise PlanInputError("plan.framework", f"no {framework} models to plan for (the catalog has "
                                 f"{', '.join(frameworks) or 'no framework recorded'})")
        kept = {entry.target_model for entry in entries}
        return Catalog(entries, {alias: target for alias, target in self.aliases.items() if target in kept})

    def index(self) -> dict[str, int]:
        return {entry.target_model: i for i, entry in enumerate(self.entries)}

    @staticmethod
    def _unpacked(entry: Entry) -> int:
        if entry.unpacked_bytes is not None:
            return entry.unpacked_bytes
        return int(entry.compressed_bytes * UNPACKED_PER_COMPRESSED)

    def save(self, path: Path) -> None:
        document = {"models": [{k: v for k, v in asdict(e).items() if v is not None} for e in self.entries],
                    "aliases": self.aliases}
        Path(path).write_text(json.dumps(document, indent=1) + "\n")


def synthetic(count: int, unpacked_bytes: int) -> Catalog:
    """`count` models of one size (compressed as big as unpacked), for a plan made before any upload."""
    return Catalog([Entry(f"model_{i}.tar.gz", unpacked_bytes, unpacked_bytes) for i in range(count)])


def read_catalog(path: Path) -> Catalog:
    """A file `--save-catalog` wrote, or one written by hand: {"models": [...], "aliases": {...}}."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise PlanInputError("catalog.unreadable", f"{path}: {error.strerror}") from error
    except ValueError as error:
        raise PlanInputError("catalog.json", f"{path}: not JSON ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("models"), list) or not document["models"]:
        raise PlanInputError("catalog.models", f"{path}: expected {{\"models\": [...]}} with at least one model")
    entries = []
    for number, item in enumerate(document["models"], start=1):
        try:
            entry = Entry(**item)
        except TypeError as error:
            raise PlanInputError("catalog.model", f"{path}: model {number}: {error}") from None
        if not isinstance(entry.target_model, str) or not isinstance(entry.compressed_bytes, int) \
                or entry.compressed_bytes < 0 or (entry.unpacked_bytes is not None and entry.unpacked_bytes < 0):
            raise PlanInputError("catalog.model", f"{path}: model {number} needs a target_model and sizes >= 0")
        entries.append(entry)
    aliases = document.get("aliases") or {}
    known = {entry.target_model for entry in entries}
    unknown = sorted(alias for alias, target in aliases.items() if target not in known)
    if unknown:
        raise PlanInputError("catalog.aliases", f"{path}: aliases {unknown[:5]} name TargetModels not in the models")
    return Catalog(entries, dict(aliases))


def from_registry(api) -> Catalog:
    """Every model's latest version and every alias's targets, through `api` (a RegistryApi)."""
    versions: dict[str, dict] = {}
    for model in _all(api.list_models):
        if model.get("latest_version"):
            latest = api.get_model(model["name"]).get("latest")
            if latest:
                versions[latest["target_model"]] = latest
    aliases = {}
    for alias in _all(api.list_aliases):
        aliases[alias["alias"]] = alias["target_model"]
        for target in alias.get("targets", []):
            if target["target_model"] not in versions:
                versions[target["target_model"]] = api.get_version(target["model"], target["version"])
    entries = [Entry(v["target_model"], v["size"], v.get("unpacked_size"), v.get("warmup_seconds"),
                     framework=v.get("framework")) for _, v in sorted(versions.items())]
    if not entries:
        raise PlanInputError("catalog.empty", "the registry has no versions to plan for")
    return Catalog(entries, aliases)


def _all(fetch) -> list[dict]:
    items, token = [], None
    while True:
        page = fetch(limit=100, next_token=token)
        items += page["items"]
        token = page.get("next_token")
        if not token:
            return items
