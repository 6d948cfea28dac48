"""The seeding tool's registry reads through the API as an ingested one does: listings, versions, search, aliases.

A small seed (20 models of 10 versions, 20 aliases) beside one version registered and one alias moved through
the API: each answer of the seeded registry has the fields the ingested one has, and pages as listings page.
"""
import json

import pytest

from local_stack.aws import seed
from local_stack.demo.sample_models import cached_tarball

pytestmark = pytest.mark.xdist_group("api-routes")

MODELS, VERSIONS = 20, 10


def get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def send(client, method: str, path: str, body: dict) -> dict:
    response = client.request(method, path, body=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 201), response.body
    return json.loads(response.body)


def shape(document) -> object:
    """The keys of a JSON answer, nested (the first element standing for a list): what a reader relies on."""
    if isinstance(document, dict):
        return {key: shape(value) for key, value in document.items() if value not in (None, [], {})}
    if isinstance(document, list) and document:
        return [shape(document[0])]
    return type(document).__name__


@pytest.fixture
def seeded(client, registry_app):
    """The seeded registry, and one model registered and one alias moved through the API, to compare with."""
    settings = registry_app.settings
    written, _ = seed.seed(registry_app.get_session(), settings.table, MODELS, VERSIONS, MODELS, threads=2,
                           progress=lambda line: None)
    registry_app.get_session().client("s3").put_object(Bucket=settings.bucket, Key="staging/digits.tar.gz",
                                                       Body=cached_tarball("digits").read_bytes())
    send(client, "POST", "/models/digits/versions", {"source": f"s3://{settings.bucket}/staging/digits.tar.gz",
                                                     "aliases": ["digits-prod"], "tags": {"team": "team-0"},
                                                     "description": "registered"})
    return written


def test_the_seed_writes_every_version_of_every_model(seeded, client):
    assert get(client, f"/models/{seed.model_name(7)}")["latest"]["version"] == VERSIONS
    assert get(client, f"/models/{seed.model_name(7)}/versions/1")["target_model"] == \
        f"{seed.model_name(7)}_v1.tar.gz"
    assert seeded > MODELS * VERSIONS + MODELS  # versions, models, tag index items, uploads, aliases


def test_a_seeded_model_version_and_upload_answer_with_the_fields_of_an_ingested_one(seeded, client):
    name = seed.model_name(3)
    for path in ("/models/{}", "/models/{}/versions/{}", "/models/{}/uploads?limit=1"):
        ingested = get(client, path.format("digits", 1))
        seeded_answer = get(client, path.format(name, VERSIONS))
        assert set(shape(seeded_answer)) == set(shape(ingested)), path


def test_a_seeded_alias_resolves_and_its_history_reads_as_an_alias_moved_through_the_api(seeded, client):
    alias = seed.alias_name(5)

    resolved = get(client, f"/aliases/{alias}")
    history = get(client, f"/aliases/{alias}/history")

    assert resolved["targets"][0]["target_model"] == f"{seed.model_name(5)}_v{VERSIONS}.tar.gz"
    assert shape(resolved) == shape(get(client, "/aliases/digits-prod"))
    assert [change["revision"] for change in history["items"]] == [2, 1]
    created = get(client, "/aliases/digits-prod/history")["items"][-1]  # the upload created it
    assert set(shape(history["items"][-1])) == set(shape(created))
    assert alias in [a["alias"] for a in get(client, f"/models/{seed.model_name(5)}")["aliases"]]


def test_listings_of_the_seed_page_across_a_boundary_in_order_without_repeats(seeded, client):
    names, token = [], None
    while True:
        page = get(client, "/models?limit=7" + (f"&next_token={token}" if token else ""))
        names += [m["name"] for m in page["items"]]
        if not (token := page.get("next_token")):
            break
    versions = get(client, f"/models/{seed.model_name(2)}/versions?limit=4")
    rest = get(client, f"/models/{seed.model_name(2)}/versions?limit=4&next_token={versions['next_token']}")

    assert names == sorted([seed.model_name(m) for m in range(MODELS)] + ["digits"])
    assert [v["version"] for v in versions["items"] + rest["items"]] == [10, 9, 8, 7, 6, 5, 4, 3]


def test_search_finds_the_seeded_tags_as_it_finds_a_registered_version(seeded, client):
    needle = get(client, "/models?tag=" + ":".join(seed.NEEDLE))
    team = get(client, "/models?tag=team:team-0&limit=100")

    assert [m["name"] for m in needle["items"]] == [seed.model_name(m) for m in range(seed.NEEDLE_MODELS)]
    assert {m["name"] for m in team["items"]} == {"digits", seed.model_name(0)}


def test_a_model_with_150_aliases_shows_100_and_pages_the_rest_by_name(client, registry_app):
    # GIVEN one model that 150 aliases point at
    seed.seed(registry_app.get_session(), registry_app.settings.table, 1, 2, 150, threads=2, progress=lambda _: None)
    name = seed.model_name(0)
    # WHEN its overview is read, then the rest of its aliases 30 at a time
    overview = get(client, f"/models/{name}")
    seen, token = [a["alias"] for a in overview["aliases"]], overview["aliases_next_token"]
    while token:
        page = get(client, f"/models/{name}/aliases?limit=30&next_token={token}")
        seen, token = seen + [a["alias"] for a in page["items"]], page["next_token"]
    # THEN the overview holds the first 100, and the pages every other one once, in name order
    assert len(overview["aliases"]) == 100
    assert seen == [seed.alias_name(a) for a in range(150)]
    assert client.get("/models/no-such-model/aliases").status_code == 404
