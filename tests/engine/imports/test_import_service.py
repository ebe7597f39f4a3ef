"""Imports through the real service into the test database (SQLite or MariaDB)."""

from __future__ import annotations

import csv
import json

import pytest

from mailer.engine.imports import importer
from mailer.lib.errors import ValidationError
from mailer.lib.storage import storage
from mailer.models import Import, MailingList, Subscriber, Suppression
from mailer.services import lists


@pytest.fixture
def mailing_list(db):
    return lists.create_list("Customers")


def run(tmp_path, content: str | bytes, list_id, name="contacts.json", **kw) -> Import:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    record = importer.create_import(path, list_id=list_id, filename=name, **kw)
    return importer.run_import(record.id)


def subscribers(db, list_id) -> dict[str, Subscriber]:
    rows = db.session.scalars(db.select(Subscriber).filter_by(list_id=list_id)).all()
    return {s.email: s for s in rows}


def test_json_array_with_names_and_attributes(tmp_path, db, mailing_list):
    data = [
        {
            "Email": " Ann@Example.COM ",
            "first_name": "Ann",
            "last_name": "Lee",
            "city": "Oslo",
            "age": 31,
            "tags": ["a", "b"],
        },
        {"email": "bob@example.com", "name": "Bob Stone", "vip": True},
    ]
    record = run(tmp_path, json.dumps(data), mailing_list.id)
    assert record.status == "completed", record.error
    assert (record.rows_read, record.inserted, record.rejected) == (2, 2, 0)
    rows = subscribers(db, mailing_list.id)
    ann = rows["ann@example.com"]
    assert (ann.first_name, ann.last_name) == ("Ann", "Lee")
    assert ann.attributes == {"city": "Oslo", "age": 31, "tags": ["a", "b"]}
    assert rows["bob@example.com"].name == "Bob Stone"
    assert rows["bob@example.com"].attributes == {"vip": True}


def test_ndjson_and_csv_with_sniffed_delimiter(tmp_path, db, mailing_list):
    ndjson = '{"mail": "c@example.com", "plan": "pro"}\n\n{"mail": "d@example.com"}\n'
    assert run(tmp_path, ndjson, mailing_list.id, "c.ndjson").inserted == 2
    text = "E-Mail;First_Name;city\ne@example.com;Eve;Paris\nf@example.com;;\n"
    record = run(tmp_path, text, mailing_list.id, "c.csv")
    assert record.format == "csv" and record.inserted == 2
    rows = subscribers(db, mailing_list.id)
    assert rows["e@example.com"].first_name == "Eve"
    assert rows["e@example.com"].attributes == {"city": "Paris"}
    assert rows["f@example.com"].attributes == {}
    assert rows["c@example.com"].attributes == {"plan": "pro"}


def test_invalid_rows_are_rejected_with_position_reason_and_raw_value(tmp_path, mailing_list):
    data = [
        {"email": "ok@example.com"},
        {"email": "not-an-address"},
        {"name": "no email"},
        {"email": "two@@example.com"},
    ]
    record = run(tmp_path, json.dumps(data), mailing_list.id)
    assert (record.inserted, record.rejected, record.rows_read) == (1, 3, 4)
    with open(storage().path(importer.rejected_key(record)), encoding="utf-8") as fh:
        report = list(csv.DictReader(fh))
    assert [r["position"] for r in report] == ["item 2", "item 3", "item 4"]
    assert "missing @" in report[0]["reason"] and "not-an-address" in report[0]["raw"]
    assert "missing email" in report[1]["reason"]


