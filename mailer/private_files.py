"""Files Mailer writes are private to the user it runs as: 0600 files, 0700 folders.

Every Mailer process sets a umask of 077 when it starts (the app factory, which web, worker,
scheduler and `flask` commands all go through, and `make run`'s supervisor), so what it or a
library creates (the SQLite database, uploads, reports, the embedded Redis's data) is readable
by that user only. Folders Mailer owns are narrowed to 0700 when found wider (an install made
before this rule), and uploads are created 0600 whatever the umask.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import IO, Any

UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700

log = logging.getLogger(__name__)


def restrict_process() -> None:
    """Files and folders this process (and its children) creates: for its user only."""
    os.umask(UMASK)


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed, and make it 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & ~DIR_MODE:
        try:
            path.chmod(DIR_MODE)
        except OSError as exc:  # not ours (e.g. a mount point): say so, run anyway
            log.warning("cannot make %s private (mode 0700): %s", path, exc)
    return path


def open_private(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing (created or truncated) as a 0600 file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_TRUNC
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise
