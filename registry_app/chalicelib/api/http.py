"""The HTTP edge: decode requests into schemas, map errors to statuses, answer every failure in one JSON shape.

Every error leaves as {"error": {"code", "message", "details"}}. Chalice (and API Gateway)
answer some requests before a view runs: an unknown path, a method the path lacks, a
Content-Type a route does not take. Fallback routes and one middleware turn each of those
into the same shape, so a client has one error format to read, locally and deployed.
"""
import inspect
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import Annotated, Any, Callable, get_origin
from urllib.parse import unquote

from chalice import Chalice, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from .. import names
from ..errors import BadRequest, InvalidInput, PayloadTooLarge, RegistryError, http_status
from .fields import PATH_PARAMETERS

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # alias and registration bodies are a few hundred bytes; 256 KiB is generous
FALLBACK_DEPTH = 8  # unknown paths of up to this many segments get a JSON 404 (deeper ones: the gateway's 403)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ANY_CONTENT = ["*/*"]
ACTOR_HEADER = "X-Registry-Actor"  # who a caller of the local stage says it is (names.local_actor)
_CHALICE_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                  413: "payload_too_large", 415: "unsupported_media_type", 500: "internal_error"}


class RegistryChalice(Chalice):
    """Chalice with one current request per thread (as `chalice local` has), so concurrent calls never mix bodies."""

    _local = threading.local()

    @property
    def current_request(self):  # type: ignore[override]
        return getattr(self._local, "request", None)

    @current_request.setter
    def current_request(self, value) -> None:
        self._local.request = value


def error_response(code: str, message: str, status: int, details: dict | None = None,
                   headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


def registry_error_response(error: RegistryError) -> Response:
    """The one place a RegistryError becomes an HTTP status."""
    return error_response(error.code, error.message, http_status(error), error.details)


@dataclass
class Operation:
    """What the OpenAPI document says about one route; recorded when the route is declared."""

    path: str
    method: str
    summary: str
    status: int
    answer: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    body_optional: bool = False
    view_name: str = ""
    # Other success answers, e.g. {202: UploadView} for a registration that is queued instead of done.
    answers: dict[int, type[BaseModel]] = field(default_factory=dict)
    path_types: dict[str, Any] = field(default_factory=dict)


class Api:
    """Declares routes on a Chalice app and keeps the list the OpenAPI document is built from."""

    def __init__(self, app: RegistryChalice, authorizer=None, asserted_actors: bool = False):
        """`asserted_actors`: the stage has no authorizer (REGISTRY_AUTH=none), so the actor is who the caller
        says it is in X-Registry-Actor; with an authorizer only the SigV4 principal counts and the header is
        ignored."""
        self.app = app
        self.authorizer = authorizer
        self.asserted_actors = asserted_actors
        self.operations: list[Operation] = []
        app.register_middleware(self._shape_gateway_errors, "http")

    def route(self, path: str, method: str, *, summary: str, answer: type[BaseModel] | None, status: int = 200,
              body: type[BaseModel] | None = None, body_optional: bool = False, query: type[BaseModel] | None = None,
              errors: tuple[int, ...] = (), answers: dict[int, type[BaseModel]] | None = None) -> Callable:
        """Registers a view that receives decoded path parameters, `body=` and `query=`, and returns a model."""

        def declare(view: Callable) -> Callable:
            path_types = path_parameter_types(path, view)
            operation = Operation(path, method, summary, status, answer, body, query, errors, body_optional,
                                  view.__name__, dict(answers or {}), path_types)
            self.operations.append(operation)
            wants_actor = "actor" in inspect.signature(view).parameters

            @wraps(view)
            def handle(**params: str) -> Response:
                try:
                    request = self.app.current_request
                    kwargs: dict[str, Any] = decode_path(params, path_types)
                    if body is not None:
                        kwargs["body"] = decode_body(request.raw_body, body, body_optional)
                    if query is not None:
                        kwargs["query"] = decode_query(request.query_params, query)
                    if wants_actor:
                        kwargs["actor"] = actor_of(request, self.asserted_actors)
                    return render(view(**kwargs), status)
                except RegistryError as error:
                    return registry_error_response(error)
                except Exception:  # a real fault: logged here, never shown to the caller
                    log.exception("%s %s failed", method, path)
                    return error_response("internal_error", "an internal error occurred; it has been logged", 500)

            content_types = ["application/json"] if body is not None else ANY_CONTENT
            self.app.route(path, methods=[method], authorizer=self.authorizer, content_types=content_types)(handle)
            return view

        return declare

    def install_fallbacks(self) -> None:
        """JSON 405 for a known path with a method it lacks; JSON 404 for paths no route knows. Call last."""
        for path, entries in list(self.app.routes.items()):
            missing = [m for m in METHODS if m not in entries]
            if missing:
                allowed = ", ".join(sorted(entries))
                self.app.route(path, methods=missing, authorizer=self.authorizer,
                               content_types=ANY_CONTENT)(_method_not_allowed(allowed))
        for depth in range(1, FALLBACK_DEPTH + 1):
            path = "/" + "/".join(f"{{unknown{i}}}" for i in range(depth))
            if path not in self.app.routes:
                self.app.route(path, methods=list(METHODS), authorizer=self.authorizer,
                               content_types=ANY_CONTENT)(_unknown_route)

    def _shape_gateway_errors(self, request, get_response) -> Response:
        """Refuses oversized bodies before any view runs; reshapes Chalice's own error answers."""
        try:
            raw = request.raw_body if request is not None else b""
        except ValueError:  # a base64 body that does not decode
            return registry_error_response(BadRequest("the request body could not be decoded"))
        if raw is not None and len(raw) > MAX_BODY_BYTES:
            return registry_error_response(PayloadTooLarge(
                f"the request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}", {"limit": MAX_BODY_BYTES}))
        response = get_response(request)
        body = response.body
        if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
            code = _CHALICE_CODES.get(response.status_code, "error")
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
            if response.status_code == 405:  # a method no route takes (TRACE...): as _method_not_allowed says it
                allowed = self.documented_methods(request)
                return error_response(code, f"this path answers {', '.join(allowed)} only", 405,
                                      {"allowed": allowed}, headers={**headers, "Allow": ", ".join(allowed)})
            message = "an internal error occurred; it has been logged" if response.status_code >= 500 \
                else str(body.get("Message", ""))
            return error_response(code, message, response.status_code, headers=headers)
        return response

    def documented_methods(self, request) -> list[str]:
        path = ((request.context if request is not None else None) or {}).get("resourcePath")
        return sorted(op.method for op in self.operations if op.path == path) or list(METHODS)


_PARAMETER = re.compile(r"{(\w+)}")


def path_parameter_types(path: str, view: Callable) -> dict[str, Any]:
    """Each path parameter's type: the view's annotation if it names a constrained type, else PATH_PARAMETERS."""
    annotations = inspect.signature(view).parameters
    types = {}
    for name in _PARAMETER.findall(path):
        annotation = annotations[name].annotation if name in annotations else inspect.Parameter.empty
        types[name] = annotation if get_origin(annotation) is Annotated else PATH_PARAMETERS.get(name, str)
    return types


@lru_cache(maxsize=None)
def _reader(kind: Any) -> tuple[TypeAdapter, bool]:
    """A parameter type's validator, and whether it is an integer (sent as digits): built once per type."""
    adapter = TypeAdapter(kind)
    return adapter, adapter.json_schema().get("type") == "integer"


def decode_path(params: dict[str, str], types: dict[str, Any]) -> dict[str, Any]:
    """Path parameters, URL-decoded and validated by their types (an integer is sent as its digits)."""
    decoded, problems = {}, []
    for name, raw in params.items():
        text = unquote(raw)
        adapter, is_integer = _reader(types.get(name, str))
        try:
            if is_integer:
                if not (text.isascii() and text.isdigit()) or len(text) > 100:  # int() refuses 4300+ digits
                    raise InvalidInput(f"{text[:40]!r} is not a whole number of at most 100 digits")
                decoded[name] = adapter.validate_python(int(text))
            else:
                decoded[name] = adapter.validate_python(text)
        except InvalidInput as error:
            problems.append({"loc": ["path", name], "msg": error.message, "type": "int_parsing"})
        except ValidationError as error:
            problems += [{"loc": ["path", name], "msg": e["msg"], "type": e["type"]}
                         for e in error.errors(include_url=False, include_context=False, include_input=False)]
    if problems:
        summary = "; ".join(f"{p['loc'][-1]}: {p['msg']}" for p in problems)
        raise InvalidInput(f"invalid request: {summary}", {"errors": problems})
    return decoded


def _method_not_allowed(allowed: str) -> Callable:
    def method_not_allowed(**_: str) -> Response:
        return error_response("method_not_allowed", f"this path answers {allowed} only", 405,
                              {"allowed": allowed.split(", ")}, headers={"Allow": allowed})

    return method_not_allowed


def _unknown_route(**_: str) -> Response:
    return error_response("not_found", "no such route; GET /openapi.json lists them all", 404)


def decode_body(raw: bytes | None, schema: type[BaseModel], optional: bool) -> BaseModel:
    if not raw or not raw.strip():
        if optional:
            return schema()
        raise BadRequest("a JSON body is required")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"the body is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", {"errors": [{"loc": [], "msg": "expected an object"}]})
    return validate(schema, data)


def version_number(text: str | int) -> int:
    """A version in a path: digits only (no sign, no spaces), from 1 (a route's `n` arrives decoded already)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if not text.isascii() or not text.isdigit() or int(text) < 1 or len(text) > 10:
        raise InvalidInput(f"invalid version {text!r}: versions are whole numbers from 1", {"version": text})
    return int(text)


def decode_query(params, schema: type[BaseModel]) -> BaseModel:
    """Query parameters; one a schema declares as a list takes every value it is given (`?tag=a&tag=b`)."""
    data = {}
    for name in params or {}:
        field_info = schema.model_fields.get(name)
        repeated = field_info is not None and get_origin(field_info.annotation) is list
        data[name] = params.getlist(name) if repeated else params[name]
    return validate(schema, data)


def validate(schema: type[BaseModel], data: dict) -> BaseModel:
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in error.errors(include_url=False, include_context=False, include_input=False)]
        summary = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'body'}: {p['msg']}" for p in problems[:5])
        raise InvalidInput(f"invalid request: {summary}", {"errors": problems}) from None


def render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204, headers={})
    body = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def actor_of(request, asserted: bool = False) -> str:
    """Who made the call: the SigV4 identity API Gateway verified; where callers are `asserted` (the local stage),
    the name sent in X-Registry-Actor as `local:<name>`; else 'anonymous'."""
    context = (request.context if request is not None else None) or {}
    identity = context.get("identity") or {}
    verified = identity.get("userArn") or identity.get("caller") or identity.get("user")
    claimed = (request.headers or {}).get(ACTOR_HEADER) if asserted and request is not None else None
    if verified or claimed is None:
        return verified or "anonymous"
    try:
        return names.local_actor(claimed)
    except InvalidInput as error:
        raise InvalidInput(f"{ACTOR_HEADER}: {error.message}", {"header": ACTOR_HEADER}) from None
