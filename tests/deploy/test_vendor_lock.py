"""The vendored editor scripts are exactly what scripts/vendor-js.sh fetched and locked: an
edited, missing or unlisted file under mailer/static/vendor/ fails here (no network needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VENDOR = ROOT / "mailer" / "static" / "vendor"


def locked() -> dict[str, tuple[str, str]]:
    entries = {}
    for line in (VENDOR / "vendor.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, path, source = line.split(" ", 2)
            entries[path] = (digest, source)
    return entries


def test_every_vendored_file_matches_its_locked_checksum():
    changed = [
        path
        for path, (digest, _source) in locked().items()
        if not (VENDOR / path).is_file()
        or hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() != digest
    ]
    assert changed == [], "run scripts/vendor-js.sh to refresh the vendored files"


def test_every_vendored_file_is_locked_with_an_exact_version():
    on_disk = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "vendor.lock"
    }
    entries = locked()
    assert on_disk == set(entries)
    for path, (_digest, source) in entries.items():
        folder_version = path.split("/")[0].rsplit("-", 1)[1]
        assert f"@{folder_version}" in source, path  # the folder names the locked version
