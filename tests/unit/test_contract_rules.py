"""The document and the server apply one rule: what /openapi.json allows for a name, an alias, a version
or a page token is exactly what the server accepts, checked by property against three readers.

- the server: names.py's checks (Python `re`, fullmatch);
- the document as a JSON Schema validator reads it (jsonschema_rs: ECMA 262 semantics, the
  reading schemathesis and generated clients share);
- the rule as NAME_RULE / ALIAS_RULE say it in words, written out plainly here;
(tests/e2e/test_api_contract.py adds JavaScript's own RegExp, where Node is installed.)
"""
import json
import re

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import app as registry
from chalicelib import names
from chalicelib.api import fields
from chalicelib.dynamo import decode_token, encode_token
from chalicelib.errors import InvalidInput

DOCUMENT = registry.openapi.build(registry.api.operations, title="mme-registry", version="1")
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                            HealthCheck.too_slow])


def path_schema(path: str, method: str, parameter: str) -> dict:
    [found] = [p for p in DOCUMENT["paths"][path][method]["parameters"] if p["name"] == parameter]
    return found["schema"]


NAME_READER = jsonschema_rs.Draft202012Validator(path_schema("/models/{name}", "get", "name"))
ALIAS_READER = jsonschema_rs.Draft202012Validator(path_schema("/aliases/{alias}", "get", "alias"))


def accepts(check, value: str) -> bool:
    try:
        check(value)
        return True
    except InvalidInput:
        return False


def name_in_words(name: str) -> bool:
    """NAME_RULE, clause by clause."""
    segments = name.split("/")
    return (1 <= len(segments) <= 4 and len(name) <= 200 and ".." not in name
            and all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", s, re.ASCII) for s in segments)
            and not re.fullmatch(r".+_v[0-9]+", name, re.ASCII | re.DOTALL))


def alias_in_words(alias: str) -> bool:
    """ALIAS_RULE, clause by clause."""
    return (1 <= len(alias) <= 128 and all(c.isascii() and (c.isalnum() or c in "._@-") for c in alias)
            and alias.lower() != "latest" and not re.fullmatch(r"v[0-9]+", alias.lower()))


# Near misses are where readers disagree: the rule's own characters, its separators, the
# characters regex dialects treat differently (newline, carriage return, U+2028, non-ASCII
# letters and digits that Python's \w and \d would take).
TRICKY = "aZ09._-/vV@\n\r\u2028 é٣ſK"
segments = st.text(alphabet=st.sampled_from("ab9._-vV\n"), min_size=0, max_size=70)
near_names = st.one_of(
    st.from_regex(names.NAME_PATTERN, fullmatch=True),
    st.lists(segments, min_size=1, max_size=5).map("/".join),
    st.text(alphabet=st.sampled_from(TRICKY), max_size=12),
    st.builds(lambda stem, n, tail: f"{stem}_v{n}{tail}", st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True),
              st.integers(0, 99), st.sampled_from(["", ".0", "\n", "a"])),
)
near_aliases = st.one_of(
    st.from_regex(names.ALIAS_PATTERN, fullmatch=True),
    st.text(alphabet=st.sampled_from(TRICKY), max_size=10),
    st.builds(lambda word, tail: word + tail, st.sampled_from(["latest", "LaTeSt", "v", "V", "latestx", "xv"]),
              st.sampled_from(["", "1", "12", "\n", "ſ", "a"])),
    st.text(alphabet=st.sampled_from("a@"), min_size=126, max_size=130),
)


@PROPERTY
@given(near_names)
def test_the_document_allows_exactly_the_model_names_the_server_accepts(name):
    assert NAME_READER.is_valid(name) == accepts(names.validate_model_name, name) == name_in_words(name)


@PROPERTY
@given(near_aliases)
def test_the_document_allows_exactly_the_aliases_the_server_accepts(alias):
    assert ALIAS_READER.is_valid(alias) == accepts(names.validate_alias_name, alias) == alias_in_words(alias)


@PROPERTY
@given(st.text(min_size=0, max_size=300), st.text(min_size=1, max_size=60))
def test_every_page_token_a_listing_issues_has_the_documented_format_and_reads_back(sort_key, partition):
    key = {"pk": {"S": partition}, "sk": {"S": sort_key}}

    token = encode_token(key)

    assert TypeAdapter(fields.PageToken).validate_python(token) == token
    assert decode_token(token, partition) == key


@pytest.mark.parametrize("value, expected", [(1, 1), (3.0, 3), (names.MAX_NUMBER, names.MAX_NUMBER)])
def test_a_version_is_a_whole_number_from_1_to_the_bound_and_may_be_written_as_a_float(value, expected):
    assert TypeAdapter(fields.Version).validate_python(value) == expected


@pytest.mark.parametrize("value", [0, names.MAX_NUMBER + 1, 3.5, float("inf"), float("nan"), True, "3", None])
def test_anything_else_is_not_a_version(value):
    with pytest.raises(ValidationError):
        TypeAdapter(fields.Version).validate_python(value)


def test_a_route_declared_later_gets_the_path_rules_without_asking():
    """A new route (here the warm-up one another change adds) validates and documents {name} and {n}."""
    from chalice.test import Client

    from chalicelib.api.http import Api, RegistryChalice

    app = RegistryChalice(app_name="contract")
    api = Api(app)

    @api.route("/models/{name}/versions/{n}/warmup", "POST", summary="warm up", answer=None, status=202)
    def warmup(name: str, n: str):
        return {"name": name, "n": n}

    [operation] = api.operations
    document = registry.openapi.build(api.operations, title="t", version="1")
    parameters = {p["name"]: p["schema"] for p in document["paths"][operation.path]["post"]["parameters"]}
    with Client(app) as client:
        ok = client.http.post("/models/team-a%2Fresnet/versions/7/warmup")
        bad_name = client.http.post("/models/a..b/versions/7/warmup")
        bad_version = client.http.post(f"/models/m/versions/{names.MAX_NUMBER + 1}/warmup")

    assert parameters["name"]["pattern"] == names.NAME_PATTERN and parameters["n"]["maximum"] == names.MAX_NUMBER
    assert (ok.status_code, json.loads(ok.body)) == (202, {"name": "team-a/resnet", "n": 7})
    assert [bad_name.status_code, bad_version.status_code] == [422, 422]
    assert "422" in document["paths"][operation.path]["post"]["responses"]