def test_ndjson_text_with_a_lone_surrogate_is_rejected_not_fatal(tmp_path, db, mailing_list):
    # JSON can spell a lone UTF-16 surrogate ("\\ud800"), which no database can store.
    content = (
        '{"email": "a@example.com", "first_name": "Ann"}\n'
        '{"email": "b@example.com", "first_name": "B\\ud800b"}\n'
        '{"email": "c@example.com", "note": {"deep": "x\\udfffy"}}\n'
        '{"email": "d@example.com", "first_name": "D\\u00e9e \\ud83d\\ude00"}\n'
    )
    record = run(tmp_path, content, mailing_list.id, "c.ndjson")
    assert record.status == "completed", record.error
    assert (record.rows_read, record.inserted, record.rejected) == (4, 2, 2)
    rows = subscribers(db, mailing_list.id)
    assert set(rows) == {"a@example.com", "d@example.com"}
    assert rows["d@example.com"].first_name == "D\u00e9e \U0001f600"
    with open(storage().path(importer.rejected_key(record)), encoding="utf-8") as fh:
        report = list(csv.DictReader(fh))
    assert [r["position"] for r in report] == ["line 2", "line 3"]
    assert report[0]["reason"] == "invalid text: lone surrogate U+D800"
    assert "b@example.com" in report[0]["raw"] and "\\ud800" in report[0]["raw"]
    assert report[1]["reason"] == "invalid text: lone surrogate U+DFFF"


def test_json_array_with_a_lone_surrogate_stops_naming_the_item(tmp_path, db, mailing_list):
    content = '[{"email": "a@example.com"}, {"email": "b@example.com", "first_name": "B\\udfff"}]'
    record = run(tmp_path, content, mailing_list.id)
    assert record.status == "failed"
    assert record.error.startswith("item 2: a \\u escape is a lone UTF-16 surrogate")


