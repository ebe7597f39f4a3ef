"""The templates library: reusable emails written in sandboxed Jinja, checked when saved.

Saving refuses syntax errors (shown next to the field, with the line) and only *warns* about
unknown variables and about a template that fails to render with sample data: the marketer may
be about to import the attribute, and real recipients may have the data the sample lacks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, update

from mailer.engine import rendering
from mailer.engine.rendering import checks
from mailer.extensions import db
from mailer.lib import branding
from mailer.lib.dbutil import parse_id
from mailer.lib.emails import InvalidEmail, normalize_email
from mailer.lib.errors import ValidationError
from mailer.models import (
    Campaign,
    Channel,
    Editor,
    Identity,
    MailingList,
    Subscriber,
    Template,
)
from mailer.services import test_sends

NAME_MAX = 200
SUBJECT_MAX = 500
FIELD_NAMES = {
    "subject": _l("Subject"),
    "html": _l("HTML body"),
    "text": _l("Plain-text body"),
    "source": _l("MJML"),
}
DESIGN_MAX = 5_000_000  # characters of the visual editor's project data
EDITORS = {e.value for e in Editor}


class TemplateSourceError(ValidationError):
    """Syntax errors per field in plain words; ``details`` holds the raw messages per field."""

    def __init__(self, errors: dict[str, str], details: dict[str, str]) -> None:
        super().__init__(errors)
        self.details = details


def explain(problem: rendering.TemplateSyntaxProblem) -> str:
    """A syntax error in the reader's words: what to check, on which line."""
    words = _(problem.explanation) % problem.values
    if problem.line:
        return _("Line %(line)s: %(problem)s", line=problem.line, problem=words)
    return words


def known_attributes() -> set[str]:
    """Attribute names present in subscribers, so using them is not reported as unknown."""
    from mailer.services.lists import attribute_names

    return attribute_names()


# ---------------------------------------------------------------- reading


def list_templates() -> list[Template]:
    return list(db.session.scalars(db.select(Template).order_by(Template.name)))


def get_template(template_id: int) -> Template | None:
    return db.session.get(Template, template_id)


def usage_count(template: Template) -> int:
    """How many campaigns point at this template."""
    return (
        db.session.scalar(
            db.select(func.count()).select_from(Campaign).filter_by(template_id=template.id)
        )
        or 0
    )


# ---------------------------------------------------------------- checking and saving


def check_source(subject: str, html: str, text: str | None, name: str | None = None) -> list[str]:
    """Raise ValidationError for syntax errors (per field, with the line); return warnings.
    `name` (the template's) is quoted in render errors."""
    problems = rendering.syntax_problems(subject, html, text or None)
    if problems:  # every broken field, each next to its field
        raise TemplateSourceError(
            {p.field: explain(p) for p in problems}, {p.field: p.message for p in problems}
        )
    try:
        compiled = rendering.compile_email(subject, html, text or None, name=name)
    except rendering.TemplateSyntaxProblem as exc:
        raise TemplateSourceError({exc.field: explain(exc)}, {exc.field: exc.message}) from None
    warnings: list[str] = []
    unknown = rendering.unknown_variables(subject, html, text or None, known_attributes())
    if unknown:
        warnings.append(
            ngettext(
                "Unknown variable: %(names)s. No subscriber attribute has this name, so it will "
                "render empty.",
                "Unknown variables: %(names)s. No subscriber attribute has these names, so they "
                "will render empty.",
                len(unknown),
                names=", ".join(unknown),
            )
        )
    try:
        compiled.render(rendering.sample_context())
    except rendering.RenderError as exc:
        warnings.append(_("With sample data the template does not render: %(reason)s", reason=exc))
    return warnings + findings(subject, html, text)


def findings(subject: str, html: str, text: str | None) -> list[str]:
    """The checks before sending (alt text, Gmail's clipping, widths), in the reader's words.
    A missing unsubscribe link is left to the campaign: a template may serve receipts."""
    return [
        _(finding.explanation) % finding.values
        for finding in checks.check_email(html, text, subject)
        if finding.kind != "unsubscribe"
    ]


def explain_mjml(problem: rendering.MjmlProblem) -> str:
    return _(problem.explanation) % problem.values if problem.values else _(problem.explanation)


