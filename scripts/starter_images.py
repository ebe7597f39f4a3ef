"""Draw the placeholder images of the starter emails into mailer/static/starters/.

Run once when they change: `.venv/bin/python scripts/starter_images.py`. Flat shapes in a few
colours, twice the size they are shown at (sharp on high-density screens), saved as palette
PNGs so each stays a few kilobytes. No text: an email's words belong in its HTML.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "mailer" / "static" / "starters"


def canvas(size: tuple[int, int], background: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", size, background)
    return image, ImageDraw.Draw(image)


def save(image: Image.Image, name: str) -> None:
    image = image.quantize(colors=16, dither=Image.Dither.NONE)
    image.save(OUT / name, optimize=True)


def hero(name: str, background: str, shapes: list[tuple[str, tuple[int, ...], str]]) -> None:
    image, draw = canvas((1200, 560), background)
    for kind, box, colour in shapes:
        if kind == "circle":
            draw.ellipse(box, fill=colour)
        else:
            draw.rounded_rectangle(box, radius=36, fill=colour)
    save(image, name)


def logo() -> None:
    image, draw = canvas((96, 96), "#ffffff")
    draw.rounded_rectangle((4, 4, 92, 92), radius=22, fill="#1f3a5f")
    draw.ellipse((26, 26, 70, 70), fill="#f2b84b")
    save(image, "logo.png")


def product() -> None:
    image, draw = canvas((1200, 720), "#eef1f5")
    draw.ellipse((300, 560, 900, 660), fill="#d9dee6")  # shadow
    draw.rounded_rectangle((390, 120, 810, 600), radius=48, fill="#1f2937")
    draw.rounded_rectangle((414, 150, 786, 540), radius=28, fill="#60a5fa")
    draw.ellipse((560, 300, 640, 380), fill="#dbeafe")
    draw.ellipse((580, 556, 620, 584), fill="#374151")
    save(image, "product.png")


def thumbnail(name: str, background: str, accent: str, detail: str) -> None:
    image, draw = canvas((560, 320), background)
    draw.ellipse((-80, 150, 260, 490), fill=accent)
    draw.rounded_rectangle((300, 60, 500, 260), radius=28, fill=detail)
    draw.ellipse((360, 120, 440, 200), fill=background)
    save(image, name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    logo()
    hero(
        "hero-newsletter.png",
        "#dbe7f3",
        [
            ("circle", (-120, 260, 420, 800), "#b9d0e8"),
            ("circle", (820, -180, 1320, 320), "#1f3a5f"),
            ("rect", (420, 150, 780, 410), "#ffffff"),
            ("circle", (540, 220, 660, 340), "#f2b84b"),
        ],
    )
    hero(
        "hero-sale.png",
        "#fde2d5",
        [
            ("circle", (780, 120, 1260, 600), "#f97362"),
            ("circle", (-160, -200, 360, 320), "#fbbfa6"),
            ("rect", (240, 300, 600, 460), "#ffffff"),
            ("circle", (900, 40, 1020, 160), "#ffd166"),
        ],
    )
    hero(
        "hero-welcome.png",
        "#d9f2ec",
        [
            ("circle", (100, 140, 500, 540), "#2a9d8f"),
            ("circle", (700, -100, 1100, 300), "#8fd3c5"),
            ("rect", (620, 320, 1020, 480), "#ffffff"),
        ],
    )
    hero(
        "hero-event.png",
        "#e7e3f7",
        [
            ("rect", (420, 80, 780, 480), "#ffffff"),
            ("rect", (420, 80, 780, 170), "#5b4bb7"),
            ("circle", (-100, 300, 300, 700), "#b7ace6"),
            ("circle", (900, -60, 1260, 300), "#f2b84b"),
        ],
    )
    product()
    thumbnail("article-1.png", "#e0ecf8", "#1f3a5f", "#f2b84b")
    thumbnail("article-2.png", "#fbe7dc", "#f97362", "#2a9d8f")
    thumbnail("article-3.png", "#e6f4ea", "#2a9d8f", "#5b4bb7")


if __name__ == "__main__":
    main()
