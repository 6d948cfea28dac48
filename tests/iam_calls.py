"""The AWS actions each Lambda function of the app can reach, read from the code, for the IAM tests.

A function reaches what app.py names inside its handlers (and in the app.py getters those
call, and at module level, which every function runs), the chalicelib modules those names
come from, and everything those modules import. Every call in a reached module whose name
is an operation of a service the app makes a client for (`.client("s3")`) is an AWS call;
so is the operation named in `generate_presigned_url("put_object")` or `get_paginator(...)`,
and each `{"Put"|"Update"|"Delete"|"ConditionCheck": {"TableName": ...}}` item of a
DynamoDB transaction (IAM authorises a transaction item by item). The scan is deliberately
generic: a new module or a new call shows up without touching this file.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import botocore.session
from botocore import xform_name

APP_DIR = Path(__file__).resolve().parent.parent / "registry_app"
API_FUNCTION = "api_handler"  # Chalice serves every route from this one function
ROUTE_DECORATORS = {"route"}
EVENT_DECORATORS = {"on_sqs_message", "schedule", "on_s3_event", "on_sns_message", "on_cw_event",
                    "on_kinesis_record", "on_dynamodb_record", "lambda_function"}

IAM_PREFIX = {"sagemaker-runtime": "sagemaker", "sagemaker-a2i-runtime": "sagemaker", "events": "events"}
# Operations whose IAM action differs from "<prefix>:<OperationName>" (S3's names predate its API).
# HEAD/GET also need s3:ListBucket: without it S3 answers a missing key with 403, not 404.
# The registry pins the object version it reserved a number for (VersionId on reads and copy
# sources), which IAM authorises as s3:GetObjectVersion.
S3_ACTIONS = {
    "head_object": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
    "get_object": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
    "copy_object": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
    "upload_part_copy": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
    "create_multipart_upload": ["s3:PutObject"],
    "upload_part": ["s3:PutObject"],
    "complete_multipart_upload": ["s3:PutObject"],
    "list_objects": ["s3:ListBucket"],
    "list_objects_v2": ["s3:ListBucket"],
    "head_bucket": ["s3:ListBucket"],
    "list_object_versions": ["s3:ListBucketVersions"],
    "list_multipart_uploads": ["s3:ListBucketMultipartUploads"],
    "delete_objects": ["s3:DeleteObject"],
}
TRANSACTION_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
ITEM_BY_ITEM = {"transact_write_items", "transact_get_items"}  # authorised per item, found as dict literals
# What the Lambda service itself calls with the function's role for an event source.
EVENT_SOURCE_ACTIONS = {"on_sqs_message": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]}
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


@dataclass
class Function:
    """One Lambda function of the app: its Chalice name, the decorator that makes it, what it reaches."""

    name: str
    kind: str
    names: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Call:
    action: str
    where: str  # module:line, to say what to fix


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _module_path(dotted: str) -> Path | None:
    base = APP_DIR.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(tree: ast.Module, package: str) -> dict[str, str]:
    """Name bound by an import → the chalicelib module it comes from."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if not source.startswith("chalicelib"):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found[alias.asname or alias.name] = submodule if _module_path(submodule) else source
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("chalicelib"):
                    found[alias.asname or alias.name] = alias.name
    return found


def _package_of(dotted: str) -> str:
    path = _module_path(dotted)
    return dotted if path and path.name == "__init__.py" else dotted.rpartition(".")[0]


@lru_cache(maxsize=None)
def module_closure(dotted: str) -> frozenset[str]:
    """`dotted` and every chalicelib module it imports, transitively."""
    seen, todo = set(), [dotted]
    while todo:
        current = todo.pop()
        path = _module_path(current)
        if current in seen or path is None:
            continue
        seen.add(current)
        todo.extend(_imports(_parse(path), _package_of(current)).values())
    return frozenset(seen)


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _decorator(node: ast.expr) -> tuple[str, dict] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        return node.func.attr, keywords
    return None


def functions() -> dict[str, Function]:
    """The app's Lambda functions (api_handler for every route, one per event handler) and what they reach."""
    tree = _parse(APP_DIR / "app.py")
    imported = _imports(tree, "")
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    module_level = set().union(*(_names_in(n) for n in tree.body if not isinstance(n, ast.FunctionDef)))
    found: dict[str, Function] = {}
    for node in defs.values():
        for decorator in filter(None, map(_decorator, node.decorator_list)):
            kind, keywords = decorator
            if kind in ROUTE_DECORATORS:
                name = API_FUNCTION
            elif kind in EVENT_DECORATORS:
                given = keywords.get("name")
                name = given.value if isinstance(given, ast.Constant) else node.name
            else:
                continue
            function = found.setdefault(name, Function(name, "route" if kind in ROUTE_DECORATORS else kind))
            function.names |= _names_in(node) - {node.name}
    for function in found.values():
        function.names |= module_level
        todo = [name for name in function.names if name in defs]
        while todo:  # app.py getters calling other getters
            new = _names_in(defs[todo.pop()]) - function.names
            function.names |= new
            todo.extend(name for name in new if name in defs)
        for name in function.names:
            if name in imported:
                function.modules |= module_closure(imported[name])
    return found


def _services() -> set[str]:
    """Every service the app makes a boto3 client for (`x.client("s3")`)."""
    services = set()
    for path in [APP_DIR / "app.py", *APP_DIR.joinpath("chalicelib").rglob("*.py")]:
        for node in ast.walk(_parse(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                services.add(node.args[0].value)
    return services


@lru_cache(maxsize=1)
def operations() -> dict[str, list[str]]:
    """snake_case operation → its IAM action(s), for every service the app uses."""
    session = botocore.session.get_session()
    table: dict[str, list[str]] = {}
    for service in sorted(_services()):
        model = session.get_service_model(service)
        prefix = IAM_PREFIX.get(service, model.metadata.get("signingName", service))
        for operation in model.operation_names:
            op = xform_name(operation)
            if op in ITEM_BY_ITEM:
                actions = []
            elif service == "s3" and op in S3_ACTIONS:
                actions = S3_ACTIONS[op]
            else:
                actions = [f"{prefix}:{operation}"]
            table.setdefault(op, []).extend(a for a in actions if a not in table.get(op, []))
    return table


def _calls_in(path: Path, label: str) -> list[Call]:
    ops = operations()
    calls = []
    for node in ast.walk(_parse(path)):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            op = node.func.attr
            if op in ("generate_presigned_url", "get_paginator") and node.args and isinstance(node.args[0], ast.Constant):
                op = node.args[0].value
            calls += [Call(action, where) for action in ops.get(op, [])]
        elif isinstance(node, ast.Dict):
            keys = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            for key, value in keys.items():
                if key in TRANSACTION_ITEMS and isinstance(value, ast.Dict) and any(
                        isinstance(k, ast.Constant) and k.value == "TableName" for k in value.keys):
                    calls.append(Call(f"dynamodb:{TRANSACTION_ITEMS[key]}", where))
    return calls


def reached_calls(function: Function) -> list[Call]:
    """Every AWS action `function` may call: its code's, its event source's, and its logs."""
    calls = [Call(a, "logs") for a in LOG_ACTIONS]
    calls += [Call(a, f"@app.{function.kind}") for a in EVENT_SOURCE_ACTIONS.get(function.kind, [])]
    calls += _calls_in(APP_DIR / "app.py", "app.py")
    for module in sorted(function.modules):
        calls += _calls_in(_module_path(module), module)
    return calls
