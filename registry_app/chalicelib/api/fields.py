"""The API's constrained scalars: one type per input rule, used for validation AND for /openapi.json.

Each type validates with the check that owns the rule (names.py) and states the same rule in
the document (pattern, length, bounds), so a client or a generated client never sends what
the server refuses, and the server never refuses what the document allows. Request schemas
and path parameters (PATH_PARAMETERS, applied by http.Api to every route) use these types;
a new field or route that names its input with them inherits the rule.
"""
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StrictInt
from pydantic_core import PydanticCustomError, core_schema

from .. import names
from ..errors import InvalidInput


@dataclass(frozen=True)
class Rule:
    """A string rule of names.py: enforced by its check, published as its pattern and length."""

    pattern: str
    max_length: int
    check: Callable[[str], str]
    min_length: int = 1

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        return {**handler(schema), "minLength": self.min_length, "maxLength": self.max_length, "pattern": self.pattern}

    def _validate(self, value: str) -> str:
        try:
            return self.check(value)
        except InvalidInput as error:  # names.py says why; pydantic keeps the field's location
            raise PydanticCustomError("rule", "{reason}", {"reason": error.message}) from None


def _integral(value: Any) -> Any:
    """JSON Schema's integer is any number with a zero fraction: 1117.0 is 1117 (true and "1117" are not)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def integer(**bounds: Any) -> Any:
    """An integer with bounds (ge=, le=, description=); the bounds sit inside, so the schema states them."""
    return Annotated[StrictInt, Field(**bounds), BeforeValidator(_integral)]


Integer = integer()

ModelName = Annotated[str, Field(description=names.NAME_RULE),
                      Rule(names.NAME_PATTERN, names.MAX_NAME_LENGTH, names.validate_model_name)]
AliasName = Annotated[str, Field(description=names.ALIAS_RULE),
                      Rule(names.ALIAS_PATTERN, names.MAX_ALIAS_LENGTH, names.validate_alias_name)]
Version = integer(ge=1, le=names.MAX_NUMBER, description="a version number, from 1")
Revision = integer(ge=0, le=names.MAX_NUMBER, description="0 means: the alias must not exist yet")
ExistingRevision = integer(ge=1, le=names.MAX_NUMBER, description="the revision the caller read")

# Page tokens are opaque: unpadded URL-safe base64 of where the last page stopped (dynamo.encode_token).
TOKEN_PATTERN = "^[A-Za-z0-9_-]+$"
PageToken = Annotated[str, Field(min_length=1, max_length=2048, pattern=TOKEN_PATTERN,
                                 description="the next_token of the previous page of this same listing")]

# An upload's id (events.S3Upload.event_id): 32 lower-case hex digits of a SHA-256.
EventId = Annotated[str, Field(pattern="^[0-9a-f]{32}$", description="an upload's id, as a 202's Location names it")]

# Every route's path parameters, by name: the route decorator validates and documents them with these.
PATH_PARAMETERS: dict[str, Any] = {
    "name": Annotated[ModelName, Field(description=f"{names.NAME_RULE}; a '/' inside it is sent as %2F")],
    "alias": AliasName,
    "n": Version,
    "event_id": EventId,
}
