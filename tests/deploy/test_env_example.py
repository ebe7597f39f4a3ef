"""deploy/mailer.env.example documents every setting Mailer reads, each once, with its meaning
and its default, and names none that does not exist; nginx's upload cap matches Mailer's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "deploy" / "mailer.env.example"
# Settings read outside config.py (they should move there), with the file that reads each.
READ_ELSEWHERE = {"MAILER_EVENT_LOOP": "mailer/providers/base.py"}
ASSIGNMENT = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")
NO_DEFAULT = object()  # a default computed at import time (a path, another setting)


def config_settings() -> dict[str, object]:
    """Each environment variable `Config` reads through `_env`/`_int`, with its default: a
    value, None (unset) or NO_DEFAULT when the default is not a constant expression."""
    tree = ast.parse((ROOT / "config.py").read_text())
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Config")
    settings: dict[str, object] = {}
    for node in ast.walk(config):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_env", "_int")):
            continue
        name = node.args[0].value
        default = node.args[1] if len(node.args) > 1 else ast.Constant(None)
        try:  # constants and arithmetic on them only: no names, no calls
            value = eval(ast.unparse(default), {"__builtins__": {}})  # noqa: S307
        except NameError:
            value = NO_DEFAULT
        settings[name] = value
    return settings


def example_entries() -> list[tuple[int, bool, str, str]]:
    """(line number, commented out, name, value) of each assignment in the example file."""
    entries = []
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        match = ASSIGNMENT.match(line)
        if match:
            commented, name, value = match.groups()
            entries.append((number, commented == "#", name, value))
    return entries


def test_every_setting_is_in_the_example_once_and_no_other():
    known = set(config_settings()) | set(READ_ELSEWHERE)
    names = [name for _, _, name, _ in example_entries()]
    missing = sorted(known - set(names))
    unknown = sorted(set(names) - known)
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not missing, f"add to deploy/mailer.env.example (meaning, default): {missing}"
    assert not unknown, f"deploy/mailer.env.example names settings Mailer does not read: {unknown}"
    assert not twice, f"deploy/mailer.env.example lists these more than once: {twice}"


def test_settings_read_elsewhere_are_still_read_there():
    for name, path in READ_ELSEWHERE.items():
        assert f'"{name}"' in (ROOT / path).read_text(), f"{name} is no longer read in {path}"


def test_each_setting_has_a_meaning_and_its_default():
    lines = EXAMPLE.read_text().splitlines()
    for number, _, name, _ in example_entries():
        comment = []
        for line in reversed(lines[: number - 1]):
            if not line.startswith("# ") or ASSIGNMENT.match(line):
                break
            comment.append(line)
        assert comment, f"{name}: no comment right above it saying what it means"
        assert "Default:" in " ".join(comment), f"{name}: its comment does not give the default"


def test_commented_out_values_are_the_defaults():
    """A commented line shows the default: uncommenting it changes nothing."""
    defaults = config_settings()
    for _, commented, name, value in example_entries():
        default = defaults.get(name, NO_DEFAULT)
        if not commented or default is NO_DEFAULT:
            continue
        expected = "" if default is None else str(default)
        assert value == expected, f"#{name}={value}: the default is {expected!r}"


def test_nginx_accepts_uploads_as_large_as_mailer():
    """client_max_body_size equals MAILER_MAX_UPLOAD_BYTES' default: a smaller one refuses
    files Mailer takes (a bare 413 from nginx), a larger one spools bodies Mailer refuses."""
    site = (ROOT / "deploy" / "nginx" / "mailer.conf").read_text()
    size, unit = re.search(r"^\s*client_max_body_size\s+(\d+)([kmg]?);", site, re.M | re.I).groups()
    nginx_bytes = int(size) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]
    assert nginx_bytes == config_settings()["MAILER_MAX_UPLOAD_BYTES"]
