"""The image library: what an upload becomes (re-encoded, without metadata), what is refused
and why, one asset per image, and images kept in an S3 bucket (moto's S3 server)."""

from __future__ import annotations

import io
import uuid

import boto3
import pytest
from PIL import Image, ImageSequence, PngImagePlugin

from mailer.lib.errors import ValidationError
from mailer.lib.storage import asset_storage
from mailer.models import Asset, Role
from mailer.services import assets
from tests.factories import draft, image_bytes, make_asset, make_user
from tests.fixtures.app import login_as

SECRET = "Jane's house, 12 rue des Lilas"


def stored(asset: Asset) -> bytes:
    with asset_storage().open(assets.storage_key(asset)) as fh:
        return fh.read()


def exif_with_secret() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = SECRET  # ImageDescription
    return exif


@pytest.mark.parametrize(
    ("fmt", "options", "ext"),
    [
        ("PNG", {"pnginfo": PngImagePlugin.PngInfo()}, "png"),
        ("JPEG", {"exif": exif_with_secret()}, "jpg"),
        ("GIF", {"comment": SECRET.encode()}, "gif"),
        ("WEBP", {"exif": exif_with_secret()}, "webp"),
    ],
)
def test_each_format_is_accepted_and_stored_without_its_metadata(app, fmt, options, ext):
    if fmt == "PNG":
        options["pnginfo"].add_text("Comment", SECRET)
    upload = image_bytes(fmt, (64, 48), **options)
    assert SECRET.encode() in upload
    asset = assets.add_image(io.BytesIO(upload), f"holiday.{ext}")
    data = stored(asset)
    assert SECRET.encode() not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt and image.size == (64, 48)
    assert "exif" not in image.info and "comment" not in image.info
    assert (asset.ext, asset.width, asset.height, asset.size) == (ext, 64, 48, len(data))
    assert asset.content_type == f"image/{'jpeg' if ext == 'jpg' else ext}"


def test_a_photo_keeps_its_orientation_once_its_exif_is_gone(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    asset = assets.add_image(io.BytesIO(image_bytes("JPEG", (40, 20), exif=exif)), "p.jpg")
    assert (asset.width, asset.height) == (20, 40)
    assert Image.open(io.BytesIO(stored(asset))).size == (20, 40)


def durations(image: Image.Image) -> list[int]:
    found = []
    for frame in ImageSequence.Iterator(image):
        frame.load()  # WebP reads a frame's duration when decoding it
        found.append(frame.info["duration"])
    return found


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animations_keep_their_frames_and_timing(app, fmt):
    frames = [Image.new("RGB", (12, 12), c) for c in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=[100, 200, 300])
    asset = assets.add_image(io.BytesIO(out.getvalue()), "spinner")
    image = Image.open(io.BytesIO(stored(asset)))
    assert image.n_frames == 3
    assert durations(image) == [100, 200, 300]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"Dear all,\nthe minutes of Monday.\n", "minutes.png", "not a PNG, JPEG, GIF or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png", "not a PNG, JPEG, GIF or WebP"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "logo.svg", "SVG images"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg/>', "logo.png", "SVG images"),
        (image_bytes("BMP"), "old.bmp", "not a PNG, JPEG, GIF or WebP"),
        (image_bytes("TIFF"), "scan.png", "not a PNG, JPEG, GIF or WebP"),
        (b"", "empty.png", "This file is empty."),
    ],
)
def test_what_is_not_an_accepted_image_is_refused_in_plain_words(app, content, name, message):
    with pytest.raises(ValidationError) as refused:
        assets.add_image(io.BytesIO(content), name)
    assert message in refused.value.errors["file"]
    assert Asset.query.count() == 0


def test_svg_is_refused_saying_why(app):
    with pytest.raises(ValidationError) as refused:
        assets.add_image(io.BytesIO(b"<svg onload='alert(1)'/>"), "x.svg")
    assert refused.value.errors == {
        "file": "SVG images are not accepted: they can carry scripts. Use PNG, JPEG, GIF or WebP."
    }


