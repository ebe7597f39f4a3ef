"""Secret and encryption keys: from the environment, else (SQLite only) generated once into
instance/. A shared database means several hosts, which must all use the same keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from mailer.private_files import private_dir

ENVIRONMENT_NAMES = {"SECRET_KEY": "SECRET_KEY", "ENCRYPTION_KEY": "MAILER_ENCRYPTION_KEY"}
GENERATE = {
    "SECRET_KEY": "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
    "ENCRYPTION_KEY": (
        "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    ),
}
FINGERPRINT_LABEL = b"mailer key fingerprint v1"


class MissingKeys(RuntimeError):
    """Mailer on a shared database was started without the keys every host must share."""


def load_or_create(instance_path: str) -> dict[str, str]:
    """Return {"SECRET_KEY", "ENCRYPTION_KEY"} stored in instance/secrets.json (mode 0600)."""
    path = Path(instance_path) / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    private_dir(path.parent)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def shared_database(database_url: str) -> bool:
    """Anything but SQLite is a server other hosts may use too."""
    return make_url(database_url).get_backend_name() != "sqlite"


def refuse_missing(config: dict, instance_path: str) -> None:
    """Raise MissingKeys, saying what to set and how, when a key is missing on a shared
    database: a key generated here would differ from every other host's."""
    missing = [name for name in ENVIRONMENT_NAMES if not config.get(name)]
    if not missing or not shared_database(config["SQLALCHEMY_DATABASE_URI"]):
        return
    lines = [
        "Mailer uses a shared database (DATABASE_URL is not SQLite), so every host (web, "
        "workers, scheduler) must use the same keys, given in the environment. Missing: "
        + ", ".join(ENVIRONMENT_NAMES[name] for name in missing)
        + "."
    ]
    stored = Path(instance_path) / "secrets.json"
    if stored.exists():
        lines.append(
            f"This host generated its keys earlier into {stored}: set those values on every "
            "host (new keys would break links in mail already sent and stored provider secrets)."
        )
    else:
        lines.append(
            "Generate each value once (with Mailer's virtualenv active) and set it on every host:"
        )
        lines += [f"  {ENVIRONMENT_NAMES[name]}: {GENERATE[name]}" for name in missing]
    raise MissingKeys("\n".join(lines))


def fingerprint(secret_key: str, encryption_key: str) -> str:
    """A value that tells two hosts' keys apart and reveals nothing about them: an HMAC of a
    fixed label keyed with each key, shortened. "s<hex>:e<hex>", one part per key."""
    keys = ",".join(k.strip() for k in encryption_key.split(",") if k.strip())  # as crypto reads it
    parts = []
    for prefix, key in (("s", secret_key), ("e", keys)):
        digest = hmac.new(key.encode(), FINGERPRINT_LABEL, hashlib.sha256).hexdigest()
        parts.append(prefix + digest[:24])
    return ":".join(parts)


def differing_keys(mine: str, stored: str) -> list[str]:
    """The environment names of the keys whose fingerprints differ."""
    names = list(ENVIRONMENT_NAMES.values())
    pairs = zip(mine.split(":"), stored.split(":"), strict=False)
    found = [names[i] for i, (a, b) in enumerate(pairs) if a != b]
    return found or names
