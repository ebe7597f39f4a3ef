"""normalize_email: the normal form, the reasons users see, and fast path == email_validator."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from mailer.lib.emails import InvalidEmail, address_problem, is_valid_email, normalize_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM \t\n", "jane.doe@example.com"),
        ("JANE+News@Mail.Example.co.uk", "jane+news@mail.example.co.uk"),
        ("o_connor-2@sub-domain.example.org", "o_connor-2@sub-domain.example.org"),
        # IDN domains are stored in their ASCII (Punycode) form, whichever way they come in.
        ("jörg@bücher.de", "jörg@xn--bcher-kva.de"),
        ("Jorg@BÜCHER.de", "jorg@xn--bcher-kva.de"),
        ("jorg@xn--bcher-kva.de", "jorg@xn--bcher-kva.de"),
        ("user@例え.jp", "user@xn--r8jz45g.jp"),
        ("ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai"),
        # A non-ASCII local part has no ASCII form: it stays UTF-8, lowercased.
        ("ÜSER@example.com", "üser@example.com"),
        # Unusual but valid ASCII goes through email_validator.
        ("a!b#c@example.com", "a!b#c@example.com"),
        ("x@a.co", "x@a.co"),
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected
    assert is_valid_email(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("jane.example.com", "missing @"),
        ("jane doe@example.com", "contains spaces"),
        ("jane@exa mple.com", "contains spaces"),
        ("Jane Doe <jane@example.com>", "contains spaces"),
        ("jane@@example.com", "more than one @"),
        ("a@b@example.com", "more than one @"),
        ("@example.com", "missing local part"),
        ("jane@", "missing domain"),
        ("jane@localhost", "invalid domain"),
        ("jane@example", "invalid domain"),
        ("jane@-example.com", "invalid domain"),
        ("jane@example..com", "two periods in a row"),
        ("jane..doe@example.com", "two periods in a row"),
        (".jane@example.com", "invalid local part"),
        ("jane.@example.com", "invalid local part"),
        ("jane@example.co1", "invalid domain"),
        ("jane@exam_ple.com", "invalid domain"),
        ("jane@x.local", "reserved domain"),
        ("jane@x.test", "reserved domain"),
        ("jane@[192.0.2.1]", "IP address domain not allowed"),
        ('"jane doe"@example.com', "quoted local part not allowed"),
        ("a" * 65 + "@example.com", "too long"),
        ("a@" + "b" * 250 + ".com", "too long"),
        ("jane@" + "b" * 64 + ".com", "invalid domain"),
        ("jane＠example.com", "invalid @ character"),
    ],
)
def test_rejects_with_short_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidEmail) as info:
        normalize_email(raw)
    assert info.value.reason == reason
    assert str(info.value) == reason
    assert not is_valid_email(raw)


def _reference(raw: str) -> str | None:
    """What email_validator alone says, in our normal form (None = invalid)."""
    try:
        info = validate_email(
            raw.strip().lower(),
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            allow_empty_local=False,
            test_environment=False,
            globally_deliverable=True,
            strict=True,
        )
    except EmailNotValidError:
        return None
    return f"{info.local_part.lower()}@{(info.ascii_domain or info.domain).lower()}"


def _random_address(rnd: random.Random) -> str:
    local_chars = "abcXYZ0189._+-!#'ä中 \u00a0\"@"
    label_chars = "abcxyzABC019-_äü中"
    local = "".join(rnd.choice(local_chars) for _ in range(rnd.choice([0, 1, 3, 8, 20, 64, 65])))
    if rnd.random() < 0.6:  # mostly plain, so the fast path is exercised hard
        words = rnd.randint(1, 3)
        local = ".".join(
            "".join(rnd.choice("abcXz09_+-") for _ in range(rnd.choice([1, 5, 8, 30])))
            for _ in range(words)
        )
    if rnd.random() < 0.7:
        label_chars = "abcxyz019-"
    labels = []
    for _ in range(rnd.choice([0, 1, 1, 1, 2, 3])):
        size = rnd.choice([0, 1, 2, 5, 5, 10, 10, 63, 64])
        labels.append("".join(rnd.choice(label_chars) for _ in range(size)))
    if rnd.random() < 0.2:
        labels.append("xn--bcher-kva")
    labels.append(
        rnd.choice(
            [
                "com",
                "com",
                "de",
                "de",
                "c0m",
                "x",
                "xn--p1ai",
                "local",
                "test",
                "рф",
                "123",
                "",
                "museum",
                "a-b",
                "Co",
            ]
        )
    )
    domain = ".".join(labels)
    address = f"{local}@{domain}" if rnd.random() < 0.97 else local + domain
    if rnd.random() < 0.1:
        address = f" {address}\t"
    return address


def test_fast_path_agrees_with_email_validator() -> None:
    """The regex fast path and the cached domain check must never change a verdict."""
    rnd = random.Random(1234)
    samples = [_random_address(rnd) for _ in range(20_000)]
    samples += [
        "a@b.co",
        "a@b-c.de",
        "a-@b.de",
        "-a@b.de",
        "a@b.c-d",
        "a@b.cd-",
        "a@1.de",
        "a@b.xn--p1ai",
        "a+b@c.de",
        "_@c.de",
        "a@b.c.d.e.f.gh",
        "a@ab--cd.de",
    ]
    accepted = 0
    for raw in samples:
        expected = _reference(raw)
        try:
            got: str | None = normalize_email(raw)
        except InvalidEmail:
            got = None
        assert got == expected, raw
        accepted += got is not None
    assert accepted > 3_000  # the corpus really tests acceptance, not only rejection


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("jane@example.com", None),
        ("Jane.Doe@Example.COM", None),  # not in normal form, but deliverable as it is
        ("jörg@xn--bcher-kva.de", None),
        ("nobody.example.com", "missing @"),
        ("a b@example.com", "contains spaces"),
        ("x@example.com\r\nBcc: v@example.com", "contains spaces"),
        (" jane@example.com", "surrounding whitespace or line break"),
        ("jane@example.com\n", "surrounding whitespace or line break"),
        ("jane@localhost", "invalid domain"),
    ],
)
def test_address_problem_at_send_time(address, problem):
    assert address_problem(address) == problem
