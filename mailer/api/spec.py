"""The OpenAPI document, assembled once from ``openapi/*.yaml`` (base.yaml first).

Each file may add ``paths`` and ``components`` entries; a name defined twice is a mistake and
fails loudly. Request bodies are validated against these same schemas (``validator_for``), so
the document and the behaviour cannot drift apart.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from mailer.api.curl import add_code_samples

HERE = Path(__file__).parent / "openapi"


MERGED = ("paths", "webhooks")  # besides components: entries from every file


@functools.cache
def document() -> dict[str, Any]:
    files = sorted(HERE.glob("*.yaml"), key=lambda p: (p.name != "base.yaml", p.name))
    doc: dict[str, Any] = {}
    for path in files:
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in part.items():
            if key not in (*MERGED, "components"):
                doc.setdefault(key, value)
        for key in MERGED:
            if key in part:
                _merge(doc.setdefault(key, {}), part[key], path.name)
        components = doc.setdefault("components", {})
        for kind, entries in part.get("components", {}).items():
            _merge(components.setdefault(kind, {}), entries, path.name)
    _add_rate_limit_headers(doc)
    add_code_samples(doc)
    return doc


RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests this key may make in the current minute.",
    "RateLimit-Remaining": "Requests left in the current minute (0 once over the limit).",
    "RateLimit-Reset": "Seconds until the current minute ends and the count starts again.",
}


def _add_rate_limit_headers(doc: dict[str, Any]) -> None:
    """Every answer to a request made with a known key carries the key's rate-limit headers
    (core adds them), so every response of every operation that takes a key documents them,
    except 401 (no known key). Written here once rather than in each file's responses."""
    components = doc["components"]
    headers = components.setdefault("headers", {})
    for name, description in RATE_LIMIT_HEADERS.items():
        headers[name] = {
            "description": description,
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    shared = set()
    for item in doc["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op or op.get("security") == []:
                continue
            for code, response in op["responses"].items():
                if code == "401":
                    continue
                if "$ref" in response:
                    shared.add(response["$ref"].rsplit("/", 1)[-1])
                else:
                    response.setdefault("headers", {}).update(refs)
    for name in shared:
        components["responses"][name].setdefault("headers", {}).update(refs)


def _merge(into: dict, new: dict, source: str) -> None:
    for name, value in new.items():
        if name in into:
            raise ValueError(f"OpenAPI: {name!r} from {source} is defined twice")
        into[name] = value


@functools.cache
def validator_for(schema: str) -> Draft202012Validator:
    components = document()["components"]
    if schema not in components.get("schemas", {}):
        raise KeyError(f"OpenAPI has no schema {schema!r}")
    root = {"$ref": f"#/components/schemas/{schema}", "components": components}
    return Draft202012Validator(root)
