"""The reference page: a curl command for every operation, made from the document, whose
body the document itself accepts (so a client can paste it and adjust)."""

from __future__ import annotations

import html
import json
import re
import shlex

from jsonschema import Draft202012Validator

from mailer.api.curl import command_for
from mailer.api.spec import document

METHODS = ("get", "post", "put", "patch", "delete")


def _operations():
    doc = document()
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield doc, path, method, item[method]


def test_every_operation_on_the_reference_page_has_its_curl_command(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    sections = dict(re.findall(r'<section id="([^"]+)" class="api-op">(.*?)</section>', page, re.S))
    ops = list(_operations())
    assert len(sections) == len(ops)
    for _doc, path, method, op in ops:
        section = html.unescape(sections[op["operationId"]])
        command = op["x-codeSamples"][0]["source"]
        assert f"<code>{command}</code>" in section, (method, path)
        assert command.startswith("curl ") and path.split("{")[0] in command


def test_a_new_operation_gets_a_command_with_its_key_and_body():
    doc = {
        "security": [{"apiKey": []}],
        "components": {"schemas": {}},
    }
    op = {
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "examples": ["Gold"]},
                            "size": {"type": "integer"},
                        },
                    }
                }
            }
        }
    }
    params = [{"name": "list_id", "in": "path", "schema": {"type": "integer", "minimum": 1}}]
    command = command_for(doc, "post", "/api/v1/lists/{list_id}/tiers", params, op)
    assert shlex.split(command.replace("\\\n", " ")) == [
        "curl",
        "-X",
        "POST",
        "$MAILER_URL/api/v1/lists/1/tiers",
        "-H",
        "Authorization: Bearer $MAILER_API_KEY",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"name": "Gold"}',
    ]


def test_every_example_body_is_one_the_document_accepts():
    for doc, path, method, op in _operations():
        media = op.get("requestBody", {}).get("content", {}).get("application/json")
        if media is None:
            continue
        source = op["x-codeSamples"][0]["source"]
        body = json.loads(shlex.split(source.replace("\\\n", " "))[-1])
        schema = {**media["schema"], "components": doc["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
        assert not errors, (method, path, errors)
