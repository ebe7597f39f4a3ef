"""Email address normalisation (syntax only, no DNS).

Imports check millions of addresses, so the common case must cost microseconds: a precompiled
regex accepts plain ASCII addresses (``jane.doe+tag@mail.example.com``) and everything else —
non-ASCII, quoted local parts, odd punctuation, special-use domains — goes to email_validator
(``check_deliverability=False``) so the verdict stays correct. The fast regex only accepts a
strict subset of what email_validator accepts; ``tests/contacts/test_emails.py`` checks that
both paths agree.

Normal form: trimmed and lowercased, with an internationalised domain in its ASCII (Punycode)
form, e.g. ``Jörg@Bücher.DE`` -> ``jörg@xn--bcher-kva.de``. One spelling per mailbox lets the
unique index de-duplicate ``bücher.de`` and ``xn--bcher-kva.de``, and the ASCII domain is what
SMTP and provider APIs accept without SMTPUTF8. A non-ASCII local part stays UTF-8 (it has no
ASCII form). Lowercasing the local part is technically lossy (RFC 5321 lets it be
case-sensitive) but no real mailbox provider relies on that, and it is what de-duplication needs.

Rejected on purpose (email_validator's defaults, which providers share): quoted local parts
(``"john doe"@x.com``), IP-literal domains, display names (``Jane <jane@x.com>``), domains without
a dot and special-use domains (``.local``, ``.localhost``, ``.test``, ``.invalid``, ...).
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

__all__ = ["InvalidEmail", "MAX_EMAIL_LENGTH", "is_valid_email", "normalize_email"]

#: RFC 5321 limit on a forward path, minus the angle brackets.
MAX_EMAIL_LENGTH = 254

# Applied to the stripped, lowercased address. Local part: dot-atom of [a-z0-9_+-], at most 64
# chars. Domain: labels of [a-z0-9] joined by single hyphens (so no "xn--" labels, which need
# IDNA checks), each at most 63 chars, ending in an alphabetic TLD of 2+ letters.
_FAST_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*"
    r"@(?:(?=[a-z0-9\-]{1,63}\.)[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}"
)
_SPACE = re.compile(r"\s")
# email_validator rejects these TLDs (and test_environment=False keeps "test" in the list).
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})

# email_validator message fragment -> short reason, first match wins.
_REASONS: tuple[tuple[str, str], ...] = (
    ("must have an @-sign", "missing @"),
    ("at-sign", "invalid @ character"),
    ("something before the @-sign", "missing local part"),
    ("something after the @-sign", "missing domain"),
    ("too long", "too long"),
    ("Quoting", "quoted local part not allowed"),
    ("display name", "display name not allowed"),
    ("bracket", "IP address domain not allowed"),
    ("so many characters", "invalid domain"),
    ("special-use", "reserved domain"),
    ("after the @-sign", "invalid domain"),
    ("end with a", "invalid domain"),
    ("before the @-sign", "invalid local part"),
    ("start with a", "invalid local part"),
    ("two periods", "two periods in a row"),
    ("period and a hyphen", "invalid domain"),
    ("unsafe characters", "unsafe characters"),
    ("invalid character", "invalid characters"),
)


class InvalidEmail(ValueError):
    """An address that can never be delivered; ``reason`` is short and shown to users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_email(raw: str) -> str:
    """Return the normal form of ``raw`` (see the module docstring) or raise InvalidEmail."""
    s = raw.strip().lower()
    if (
        len(s) <= MAX_EMAIL_LENGTH
        and _FAST_EMAIL.fullmatch(s)
        and s[s.rfind(".") + 1 :] not in _SPECIAL_TLDS
    ):
        return s
    return _normalize_slow(s)


def is_valid_email(raw: str) -> bool:
    """True when ``raw`` normalises; for form validation where the reason is not needed."""
    try:
        normalize_email(raw)
    except InvalidEmail:
        return False
    return True


def _normalize_slow(s: str) -> str:
    """Give the common mistakes a precise reason, then let email_validator decide the rest."""
    if not s:
        raise InvalidEmail("empty")
    quoted = '"' in s
    if not quoted:
        if _SPACE.search(s):
            raise InvalidEmail("contains spaces")
        ats = s.count("@")
        if ats == 0 and "\uff20" not in s and "\ufe6b" not in s:
            raise InvalidEmail("missing @")
        if ats > 1:
            raise InvalidEmail("more than one @")
    if len(s) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("too long")
    try:
        info = validate_email(
            s,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_empty_local=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            test_environment=False,
            globally_deliverable=True,
            strict=True,  # enforce the 64-character local part limit (RFC 5321)
        )
    except EmailNotValidError as exc:
        raise InvalidEmail(_short_reason(str(exc))) from None
    domain = info.ascii_domain or info.domain
    return f"{info.local_part.lower()}@{domain.lower()}"


def _short_reason(message: str) -> str:
    for fragment, reason in _REASONS:
        if fragment in message:
            return reason
    return "invalid address"
