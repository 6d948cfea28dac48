"""A thin HTTP client for the registry's REST API, shared by the alias client and the CLI.

Answers are the API's JSON documents as dicts; errors become `RegistryRequestError`
(the API's `{"error": {...}}` body) or `RegistryUnavailable` (no answer, or a 5xx).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from .config import ClientSettings
from .errors import RegistryRequestError, RegistryUnavailable

ACTOR_HEADER = "X-Registry-Actor"  # the registry's local stage records its value as the actor, local:<name>


def _path(value: str) -> str:
    """Model names may hold '/': they travel URL-encoded in one path segment."""
    return quote(str(value), safe="")


class RegistryApi:
    def __init__(self, base_url: str, session: requests.Session | None = None, timeout: float = 10.0,
                 auth: requests.auth.AuthBase | None = None, actor: str | None = None):
        """`auth` signs every request, e.g. `sigv4.SigV4()` for the IAM-authenticated prod stage. Unsigned,
        `actor` (ClientSettings.actor()) says who is calling: the local stage records it, unverified."""
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        if auth is not None:
            self.http.auth = auth
        elif actor:
            self.http.headers[ACTOR_HEADER] = actor
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: ClientSettings | None = None) -> RegistryApi:
        """The registry the client's settings name (MME_REGISTRY_URL, MME_REGISTRY_TIMEOUT), as the identity
        they name (MME_REGISTRY_ACTOR, else the OS user): what every CLI command speaks to."""
        settings = settings or ClientSettings()
        return cls(settings.registry_url, timeout=settings.registry_timeout, actor=settings.actor())

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None,
                timeout: float | None = None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.request(method, url, json=body, params=params, timeout=timeout or self.timeout)
        except requests.RequestException as error:
            raise RegistryUnavailable(f"cannot reach the registry at {self.base_url}: {error}") from error
        if response.status_code >= 500:
            raise RegistryUnavailable(f"the registry failed {method} {path}: HTTP {response.status_code} "
                                      f"{response.text[:300]}")
        if response.status_code >= 400:
            error = _error_of(response)
            raise RegistryRequestError(response.status_code, error.get("code", "error"),
                                       error.get("message", response.text[:300]), error.get("details"))
        return response.json() if response.content else None

    # aliases ---------------------------------------------------------------
    def get_alias(self, alias: str) -> dict:
        return self.request("GET", f"/aliases/{_path(alias)}")

    def put_alias(self, alias: str, body: dict) -> dict:
        return self.request("PUT", f"/aliases/{_path(alias)}", body)

    def alias_history(self, alias: str, limit: int | None = None, next_token: str | None = None) -> dict:
        return self.request("GET", f"/aliases/{_path(alias)}/history", params=_page(limit, next_token))

    def alias_metrics(self, alias: str, minutes: int | None = None) -> dict:
        """Requests, errors and latency of each version the alias served in the last `minutes` (default 60)."""
        return self.request("GET", f"/aliases/{_path(alias)}/metrics",
                            params={"minutes": minutes} if minutes is not None else None)

    def list_aliases(self, limit: int | None = None, next_token: str | None = None) -> dict:
        return self.request("GET", "/aliases", params=_page(limit, next_token))

    def rollback_alias(self, alias: str, expected_revision: int | None = None) -> dict:
        body = {"expected_revision": expected_revision} if expected_revision is not None else {}
        return self.request("POST", f"/aliases/{_path(alias)}/rollback", body)

    def get_alias_policy(self, alias: str) -> dict:
        return self.request("GET", f"/aliases/{_path(alias)}/policy")

    def put_alias_policy(self, alias: str, policy: dict, expected_revision: int | None = None) -> dict:
        body = {**policy, **({"expected_revision": expected_revision} if expected_revision is not None else {})}
        return self.request("PUT", f"/aliases/{_path(alias)}/policy", body)

    def delete_alias_policy(self, alias: str, expected_revision: int | None = None) -> None:
        params = {"expected_revision": expected_revision} if expected_revision is not None else None
        return self.request("DELETE", f"/aliases/{_path(alias)}/policy", params=params)

    # rollouts --------------------------------------------------------------
    def start_rollout(self, alias: str, body: dict) -> dict:
        return self.request("POST", f"/aliases/{_path(alias)}/rollouts", body)

    def rollouts(self, alias: str, limit: int | None = None, next_token: str | None = None) -> dict:
        return self.request("GET", f"/aliases/{_path(alias)}/rollouts", params=_page(limit, next_token))

    def cancel_rollout(self, alias: str) -> dict:
        return self.request("DELETE", f"/aliases/{_path(alias)}/rollouts/current")

    # models ----------------------------------------------------------------
    def list_models(self, limit: int | None = None, next_token: str | None = None) -> dict:
        return self.request("GET", "/models", params=_page(limit, next_token))

    def search_models(self, query: str | None = None, tags: list[str] | None = None, framework: str | None = None,
                      limit: int | None = None, next_token: str | None = None) -> dict:
        """`GET /models?q=&tag=k:v&framework=`: the registry's index answers, tags AND together."""
        params = {**(_page(limit, next_token) or {}), "q": query or None, "tag": tags or None, "framework": framework}
        return self.request("GET", "/models", params={k: v for k, v in params.items() if v} or None)

    def get_model(self, name: str) -> dict:
        return self.request("GET", f"/models/{_path(name)}")

    def list_versions(self, name: str, limit: int | None = None, next_token: str | None = None,
                      tags: list[str] | None = None, approval: str | None = None) -> dict:
        """Newest first; `tags` (`k:v`, AND) and `approval` narrow the listing to the versions that match."""
        params = {**(_page(limit, next_token) or {}), "tag": tags or None, "approval": approval}
        return self.request("GET", f"/models/{_path(name)}/versions",
                            params={k: v for k, v in params.items() if v} or None)

    def version_members(self, name: str, version: int) -> dict:
        return self.request("GET", f"/models/{_path(name)}/versions/{version}/members", timeout=60.0)

    def get_version(self, name: str, version: int) -> dict:
        return self.request("GET", f"/models/{_path(name)}/versions/{version}")

    def edit_version(self, name: str, version: int, changes: dict, expected_revision: int) -> dict:
        """Description, tags (a null value removes one) or the whole card, compare-and-set on `metadata_revision`."""
        return self.request("PATCH", f"/models/{_path(name)}/versions/{version}",
                            {**changes, "expected_revision": expected_revision})

    def version_history(self, name: str, version: int, limit: int | None = None,
                        next_token: str | None = None) -> dict:
        return self.request("GET", f"/models/{_path(name)}/versions/{version}/history",
                            params=_page(limit, next_token))

    def set_approval(self, name: str, version: int, status: str, reason: str) -> dict:
        """The registry records the verified caller as the approver, never a name sent here."""
        return self.request("PUT", f"/models/{_path(name)}/versions/{version}/approval",
                            {"status": status, "reason": reason})

    def warm_version(self, name: str, version: int, timeout: float = 300.0) -> dict:
        """Re-runs the warm-up (which may retry for minutes while a big model loads), then the alias moves."""
        return self.request("POST", f"/models/{_path(name)}/versions/{version}/warmup", timeout=timeout)

    def register_version(self, name: str, source: str, metadata: dict[str, str] | None = None,
                         timeout: float = 300.0) -> dict:
        """`POST /models/{name}/versions`: the version (201, or 200 when identical to the latest), or the queued
        upload record (202) of a source too large to validate while the API waits; a rejection raises (422)."""
        body = {"source": source, **({"metadata": metadata} if metadata else {})}
        return self.request("POST", f"/models/{_path(name)}/versions", body, timeout=timeout)
    def run_shadow(self, alias: str, model: str, version: int, fresh: bool = False, timeout: float = 300.0) -> dict:
        """Compares MODEL vN with the alias's target(s) on the reference samples, without moving the alias."""
        return self.request("POST", f"/aliases/{_path(alias)}/shadow",
                            {"model": model, "version": version, "fresh": fresh}, timeout=timeout)

    def version_comparisons(self, name: str, version: int) -> dict:
        return self.request("GET", f"/models/{_path(name)}/versions/{version}/shadow")

    def put_model_samples(self, name: str, samples: list) -> dict:
        return self.request("POST", f"/models/{_path(name)}/samples", {"samples": samples})

    def list_uploads(self, name: str, limit: int | None = None, next_token: str | None = None) -> dict:
        return self.request("GET", f"/models/{_path(name)}/uploads", params=_page(limit, next_token))

    def get_upload(self, name: str, event_id: str) -> dict:
        return self.request("GET", f"/models/{_path(name)}/uploads/{_path(event_id)}")

    def request_upload(self, name: str, aliases: list[str] | None = None, said: dict | None = None) -> dict:
        """A presigned PUT into the drop folder: `url` and the `headers` the PUT must carry; `said` (description,
        tags, card) is signed into the link, so the version carries it."""
        return self.request("POST", f"/models/{_path(name)}/uploads", {"aliases": aliases or [], **(said or {})})

    def endpoints(self) -> dict:
        return self.request("GET", "/endpoints")

    def health(self) -> dict:
        return self.request("GET", "/health")


def filled(fetch, limit: int, next_token: str | None = None, reads: int = 10) -> dict:
    """Up to `limit` items of a search, whose pages come back short when the registry filtered items out:
    `fetch(limit, next_token)` is called again while a page ends early and a `next_token` remains (at most
    `reads` times, so a search matching almost nothing still answers; its `next_token` then says there is more)."""
    items: list = []
    for _ in range(reads):
        page = fetch(limit - len(items), next_token)
        items += page["items"]
        next_token = page.get("next_token")
        if not next_token or len(items) >= limit:
            break
    return {"items": items, "next_token": next_token}


def _page(limit: int | None, next_token: str | None) -> dict | None:
    params = {"limit": limit, "next_token": next_token}
    return {k: v for k, v in params.items() if v} or None


def _error_of(response: requests.Response) -> dict:
    try:
        document = response.json()
    except ValueError:
        return {}
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else {}
