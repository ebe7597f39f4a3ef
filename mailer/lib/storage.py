"""Where uploaded files live: a folder (default: the instance folder), or an S3 bucket.

MAILER_STORAGE picks it: empty for the instance folder, a directory path (a mount every host
shares), or ``s3://bucket/prefix`` so web and worker hosts need no shared disk. Files are named
by keys such as ``imports/<uuid>-contacts.csv`` and always streamed: nothing is read or written
whole in memory, whatever its size.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app

from mailer.private_files import open_private, private_dir

CHUNK = 1 << 20


class Storage(Protocol):
    def save(self, key: str, stream: BinaryIO) -> int:
        """Copy ``stream`` into ``key``; returns the size written."""

    def open(self, key: str) -> IO[bytes]:
        """The file, for reading from its start (FileNotFoundError when absent)."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def location(self, key: str) -> str:
        """Where ``key`` is, for a person: a path or an s3:// address."""

    def delete(self, key: str) -> None:
        """Remove ``key``; absent already is fine."""

    def writer(self, key: str, text: bool = False) -> AbstractContextManager[IO]:
        """A file to write ``key`` through (text: UTF-8, for the csv module); stored when the
        block ends without an error."""


class DirectoryStorage:
    """Keys are paths under ``root``; files 0600, folders 0700 (mailer.private_files)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key outside the storage folder: {key!r}")
        return path

    def save(self, key: str, stream: BinaryIO) -> int:
        with self.writer(key) as out:
            shutil.copyfileobj(stream, out, CHUNK)
            return out.tell()

    def open(self, key: str) -> IO[bytes]:
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def location(self, key: str) -> str:
        return str(self.path(key))

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    @contextmanager
    def writer(self, key: str, text: bool = False) -> Iterator[IO]:
        path = self.path(key)
        private_dir(path.parent)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
        options = {"mode": "w", "newline": "", "encoding": "utf-8"} if text else {"mode": "wb"}
        try:
            with open_private(partial, **options) as out:
                yield out
            os.replace(partial, path)  # readers see the whole file or none
        finally:
            partial.unlink(missing_ok=True)


class S3Storage:
    """Keys are objects under ``s3://bucket/prefix``. Uploads go through boto3's managed
    transfer (multipart, a few MiB in memory at a time); reads stream the object's body."""

    def __init__(self, bucket: str, prefix: str, client) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client

    def object_key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key outside the bucket prefix: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, stream: BinaryIO) -> int:
        counted = _Counting(stream)
        self.client.upload_fileobj(counted, self.bucket, self.object_key(key))
        return counted.size

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"]
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))[
            "ContentLength"
        ]

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    @contextmanager
    def writer(self, key: str, text: bool = False) -> Iterator[IO]:
        """Spooled to a private temporary file, uploaded when the block ends."""
        with tempfile.TemporaryFile() as spool:
            if text:
                with open(spool.fileno(), "w", newline="", encoding="utf-8", closefd=False) as out:
                    yield out
            else:
                yield spool
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self.object_key(key))


class _Counting:
    """A read-only stream that counts the bytes read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.size = stream, 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.size += len(data)
        return data


def build(app: Flask, setting: str | None = None) -> Storage:
    """The storage ``setting`` names, MAILER_STORAGE by default (see the module docstring)."""
    setting = app.config["MAILER_STORAGE"] if setting is None else setting
    if not setting:
        return DirectoryStorage(app.instance_path)
    if setting.startswith("s3://"):
        parts = urlsplit(setting)
        return S3Storage(parts.netloc, parts.path, s3_client(app.config))
    return DirectoryStorage(setting)


def s3_client(config: Mapping[str, Any], **options: Any):
    """A boto3 S3 client for MAILER_S3_REGION and MAILER_S3_ENDPOINT_URL (credentials from
    boto3's usual chain); ``options`` go to botocore's Config (timeouts, retries)."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        region_name=config["MAILER_S3_REGION"] or None,
        endpoint_url=config["MAILER_S3_ENDPOINT_URL"] or None,
        config=BotoConfig(**options) if options else None,
    )


def storage() -> Storage:
    """The app's storage, built once per app."""
    found = current_app.extensions.get("mailer_storage")
    if found is None:
        found = current_app.extensions["mailer_storage"] = build(current_app)
    return found


def asset_storage() -> Storage:
    """Where hosted images live (issue 18): MAILER_ASSET_STORAGE, or when empty the same place
    as every other upload. Keys are ``assets/<hash>.<ext>``."""
    found = current_app.extensions.get("mailer_asset_storage")
    if found is None:
        setting = current_app.config["MAILER_ASSET_STORAGE"]
        found = build(current_app, setting) if setting else storage()
        current_app.extensions["mailer_asset_storage"] = found
    return found
