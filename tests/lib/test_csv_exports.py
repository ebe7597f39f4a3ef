"""Every CSV Mailer writes neutralises cells a spreadsheet would run as formulas.

Each export is downloaded the way a user gets it (the pages, the API) and read back with the
csv module, as a spreadsheet would see it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from mailer.engine.imports import importer
from mailer.lib import csvfiles
from mailer.models import Campaign, CampaignChannel, Channel, Identity, Send
from mailer.services import api_keys, lists

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def read(response) -> list[list[str]]:
    assert response.status_code == 200, response.status
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    response.close()
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_no_formulas(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS_START), (cell, row)


def test_safe_cell_quotes_text_formulas_and_keeps_numbers():
    for text in FORMULAS:
        assert csvfiles.safe_cell(text) == "'" + text
    assert csvfiles.safe_cell("-5") == "'-5"  # text: it may be "-5+cmd|…" cut short
    assert csvfiles.safe_cell(-5) == -5  # numbers Mailer writes itself stay numbers
    assert csvfiles.safe_cell(2.5) == 2.5
    assert csvfiles.safe_cell(None) is None
    assert csvfiles.safe_cell("ann@example.com") == "ann@example.com"
    assert csvfiles.safe_cell("a=b") == "a=b"


@pytest.fixture
def rejected_import(tmp_path, db):
    """A CSV import whose invalid addresses are formulas: each lands in the rejected rows."""
    mailing_list = lists.create_list("People")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name"])
    writer.writerow(["ok@example.com", "Ok"])
    for text in FORMULAS:
        writer.writerow([text, "x"])
    path = tmp_path / "people.csv"
    path.write_text(buffer.getvalue())
    record = importer.create_import(path, list_id=mailing_list.id, filename="people.csv")
    record = importer.run_import(record.id)
    assert (record.status, record.inserted, record.rejected) == ("completed", 1, len(FORMULAS))
    return record


def test_the_rejected_rows_report_neutralises_formulas_on_the_page(
    client, as_role, rejected_import
):
    as_role("viewer")
    rows = read(
        client.get(f"/lists/{rejected_import.list_id}/imports/{rejected_import.id}/rejected.csv")
    )
    assert rows[0] == ["position", "reason", "raw"]
    assert_no_formulas(rows)
    raws = [row[2] for row in rows[1:]]
    assert raws[0] == "'" + FORMULAS[0]
    assert "'-2+3" in raws and "'@SUM(1+1)*cmd|' /C calc'!A0" in raws


def test_the_rejected_rows_report_neutralises_formulas_in_the_api(client, rejected_import):
    key = api_keys.create("Reports", ["read"], None).plaintext
    response = client.get(
        f"/api/v1/imports/{rejected_import.id}/rejected.csv",
        headers={"Authorization": f"Bearer {key}"},
    )
    rows = read(response)
    assert_no_formulas(rows)
    assert [row[2] for row in rows[1:]][0] == "'" + FORMULAS[0]


def test_the_activity_export_neutralises_formulas(client, db, as_role):
    campaign = Campaign(name="Spring", subject="Hi", html="<p>Hi</p>", status="sent")
    channel = Channel(name="@SUM(1)", provider="sandbox", settings={}, rate_per_second=10)
    identity = Identity(name="News", from_email="news@example.com")
    db.session.add_all([campaign, channel, identity])
    db.session.commit()
    row = CampaignChannel(campaign_id=campaign.id, channel_id=channel.id, identity_id=identity.id)
    db.session.add(row)
    db.session.commit()
    for n, text in enumerate(FORMULAS):
        db.session.add(
            Send(
                campaign_id=campaign.id,
                subscriber_id=n + 1,
                campaign_channel_id=row.id,
                email=f"{text[:40]}@example.com" if n % 2 else "plain@example.com",
                status="failed",
                error=text,
            )
        )
    db.session.commit()
    as_role("viewer")
    rows = read(client.get(f"/reports/campaigns/{campaign.id}/activity.csv"))
    assert_no_formulas(rows)
    header, data = rows[0], rows[1:]
    errors = [r[header.index("error")] for r in data]
    assert errors == ["'" + text for text in FORMULAS]
    assert {r[header.index("channel")] for r in data} == {"'@SUM(1) · news@example.com"}
    assert {r[header.index("opens")] for r in data} == {"0"}  # counts stay numbers


def test_every_csv_writer_in_mailer_goes_through_the_safe_writer():
    """A new export cannot forget it: csv.writer/DictWriter appear only in csvfiles.py."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for folder in ("mailer", "jobs"):
        for source in (root / folder).rglob("*.py"):
            if source.name == "csvfiles.py":
                continue
            if re.search(r"csv\.(writer|DictWriter)\b|from csv import", source.read_text()):
                found.append(str(source.relative_to(root)))
    assert found == []
