"""Every value an import writes comes back exactly as it was in the file (SQLite or MariaDB).

The bulk insert renders rows as SQL literals on MySQL (dbutil.BulkInsert), so text that could
end or alter a literal (quotes, backslashes, NUL, "%") is the case that matters.
"""

from __future__ import annotations

import json

import pytest

from mailer.engine.imports import importer
from mailer.lib import dbutil
from mailer.models import Subscriber
from mailer.services import lists

AWKWARD = [
    "O'Brien",
    "''",
    "back\\slash",
    "\\'",
    "ends with \\",
    "tab\there and\nnew line\r\n",
    "nul \x00 inside",
    "%s %(name)s %% %d",
    "Zoë 李 Ólafur 🎉",
    'double "quotes" and `ticks`',
    "--; DROP TABLE subscribers; --",
    "\x1a control-Z",
]


@pytest.fixture
def mailing_list(db):
    return lists.create_list("Values")


def run(tmp_path, data, list_id, **kw):
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    record = importer.create_import(path, list_id=list_id, filename=path.name, **kw)
    return importer.run_import(record.id)


def stored(db, list_id) -> dict[str, Subscriber]:
    db.session.expire_all()
    rows = db.session.scalars(db.select(Subscriber).filter_by(list_id=list_id)).all()
    return {s.email: s for s in rows}


def test_names_and_attributes_with_quotes_backslashes_and_nul_round_trip(
    tmp_path, db, mailing_list
):
    data = [
        {
            "email": f"v{i}@example.com",
            "first_name": text,
            "last_name": text[::-1],
            "name": text * 2,
            "note": text,
            "nested": {"list": [text, 1.5, -0.0, 2**53, None, True], "k'\\": text},
        }
        for i, text in enumerate(AWKWARD)
    ]
    # The reader strips names, as a user expects; attributes are kept as they are.
    record = run(tmp_path, data, mailing_list.id)
    assert record.status == "completed", record.error
    assert record.inserted == len(AWKWARD)
    rows = stored(db, mailing_list.id)
    for i, text in enumerate(AWKWARD):
        sub = rows[f"v{i}@example.com"]
        assert sub.first_name == text.strip()
        assert sub.last_name == text[::-1].strip()
        assert sub.name == (text * 2).strip()
        assert sub.attributes == {
            "note": text,
            "nested": {"list": [text, 1.5, -0.0, 2**53, None, True], "k'\\": text},
        }


def test_an_apostrophe_in_the_address_is_stored_and_found_again(tmp_path, db, mailing_list):
    data = [{"email": "o'brien@example.com", "first_name": "A"}]
    assert run(tmp_path, data, mailing_list.id).inserted == 1
    data = [{"email": "O'Brien@Example.com", "first_name": "B"}]
    record = run(tmp_path, data, mailing_list.id)
    assert (record.inserted, record.updated) == (0, 1)
    assert stored(db, mailing_list.id)["o'brien@example.com"].first_name == "B"


def test_names_longer_than_their_columns_are_cut(tmp_path, db, mailing_list):
    data = [{"email": "long@example.com", "first_name": "F" * 150, "name": "N" * 250}]
    run(tmp_path, data, mailing_list.id)
    sub = stored(db, mailing_list.id)["long@example.com"]
    assert sub.first_name == "F" * 100 and sub.name == "N" * 200


def test_a_batch_larger_than_one_statement_is_written_whole(
    tmp_path, db, mailing_list, monkeypatch
):
    # ~100-character rows and a 1,000-character cap: each batch takes several statements.
    monkeypatch.setattr(dbutil.BulkInsert, "STATEMENT_CHARS", 1000)
    monkeypatch.setattr(importer, "BATCH_SIZE", 70)
    data = [{"email": f"s{i}@example.com", "n": i, "t": "x'\\" * (i % 5)} for i in range(300)]
    data += [{"email": "s7@example.com", "n": "last"}]
    record = run(tmp_path, data, mailing_list.id)
    assert (record.inserted, record.duplicates) == (300, 1)
    rows = stored(db, mailing_list.id)
    assert len(rows) == 300
    assert rows["s7@example.com"].attributes == {"n": "last", "t": "x'\\" * 2}
    assert rows["s299@example.com"].attributes == {"n": 299, "t": "x'\\" * 4}


def test_skip_mode_still_lets_the_last_duplicate_of_the_file_win(
    tmp_path, db, mailing_list, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    run(tmp_path, [{"email": "old@example.com", "first_name": "Old"}], mailing_list.id)
    data = [
        {"email": "new@example.com", "first_name": "First"},
        {"email": "old@example.com", "first_name": "Changed"},
        {"email": "other@example.com"},
        {"email": "new@example.com", "first_name": "Last"},
    ]
    record = run(tmp_path, data, mailing_list.id, mode="skip")
    assert (record.inserted, record.skipped, record.duplicates) == (2, 1, 1)
    rows = stored(db, mailing_list.id)
    assert rows["old@example.com"].first_name == "Old"
    assert rows["new@example.com"].first_name == "Last"
