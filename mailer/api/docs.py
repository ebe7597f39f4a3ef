"""The OpenAPI document, and a readable reference page built from it (both public)."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, render_template
from markupsafe import Markup, escape

from mailer.api.core import bp, public
from mailer.api.spec import document

METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(document())


@bp.get("/docs")
@public
def reference():
    doc = document()
    return render_template(
        "api/docs.html",
        doc=doc,
        intro=[_inline_markdown(p) for p in doc["info"]["description"].split("\n\n")],
        operations=_operations(doc),
        schemas=[(name, _fields(doc, s)) for name, s in doc["components"]["schemas"].items()],
    )


def _inline_markdown(text: str) -> Markup:
    """The two markdown marks the document's prose uses: **bold** and `code` (escaped first)."""
    html = str(escape(text))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return Markup(html)  # noqa: S704 - built from escaped text


def _operations(doc: dict) -> list[dict[str, Any]]:
    found = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                _resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])
            ]
            body = op.get("requestBody", {}).get("content", {})
            body_schema = next(iter(body.values()), {}).get("schema") if body else None
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": op.get("operationId", f"{method}-{path}"),
                    "summary": op.get("summary", ""),
                    "description": _inline_markdown(op.get("description", "")),
                    "tag": (op.get("tags") or ["other"])[0],
                    "scopes": op.get("x-scopes", []),
                    "samples": op.get("x-codeSamples", []),
                    "params": params,
                    "body": _ref_name(body_schema) if body_schema else None,
                    "bodies": _body_names(body_schema) if body_schema else [],
                    "body_types": list(body),
                    "responses": {
                        code: _resolve(doc, r).get("description", "")
                        for code, r in op.get("responses", {}).items()
                    },
                }
            )
    return sorted(found, key=lambda o: (o["tag"], o["path"]))


def _resolve(doc: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _body_names(schema: dict) -> list[str]:
    """The schemas a body may follow: one, or each of a oneOf (each links to its fields)."""
    return [_ref_name(s) for s in schema.get("oneOf", [schema])]


def _ref_name(schema: dict) -> str:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else _type_of(schema)


def _type_of(schema: dict) -> str:
    if "$ref" in schema:
        return _ref_name(schema)
    if "oneOf" in schema or "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema.get("oneOf") or schema["anyOf"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    return kind


def _fields(doc: dict, schema: dict) -> list[dict[str, str]]:
    schema = _resolve(doc, schema)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type_of(prop),
            "required": name in required,
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]
