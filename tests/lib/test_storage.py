"""Uploaded files in a folder or an S3 bucket (moto's S3 server): streamed both ways, and an
import through the UI that leaves nothing on the web host's disk."""

from __future__ import annotations

import io
import os
import uuid

import boto3
import pytest

from mailer.engine.imports import importer
from mailer.extensions import db as _db
from mailer.lib.errors import ValidationError
from mailer.lib.storage import DirectoryStorage, S3Storage, build
from mailer.models import Import
from mailer.queue import IMPORTS
from mailer.services import lists
from tests.fixtures.app import work
from tests.fixtures.imports import accept_mapping

REGION = "eu-west-1"


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(aws_endpoint, aws_credentials):
    client = boto3.client("s3", region_name=REGION, endpoint_url=aws_endpoint)
    name = f"mailer-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client, name
    client.close()


def objects(client, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path):
    if request.param == "folder":
        return DirectoryStorage(tmp_path / "shared")
    client, name = request.getfixturevalue("bucket")
    return S3Storage(name, "/mailer/", client)


def test_a_big_file_is_stored_read_back_and_deleted(store):
    content = os.urandom(3 * 1024 * 1024 + 17)  # more than one multipart chunk's worth
    assert store.save("imports/big.bin", io.BytesIO(content)) == len(content)
    assert store.exists("imports/big.bin") and store.size("imports/big.bin") == len(content)
    with store.open("imports/big.bin") as fh:
        assert fh.read(10) == content[:10]
        assert fh.read() == content[10:]
    store.delete("imports/big.bin")
    assert not store.exists("imports/big.bin")
    store.delete("imports/big.bin")  # absent already: fine
    with pytest.raises(FileNotFoundError):
        store.open("imports/big.bin")


def test_a_text_writer_stores_utf8_only_when_its_block_succeeds(store):
    with store.writer("imports/report.csv", text=True) as out:
        out.write("position,reason\r\n1,adresse invalide é\r\n")
    with store.open("imports/report.csv") as fh:
        assert fh.read().decode("utf-8") == "position,reason\r\n1,adresse invalide é\r\n"
    with pytest.raises(RuntimeError), store.writer("imports/broken.csv", text=True) as out:
        out.write("half")
        raise RuntimeError("the import failed")
    assert not store.exists("imports/broken.csv")


def test_keys_cannot_leave_the_folder_or_prefix(store):
    with pytest.raises(ValueError):
        store.save("../outside.csv", io.BytesIO(b"x"))


def test_the_setting_picks_the_storage(app, tmp_path, aws_endpoint, aws_credentials):
    app.config["MAILER_STORAGE"] = ""
    assert build(app).root == DirectoryStorage(app.instance_path).root
    app.config["MAILER_STORAGE"] = str(tmp_path / "mnt")
    assert build(app).root == (tmp_path / "mnt").resolve()
    app.config.update(
        MAILER_STORAGE="s3://bucket-a/some/prefix", MAILER_S3_ENDPOINT_URL=aws_endpoint
    )
    s3 = build(app)
    assert (s3.bucket, s3.prefix) == ("bucket-a", "some/prefix")
    assert s3.location("imports/x.csv") == "s3://bucket-a/some/prefix/imports/x.csv"


def test_an_import_through_the_ui_keeps_its_files_in_the_bucket(
    app, client, db, as_role, bucket, aws_endpoint
):
    s3, name = bucket
    app.config.update(MAILER_STORAGE=f"s3://{name}/prod", MAILER_S3_ENDPOINT_URL=aws_endpoint)
    app.extensions.pop("mailer_storage", None)
    as_role("marketer")
    people = lists.create_list("People")
    csv = b"email,first_name\nann@example.com,Ann\nnot-an-address,Bob\ncat@example.com,Cat\n"
    answer = client.post(
        f"/lists/{people.id}/imports", data={"file": (io.BytesIO(csv), "people.csv")}
    )
    assert answer.status_code == 302
    record = _db.session.scalars(_db.select(Import).order_by(Import.id.desc())).first()
    assert objects(s3, name) == [f"prod/{record.path}"], "the upload is in the bucket"
    # The mapping step previews the file from the bucket.
    assert "ann@example.com" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert accept_mapping(client, record.id).status_code == 302

    work(app, IMPORTS)
    db.session.refresh(record)
    assert (record.status, record.inserted, record.rejected) == ("completed", 2, 1)
    assert objects(s3, name) == [f"prod/imports/import-{record.id}-rejected.csv"]
    report = client.get(f"/lists/{people.id}/imports/{record.id}/rejected.csv")
    assert report.status_code == 200 and b"not-an-address" in report.data
    assert not os.path.exists(os.path.join(app.instance_path, "imports"))


def test_a_refused_file_leaves_nothing_in_the_bucket(app, db, bucket, aws_endpoint):
    s3, name = bucket
    app.config.update(MAILER_STORAGE=f"s3://{name}", MAILER_S3_ENDPOINT_URL=aws_endpoint)
    app.extensions.pop("mailer_storage", None)
    people = lists.create_list("People")
    with pytest.raises(ValidationError) as refused:
        importer.import_upload(io.BytesIO(b"\x00\x01binary"), "x.csv", list_id=people.id)
    assert "file" in refused.value.errors
    assert objects(s3, name) == []


def test_images_go_where_mailer_asset_storage_says_else_with_the_uploads(app, tmp_path):
    """Issue 18: hosted images may live apart from uploaded contact files."""
    from mailer.lib.storage import asset_storage, storage

    assert asset_storage() is storage()  # empty: the same place
    app.extensions.pop("mailer_asset_storage")
    app.config["MAILER_ASSET_STORAGE"] = str(tmp_path / "public")
    images = asset_storage()
    assert isinstance(images, DirectoryStorage) and images.root == tmp_path / "public"
    images.save("assets/x.png", io.BytesIO(b"png"))
    assert (tmp_path / "public" / "assets" / "x.png").read_bytes() == b"png"
    assert not storage().exists("assets/x.png")
