"""A transactional message's content: its template variables, and its subject, HTML and text
as sent (rendered with the template compiled once per version)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailer.engine.rendering import (
    CompiledEmail,
    compile_email,
    html_to_text,
    recipient_context,
)
from mailer.models import Template


def message_context(to: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """A message's template variables: the caller's, as given. They win over the defaults a
    campaign takes from the subscriber (first_name, last_name, name: empty here; email: the
    recipient; unsubscribe_url, view_online_url: empty, transactional mail has neither)."""
    names = {k: v if isinstance(v, str) else None for k, v in variables.items()}
    context = recipient_context(
        to, names.get("first_name"), names.get("last_name"), names.get("name"), variables
    )
    context.update((k, v) for k, v in variables.items() if k in _CALLER_WINS)
    return context


_CALLER_WINS = frozenset(
    {"email", "first_name", "last_name", "name", "unsubscribe_url", "view_online_url"}
)


def compiled_template(template: Template | None, subject: str, cache: dict) -> CompiledEmail:
    key = (template.id, template.updated_at, subject) if template else None
    found = cache.get(key)
    if found is None:
        found = compile_email(
            subject, template.html or "", template.text or None, name=template.name
        )
        if len(cache) > 64:
            cache.clear()
        cache[key] = found
    return found


def message_content(r, payload: dict, templates: dict, cache: dict) -> tuple[str, str, str]:
    """(subject, html, text) of one message, rendered when it uses a template."""
    if r.template_id is None and "template_id" in payload:
        raise LookupError(f"template {payload['template_id']} was deleted before sending")
    if r.template_id is None:
        html, text = payload.get("html") or "", payload.get("text") or ""
        if html and not text:
            text = html_to_text(html)
        return r.subject, html, text
    template = templates[r.template_id]
    context = message_context(r.to_email, payload.get("variables") or {})
    if "subject_source" in payload:  # the subject was rendered when the message was accepted
        rendered = compiled_template(template, "", cache).render(context)
        return r.subject, rendered.html, rendered.text
    # accepted before that: the subject is rendered now
    rendered = compiled_template(template, r.subject, cache).render(context)
    return rendered.subject, rendered.html, rendered.text
