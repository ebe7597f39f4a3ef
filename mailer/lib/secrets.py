"""Secret and encryption keys: from the environment, else generated once into instance/."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from mailer.private_files import private_dir


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