def clean_body(form: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The email's body as written (``editor``, ``source``, ``design``, ``html``, ``text``),
    with the HTML compiled from the MJML for the visual and MJML editors. A problem goes into
    ``errors`` next to its field; the values come back either way, so nothing typed is lost."""
    editor = form.get("editor") or Editor.HTML.value
    if editor not in EDITORS:
        editor = Editor.HTML.value
    source = rendering.normalize_newlines(form.get("source") or "")
    design = form.get("design") or ""
    html = form.get("html") or ""
    text = form.get("text") or ""
    if editor == Editor.HTML.value:
        source = design = ""
        if not html.strip():
            errors["html"] = _("Write the HTML body (the text version can be generated from it).")
    else:
        if editor == Editor.MJML.value:
            design = ""  # the code is the truth now: the visual editor rebuilds from it
        elif design and not _is_design(design):
            errors["design"] = _(
                "The visual editor's data could not be read; reload the page and try again."
            )
            design = ""
        try:
            html = rendering.compile_mjml(source)
        except rendering.MjmlProblem as exc:
            errors["source"] = explain_mjml(exc)
            html = ""
    return {
        "editor": editor,
        "source": source or None,
        "design": design or None,
        "html": html,
        "text": text if text.strip() else None,
    }


def _is_design(design: str) -> bool:
    if len(design) > DESIGN_MAX:
        return False
    try:
        return isinstance(json.loads(design), dict)
    except ValueError:
        return False


def _clean(form: Mapping[str, str], current: Template | None) -> dict[str, Any]:
    name = (form.get("name") or "").strip()
    subject = (form.get("subject") or "").strip()
    errors: dict[str, str] = {}
    taken: set[str] = set()
    body = clean_body(form, errors)
    if not name:
        errors["name"] = _("Give the template a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("Use at most %(n)s characters.", n=NAME_MAX)
    else:
        query = db.select(Template.id).filter_by(name=name)
        if current is not None:
            query = query.where(Template.id != current.id)
        if db.session.scalar(query.limit(1)):
            errors["name"] = _("Another template already has this name.")
            taken.add("name")
    if not subject:
        errors["subject"] = _("Write a subject line.")
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = _("Use at most %(n)s characters.", n=SUBJECT_MAX)
    if errors:
        raise ValidationError(errors, conflicts=taken)
    return {"name": name, "subject": subject, **body}


def check_values(values: Mapping[str, Any]) -> list[str]:
    """check_source on cleaned values; a mistake in the compiled MJML is shown next to the
    MJML, where it was written."""
    try:
        return check_source(values["subject"], values["html"], values["text"], values["name"])
    except TemplateSourceError as exc:
        if values["editor"] == Editor.HTML.value or "html" not in exc.errors:
            raise
        errors, details = dict(exc.errors), dict(exc.details)
        errors["source"] = errors.pop("html")
        details["source"] = details.pop("html", "")
        raise TemplateSourceError(errors, details) from None


def create_template(form: Mapping[str, str]) -> tuple[Template, list[str]]:
    """Create a template; returns it with warnings (unknown variables, sample render)."""
    values = _clean(form, None)
    warnings = check_values(values)
    template = Template(**values)
    db.session.add(template)
    db.session.commit()
    return template, warnings


def update_template(template: Template, form: Mapping[str, str]) -> list[str]:
    values = _clean(form, template)
    warnings = check_values(values)
    for key, value in values.items():
        setattr(template, key, value)
    db.session.commit()
    return warnings


def _copy_name(name: str) -> str:
    base = f"Copy of {name}"[:NAME_MAX]
    taken = set(
        db.session.scalars(db.select(Template.name).where(Template.name.startswith("Copy of ")))
    )
    candidate, n = base, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate = base[: NAME_MAX - len(suffix)] + suffix
        n += 1
    return candidate


def duplicate_template(template: Template) -> Template:
    copy = Template(
        name=_copy_name(template.name),
        subject=template.subject,
        html=template.html,
        text=template.text,
        editor=template.editor,
        source=template.source,
        design=template.design,
    )
    db.session.add(copy)
    db.session.commit()
    return copy


def delete_template(template: Template) -> None:
    """Campaigns keep their own copy once launched; drafts lose the link (SET NULL)."""
    db.session.execute(
        update(Campaign).where(Campaign.template_id == template.id).values(template_id=None)
    )
    db.session.delete(template)
    db.session.commit()


# ---------------------------------------------------------------- preview


@dataclass(frozen=True)
class Problem:
    """What a preview shows about a broken field: plain words, and the raw message if any."""

    text: str
    detail: str = ""


@dataclass
class TemplatePreview:
    subject: str = ""
    html: str = ""
    text: str = ""
    text_generated: bool = False  # the text part was generated from the HTML
    recipient: str = ""  # whose data filled the variables ("": sample data)
    problems: list[Problem] = field(default_factory=list)  # syntax or render errors
    unknown: list[str] = field(default_factory=list)  # variables nobody supplies
    notice: str = ""  # e.g. "no subscriber with that email"
    rendered: bool = False
    findings: list[str] = field(default_factory=list)  # checks before sending


def _find_subscriber(email: str) -> Subscriber | None:
    return db.session.scalars(
        db.select(Subscriber).filter_by(email=email).order_by(Subscriber.id).limit(1)
    ).first()


def preview(
    subject: str,
    html: str,
    text: str | None,
    subscriber_email: str | None = None,
    name: str | None = None,
    editor: str = Editor.HTML.value,
    source: str | None = None,
) -> TemplatePreview:
    """Render for sample data, or for the first subscriber with ``subscriber_email``.

    Never raises for template problems: they come back as ``problems`` in plain words, with
    the template's `name` when given.
    """
    result = TemplatePreview()
    if editor in (Editor.VISUAL.value, Editor.MJML.value):
        try:
            html = rendering.compile_mjml(source or "")
        except rendering.MjmlProblem as exc:
            result.problems = [Problem(f"{FIELD_NAMES['source']} · {explain_mjml(exc)}")]
            return result
    postal_address = branding.load().address
    sample = rendering.sample_context(postal_address=postal_address)
    context = sample
    wanted = (subscriber_email or "").strip()
    if wanted:
        subscriber = None
        try:
            subscriber = _find_subscriber(normalize_email(wanted))
        except InvalidEmail:
            result.notice = _(
                "“%(email)s” is not a valid email address; showing sample data.", email=wanted
            )
        if subscriber is not None:
            context = rendering.recipient_context(
                email=subscriber.email,
                first_name=subscriber.first_name,
                last_name=subscriber.last_name,
                name=subscriber.name,
                attributes=subscriber.attributes or {},
                unsubscribe_url=sample["unsubscribe_url"],
                view_online_url=sample["view_online_url"],
                preferences_url=sample["preferences_url"],
                postal_address=sample["postal_address"],
            )
            result.recipient = subscriber.email
        elif not result.notice:
            result.notice = _(
                "No subscriber has the address %(email)s; showing sample data.", email=wanted
            )
    known = known_attributes() | set(context.get("attributes") or {})
    outcome = rendering.render_preview(
        subject, html, text or None, context, known=known, name=name or None
    )
    result.unknown = list(outcome.unknown_variables)
    # Unknown variables are a warning (shown on their own), not a problem.
    if outcome.syntax:
        result.problems = [
            Problem(f"{FIELD_NAMES[p.field]} · {explain(p)}", p.message) for p in outcome.syntax
        ]
    else:
        result.problems = [
            Problem(p) for p in outcome.problems if not p.startswith("Unknown variable")
        ]
    if outcome.email is not None:
        result.subject = outcome.email.subject
        result.html = outcome.email.html
        result.text = outcome.email.text
        result.text_generated = not (text and text.strip())
        result.rendered = True
        result.findings = findings(subject, html, text)
    return result


# ---------------------------------------------------------------- merge tags


def _attribute_tag(key: str) -> str:
    return f"{{{{ attributes.{key} }}}}" if key.isidentifier() else f"{{{{ attributes[{key!r}] }}}}"


def merge_tags(list_ids: list[int] | None = None) -> list[dict[str, str]]:
    """What the editors' merge-tag menu offers: the standard fields, the attributes seen on
    ``list_ids`` (every list when None: a template serves any), the recipient's links and
    the sender's postal address."""
    person, links, sender = _("Person"), _("Links"), _("Sender")
    tags = [
        {"group": person, "label": _("Email address"), "tag": "{{ email }}"},
        {"group": person, "label": _("First name"), "tag": "{{ first_name }}"},
        {"group": person, "label": _("Last name"), "tag": "{{ last_name }}"},
        {"group": person, "label": _("Full name"), "tag": "{{ name }}"},
    ]
    names: set[str] = set()
    query = db.select(MailingList.attribute_types)
    subscribers = db.select(Subscriber.attributes).order_by(Subscriber.id.desc()).limit(200)
    if list_ids is not None:
        query = query.where(MailingList.id.in_(list_ids or [0]))
        subscribers = subscribers.where(Subscriber.list_id.in_(list_ids or [0]))
    for found in [*db.session.scalars(query), *db.session.scalars(subscribers)]:
        if isinstance(found, dict):
            names.update(key for key in found if isinstance(key, str) and key.strip())
    attributes = _("Attributes")
    tags += [
        {"group": attributes, "label": key, "tag": _attribute_tag(key)} for key in sorted(names)
    ]
    tags += [
        {"group": links, "label": _("Unsubscribe link"), "tag": "{{ unsubscribe_url }}"},
        {"group": links, "label": _("Email preferences link"), "tag": "{{ preferences_url }}"},
        {"group": links, "label": _("View in the browser link"), "tag": "{{ view_online_url }}"},
        {"group": sender, "label": _("Postal address"), "tag": "{{ postal_address }}"},
    ]
    return tags


# ---------------------------------------------------------------- test sends


def send_test(template: Template, form: Mapping[str, str], language: str = "en") -> list:
    """Send the email as it stands in the editor (``form``: the body fields; the saved
    template's when absent) to the typed addresses, through the chosen channel and sender."""
    errors: dict[str, str] = {}
    channel = db.session.get(Channel, parse_id(form.get("channel_id")) or 0)
    identity = db.session.get(Identity, parse_id(form.get("identity_id")) or 0)
    if channel is None:
        errors["channel_id"] = _("Choose a channel.")
    if identity is None:
        errors["identity_id"] = _("Choose a sender.")
    try:
        to = test_sends.addresses(form.get("to", ""), field="to")
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    subject = (form.get("subject") or template.subject).strip()
    if "editor" in form:
        body = clean_body(form, errors)
        if errors:
            raise ValidationError(
                {"to": _("Fix the email first: %(problem)s", problem=next(iter(errors.values())))}
            )
        content = (subject, body["html"], body["text"])
    else:
        content = (subject, template.html, template.text)
    return test_sends.send(
        channel,
        identity,
        to,
        content,
        name=template.name,
        tags={"template": str(template.id)},
        language=language,
        field="to",
    )
