"""A curl command for every operation of the OpenAPI document, made from the document itself
(``x-codeSamples``, the field API reference tools read), so a new operation gets one too.

Values come from the document's own ``example``/``examples``, defaults and enums; a body
holds the required fields and those with an example.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
BASE = "$MAILER_URL"  # e.g. https://mail.example.com
KEY = "Authorization: Bearer $MAILER_API_KEY"
_FORMATS = {
    "email": "jane@example.com",
    "date-time": "2027-03-01T09:00:00Z",
    "uri": "https://example.com",
    "binary": "@contacts.csv",
}


def add_code_samples(doc: dict[str, Any]) -> None:
    """Give every operation without one an ``x-codeSamples`` entry for curl."""
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None or "x-codeSamples" in op:
                continue
            params = item.get("parameters", []) + op.get("parameters", [])
            command = command_for(doc, method, path, params, op)
            op["x-codeSamples"] = [{"lang": "Shell", "label": "curl", "source": command}]


def command_for(doc: dict, method: str, path: str, params: list, op: dict) -> str:
    url = path
    for param in (_resolve(doc, p) for p in params):
        if param.get("in") == "path":
            value = _example(doc, param.get("schema", {}), param.get("example"))
            url = url.replace("{" + param["name"] + "}", str(value))
    verb = "" if method == "get" else f"-X {method.upper()} "
    lines = [f'curl {verb}"{BASE}{url}"']
    if op.get("security", doc.get("security")) != []:
        lines.append(f'-H "{KEY}"')
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        media = content["application/json"]
        body = media.get("example")
        if body is None:
            body = _example(doc, media.get("schema", {}))
        lines.append("-H 'Content-Type: application/json'")
        lines.append(f"-d {shlex.quote(json.dumps(body, ensure_ascii=False))}")
    elif "multipart/form-data" in content:
        schema = _resolve(doc, content["multipart/form-data"].get("schema", {}))
        for name in schema.get("required", []):
            value = _example(doc, schema["properties"][name])
            lines.append(f"-F {shlex.quote(f'{name}={value}')}")
    return " \\\n  ".join(lines)


def _resolve(doc: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _example(doc: dict, schema: Any, given: Any = None, depth: int = 0) -> Any:
    """A plausible value for ``schema``: its example, else one built from its shape."""
    if given is not None:
        return given
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 6:
        return None
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "else" in schema and "properties" not in schema:  # if/then/else: the plain case
        return _example(doc, schema["else"], depth=depth + 1)
    for key in ("oneOf", "anyOf"):
        if schema.get(key) and "properties" not in schema:
            return _example(doc, schema[key][0], depth=depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = schema.get("properties", {})
        wanted = [
            name
            for name, prop in props.items()
            if name in schema.get("required", []) or _has_example(doc, prop)
        ]
        return {name: _example(doc, props[name], depth=depth + 1) for name in wanted}
    if kind == "array":
        return [_example(doc, schema.get("items", {}), depth=depth + 1)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return _FORMATS.get(schema.get("format", ""), "text")


def _has_example(doc: dict, schema: Any) -> bool:
    schema = _resolve(doc, schema)
    return isinstance(schema, dict) and bool(schema.get("examples") or "example" in schema)
