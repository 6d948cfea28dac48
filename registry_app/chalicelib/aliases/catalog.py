"""Read-only questions about models, versions and uploads, each answered with a fixed number of reads.

Kept apart from ingestion so the API's reads cannot grow a side effect, and so every
answer's cost is visible here: a GetItem or one page of a Query, never a scan. The listings of
models and versions, narrowed or not, are searches (versions/search.py).
"""
import re
from dataclasses import dataclass
from datetime import datetime

from .. import names
from .alias_store import AliasReference, AliasStore
from ..versions.claims import ClaimStore
from ..errors import NotFound
from ..records import ModelRecord, UploadRecord, VersionRecord
from ..versions.store import RegistryStore

EVENT_ID = re.compile(r"[0-9a-f]{32}")  # events.S3Upload.event_id


ALIASES_SHOWN = 100  # a model's aliases on its overview; the rest are paged (aliases_of)


@dataclass(frozen=True)
class ModelOverview:
    model: ModelRecord
    latest: VersionRecord | None
    aliases: list[AliasReference]
    aliases_next_token: str | None = None


class Catalog:
    def __init__(self, store: RegistryStore, aliases: AliasStore, claims: ClaimStore | None = None):
        self._store = store
        self._aliases = aliases
        self._claims = claims

    def model(self, name: str) -> ModelOverview:
        """The model, its latest version and the first ALIASES_SHOWN aliases pointing at its versions (a model
        may have thousands: the rest are a token away, so the overview costs the same whatever their number)."""
        model = self._model(name)
        latest = self._store.get_version(name, model.latest_version) if model.latest_version else None
        aliases, token = self._aliases.references_page(name, ALIASES_SHOWN, None)
        return ModelOverview(model, latest, aliases, token)

    def aliases_of(self, name: str, limit: int, token: str | None) -> tuple[list[AliasReference], str | None]:
        """The aliases pointing at versions of the model, by alias name, a page at a time."""
        self._model(name)
        return self._aliases.references_page(name, limit, token)

    def version(self, name: str, version: int) -> VersionRecord:
        record = self._store.get_version(names.validate_model_name(name), version)
        if record is None:
            raise NotFound(f"{name} v{version} does not exist", {"model": name, "version": version})
        return record

    def uploads(self, name: str, limit: int, token: str | None) -> tuple[list[UploadRecord], str | None]:
        """Newest first; a model whose every upload was rejected has uploads but no model record."""
        return self._store.list_uploads(names.validate_model_name(name), limit, token)

    def upload(self, name: str, event_id: str) -> UploadRecord:
        """One upload by its event id: two reads, the claim (it holds the start stamp the record is filed under)
        and the record. Claims expire after 14 days (claims.RETENTION); the model's upload listing keeps the record."""
        name = names.validate_model_name(name)
        claim = self._claims.get(event_id) if self._claims is not None and EVENT_ID.fullmatch(event_id) else None
        record = None
        if claim and "started_at" in claim:
            record = self._store.get_upload(name, datetime.fromisoformat(claim["started_at"]), event_id)
        if record is None:
            raise NotFound(f"no upload {event_id} of model {name}", {"model": name, "event_id": event_id})
        return record

    def _model(self, name: str) -> ModelRecord:
        model = self._store.get_model(names.validate_model_name(name))
        if model is None:
            raise NotFound(f"model {name} does not exist", {"model": name})
        return model
