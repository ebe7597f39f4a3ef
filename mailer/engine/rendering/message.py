"""What a transactional message sends: its own HTML and text, or its template rendered with
the caller's variables (the drain sends it; the click path renders it again as proof)."""

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
    recipient; unsubscribe_url, view_online_url, preferences_url: empty, transactional mail
    has none of them)."""
    names = {k: v if isinstance(v, str) else None for k, v in variables.items()}
    context = recipient_context(
        to, names.get("first_name"), names.get("last_name"), names.get("name"), variables
    )
    context.update((k, v) for k, v in variables.items() if k in _CALLER_WINS)
    return context


_CALLER_WINS = frozenset(
    {
        "email",
        "first_name",
        "last_name",
        "name",
        "unsubscribe_url",
        "view_online_url",
        "preferences_url",
    }
)


def message_content(
    r, payload: dict, templates: Mapping[int, Template], cache: dict
) -> tuple[str, str, str]:
    """(subject, html, text) of one message (a row with ``template_id``, ``subject`` and
    ``to_email``), rendered when it uses a template; ``cache``: see :func:`compiled_template`."""
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
    rendered = compiled_template(template, r.subject, cache).render(context)  # accepted before that
    return rendered.subject, rendered.html, rendered.text


def compiled_template(template: Template | None, subject: str, cache: dict) -> CompiledEmail:
    """The template compiled with this subject, kept in ``cache`` while it is unchanged."""
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
