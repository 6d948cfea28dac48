"""Who may move an alias when a version is accepted: the upload rule, as a pure decision.

Writers of the drop folder and callers of the API are different people. An upload may
create an alias it asks for, or move one that already follows its own model (every
target is a version of that model), and only forward. Taking over an alias that points
at another model needs the API, where the caller is authenticated and names the revision.
"""
from .alias_store import AliasRecord, AliasState, AliasTarget


def refusal(alias: str, current: AliasRecord, model: str) -> str | None:
    """Why an upload of `model` may not move `alias`, or None when it may."""
    if current.models == {model}:
        return None
    others = ", ".join(sorted(current.models - {model})) or model
    return f"refused: alias {alias} points at model {others}; move it through the API"


class FollowDecision:
    """The `decide` step of one ingestion-driven alias change (see Aliases._change).

    `tracking_only` is for aliases the upload did not ask for: they move only if they
    track the model's latest version. After the call, `refusal` says why a requested alias
    was left where it is because the rule forbids the move (None otherwise).
    """

    def __init__(self, alias: str, model: str, version: int, tracking_only: bool):
        self.alias, self.model, self.version, self.tracking_only = alias, model, version, tracking_only
        self.refusal: str | None = None

    def __call__(self, current: AliasRecord | None) -> AliasState | None:
        self.refusal = None
        if current is None:
            return None if self.tracking_only else AliasState(targets=[AliasTarget(model=self.model,
                                                                                   version=self.version)])
        self.refusal = refusal(self.alias, current, self.model)
        if self.refusal is not None:
            return current.state
        if self.tracking_only and not current.tracks_latest:
            return current.state
        newest = max(target.version for target in current.targets)
        if newest >= self.version:  # forward only: versions finish out of order, retries come late
            if newest > self.version and not self.tracking_only:
                self.refusal = f"not moved: it points at v{newest}, newer than v{self.version}"
            return current.state
        return AliasState(targets=[AliasTarget(model=self.model, version=self.version)],
                          tracks_latest=current.tracks_latest)