def test_duplicates_in_a_file_last_one_wins_even_across_batches(
    tmp_path, db, mailing_list, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    data = [{"email": "x@example.com", "first_name": "First", "n": 1}]
    data += [{"email": f"u{i}@example.com"} for i in range(5)]
    data += [{"email": "X@Example.com", "first_name": "Last", "n": 2}]
    data += [{"email": "u0@example.com", "first_name": "Again"}]
    record = run(tmp_path, json.dumps(data), mailing_list.id)
    assert record.status == "completed"
    assert (record.inserted, record.updated, record.duplicates) == (6, 0, 2)
    rows = subscribers(db, mailing_list.id)
    assert len(rows) == 6
    assert rows["x@example.com"].first_name == "Last"
    assert rows["x@example.com"].attributes == {"n": 2}


def test_upsert_updates_names_merges_attributes_and_keeps_status(tmp_path, db, mailing_list):
    run(
        tmp_path,
        json.dumps([{"email": "a@example.com", "first_name": "A", "city": "Oslo", "plan": "free"}]),
        mailing_list.id,
    )
    sub = subscribers(db, mailing_list.id)["a@example.com"]
    lists.set_status(sub, "unsubscribed")
    record = run(
        tmp_path,
        json.dumps(
            [
                {"email": "a@example.com", "first_name": "Anna", "plan": "pro"},
                {"email": "b@example.com"},
            ]
        ),
        mailing_list.id,
        mode="upsert",
    )
    assert (record.inserted, record.updated) == (1, 1)
    db.session.expire_all()
    sub = subscribers(db, mailing_list.id)["a@example.com"]
    assert sub.first_name == "Anna"
    assert sub.attributes == {"city": "Oslo", "plan": "pro"}
    assert sub.status == "unsubscribed", "an import never resubscribes anyone"


def test_skip_leaves_existing_subscribers_untouched(tmp_path, db, mailing_list):
    run(
        tmp_path,
        json.dumps([{"email": "a@example.com", "first_name": "A", "plan": "free"}]),
        mailing_list.id,
    )
    record = run(
        tmp_path,
        json.dumps(
            [
                {"email": "a@example.com", "first_name": "Z", "plan": "pro"},
                {"email": "b@example.com"},
            ]
        ),
        mailing_list.id,
        mode="skip",
    )
    assert (record.inserted, record.updated, record.skipped) == (1, 0, 1)
    db.session.expire_all()
    sub = subscribers(db, mailing_list.id)["a@example.com"]
    assert sub.first_name == "A" and sub.attributes == {"plan": "free"}


def test_blocklist_mode_suppresses_every_address(tmp_path, db):
    db.session.add(Suppression(email="old@example.com", reason="manual"))
    db.session.commit()
    record = run(
        tmp_path,
        "email\nOld@example.com\nnew@example.com\nbad\n",
        None,
        "block.csv",
        mode="blocklist",
    )
    assert (record.inserted, record.skipped, record.rejected) == (1, 1, 1)
    emails = set(db.session.scalars(db.select(Suppression.email)))
    assert emails == {"old@example.com", "new@example.com"}
    assert (
        db.session.scalar(db.select(Suppression).filter_by(email="new@example.com")).reason
        == "import"
    )


def test_reimporting_the_same_file_is_idempotent(tmp_path, db, mailing_list):
    data = json.dumps(
        [{"email": f"p{i}@example.com", "first_name": f"P{i}", "k": i} for i in range(50)]
    )
    first = run(tmp_path, data, mailing_list.id)
    before = {e: (s.first_name, s.attributes) for e, s in subscribers(db, mailing_list.id).items()}
    second = run(tmp_path, data, mailing_list.id)
    db.session.expire_all()
    after = {e: (s.first_name, s.attributes) for e, s in subscribers(db, mailing_list.id).items()}
    assert (first.inserted, second.inserted, second.updated) == (50, 0, 50)
    assert before == after


def test_malformed_json_mid_file_keeps_committed_batches_and_names_the_position(
    tmp_path, db, mailing_list, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    good = ",".join(json.dumps({"email": f"g{i}@example.com"}) for i in range(5))
    record = run(tmp_path, "[" + good + ', {"email": "h@example.com" "oops"}]', mailing_list.id)
    assert record.status == "failed"
    assert "item 6" in record.error
    assert record.inserted == 4, "the two full batches were committed and are counted"
    assert len(subscribers(db, mailing_list.id)) == 4


def test_broken_csv_row_stops_with_its_line(tmp_path, mailing_list):
    record = run(
        tmp_path, 'email,name\na@example.com,A\nb@example.com,"B\n', mailing_list.id, "x.csv"
    )
    assert record.status == "failed" and "line 3" in record.error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b'[{"name": "x", "phone": "1"}]', "no email field; fields found: name, phone"),
        ('[{"email": "caf\u00e9@example.com"}]'.encode("latin-1"), "UTF-8"),
    ],
)
def test_files_refused_before_any_write_explain_why(tmp_path, db, mailing_list, content, message):
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as err:
        importer.create_import(path, list_id=mailing_list.id)
    assert message in err.value.errors["file"]
    assert not subscribers(db, mailing_list.id)


def test_utf8_bom_is_accepted(tmp_path, db, mailing_list):
    record = run(
        tmp_path,
        b"\xef\xbb\xbfemail,first_name\nz@example.com,Zo\xc3\xab\n",
        mailing_list.id,
        "bom.csv",
    )
    assert record.inserted == 1
    assert subscribers(db, mailing_list.id)["z@example.com"].first_name == "Zoë"


def test_cli_import_creates_the_list_and_prints_a_summary(tmp_path, runner, db):
    path = tmp_path / "cli.json"
    path.write_text(json.dumps([{"email": "a@example.com"}, {"email": "nope"}]))
    result = runner.invoke(args=["contacts", "import", str(path), "--list", "From CLI"])
    assert result.exit_code == 0, result.output
    assert "read 2, inserted 1, updated 0" in result.output and "rejected 1" in result.output
    assert db.session.scalar(db.select(MailingList).filter_by(name="From CLI"))
    bad = tmp_path / "bad.json"
    bad.write_text('[{"email": "a@example.com"}, {"email": ')
    failed = runner.invoke(args=["contacts", "import", str(bad), "--list", "From CLI"])
    assert failed.exit_code != 0 and "failed" in failed.output
