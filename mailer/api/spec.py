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

HERE = Path(__file__).parent / "openapi"


@functools.cache
def document() -> dict[str, Any]:
    files = sorted(HERE.glob("*.yaml"), key=lambda p: (p.name != "base.yaml", p.name))
    doc: dict[str, Any] = {}
    for path in files:
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in part.items():
            if key not in ("paths", "components"):
                doc.setdefault(key, value)
        _merge(doc.setdefault("paths", {}), part.get("paths", {}), path.name)
        components = doc.setdefault("components", {})
        for kind, entries in part.get("components", {}).items():
            _merge(components.setdefault(kind, {}), entries, path.name)
    return doc


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