class Endless(io.RawIOBase):
    """A stream that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.read_so_far = 0

    def read(self, n: int = -1) -> bytes:
        n = 65536 if n is None or n < 0 else n
        self.read_so_far += n
        return b"\0" * n


def test_a_file_past_the_size_cap_is_refused_without_reading_it_all(app):
    app.config["MAILER_ASSET_MAX_BYTES"] = 1_500_000
    stream = Endless()
    with pytest.raises(ValidationError) as refused:
        assets.add_image(stream, "huge.png")
    assert refused.value.errors["file"] == "This file is too big: images may be at most 1.5 MB."
    assert stream.read_so_far < 1_700_000


def test_a_small_file_of_too_many_pixels_is_refused_before_decoding(app):
    bomb = image_bytes("PNG", (6000, 5000), color="white")  # 30 million pixels, a few KB
    assert len(bomb) < 100_000
    with pytest.raises(ValidationError) as refused:
        assets.add_image(io.BytesIO(bomb), "bomb.png")
    assert refused.value.errors["file"] == (
        "This image is too large: 6000 × 5000 pixels. Images may have at most 25 million pixels."
    )


def test_the_same_image_twice_is_one_asset(app):
    user = make_user(Role.MARKETER)
    first = assets.add_image(io.BytesIO(image_bytes("PNG")), "logo.png", user)
    again = assets.add_image(io.BytesIO(image_bytes("PNG")), "logo-copy.png")
    assert again.id == first.id and again.name == "logo.png"
    assert Asset.query.count() == 1 and first.created_by_id == user.id
    other = assets.add_image(io.BytesIO(image_bytes("PNG", color="blue")), "blue.png")
    assert other.hash != first.hash


def test_the_public_address_is_absolute_and_names_the_content(app, db):
    asset = make_asset(db)
    assert assets.public_url(asset) == f"http://mailer.test/assets/{asset.hash}.png"
    assert len(asset.hash) == 64


def test_names_lose_folders_and_control_characters(app):
    asset = assets.add_image(io.BytesIO(image_bytes("PNG")), "C:\\Users\\jo\\logo\x07.png")
    assert asset.name == "logo.png"


def test_the_library_pages_newest_first(app, db):
    made = [make_asset(db, name=f"{i}.png", color=(i, 0, 0)) for i in range(5)]
    page, before = assets.list_assets(limit=2)
    assert [a.name for a in page] == ["4.png", "3.png"]
    page, before = assets.list_assets(before=before, limit=2)
    assert [a.name for a in page] == ["2.png", "1.png"]
    page, before = assets.list_assets(before=before, limit=2)
    assert [a.name for a in page] == ["0.png"] and before is None
    assert len(made) == 5


def test_a_draft_campaign_using_an_image_keeps_it_a_sent_one_does_not(app, db):
    asset = make_asset(db)
    campaign = draft(db, name="Spring", html=f'<img src="{assets.public_url(asset)}"> {{{{ x }}}}')
    with pytest.raises(ValidationError) as refused:
        assets.delete_asset(asset)
    assert "used by “Spring”" in str(refused.value)
    campaign.status = "completed"
    db.session.commit()
    assets.delete_asset(asset)
    assert db.session.get(Asset, asset.id) is None
    assert not asset_storage().exists(assets.storage_key(asset))


def test_the_alt_text_is_kept_tidy_and_bounded(app, db):
    asset = make_asset(db)
    assets.set_alt(asset, "  Our   logo \n")
    assert asset.alt == "Our logo"
    with pytest.raises(ValidationError) as refused:
        assets.set_alt(asset, "x" * 256)
    assert "alt" in refused.value.errors


# ------------------------------------------------------------------ S3

REGION = "eu-west-1"


@pytest.fixture
def asset_bucket(app, aws_endpoint, monkeypatch):
    """Images go to a bucket of moto's S3 server; imports stay in the instance folder."""
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", region_name=REGION, endpoint_url=aws_endpoint)
    name = f"mailer-assets-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    app.config.update(
        MAILER_ASSET_STORAGE=f"s3://{name}/public",
        MAILER_S3_ENDPOINT_URL=aws_endpoint,
        MAILER_S3_REGION=REGION,
    )
    yield client, name
    client.close()


def test_images_in_an_s3_bucket_are_stored_served_and_deleted(app, client, asset_bucket, tmp_path):
    s3, bucket = asset_bucket
    login_as(client, make_user(Role.MARKETER))
    upload = image_bytes("PNG", (50, 40))
    response = client.post(
        "/images/upload.json",
        data={"files": [(io.BytesIO(upload), "logo.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    asset = Asset.query.one()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"public/assets/{asset.hash}.png"]
    assert not (tmp_path / "instance" / "assets").exists()
    served = client.get(f"/assets/{asset.hash}.png")
    assert served.status_code == 200 and served.data == stored(asset)
    assert Image.open(io.BytesIO(served.data)).size == (50, 40)
    assert client.post(f"/images/{asset.id}/delete").status_code == 303
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
