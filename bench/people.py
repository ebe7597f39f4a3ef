"""Benchmark: people search, bulk unsubscribe and export over 1,000,000 subscribers.

Seeds N subscribers on three lists (multi-row INSERTs, 10,000 rows a statement), then prints:
search times (email prefix through the (list_id, email) index; name and attribute searches
that scan newest first within MAILER_SEARCH_BUDGET_MS), the export rate and peak RSS of a
fresh process streaming every row as CSV (the code behind the export download), and the rate
of a bulk unsubscribe of every match (the code the job runs). The machine is shared: the load
average is printed with the figures. Targets (issue 21): search < 200 ms, export >= 50,000
rows/s under 150 MB, bulk unsubscribe >= 20,000 rows/s.

    python bench/people.py --rows 1000000 --database-url 'mysql+mysqldb://…/mailer_bench'
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

FIRST = ["Zoë", "José", "Anna", "Søren", "Anaïs", "Ngozi", "Ana", "Mette", "Olaf", "Marc"]
LAST = ["Müller", "García", "Øster", "Novák", "Brien", "Okafor", "Silva", "Dubois", "Rossi"]
CITIES = ["Paris", "Oslo", "Kraków", "São Paulo", "Zürich", "Lagos", "Tokyo"]
SPLIT = (0.6, 0.3, 0.1)  # share of the rows on each list


def make_app(database_url: str | None, workdir: str):
    from cryptography.fernet import Fernet

    from config import Config
    from mailer import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url or f"sqlite:///{workdir}/people.db"
        INSTANCE_PATH = workdir
        LOG_LEVEL = "WARNING"
        SECRET_KEY = "bench-people"
        ENCRYPTION_KEY = Fernet.generate_key().decode()

    return create_app(BenchConfig)


def seed(n: int) -> list[int]:
    from flask_migrate import upgrade

    from mailer.extensions import db
    from mailer.models import MailingList, Subscriber
    from mailer.models.base import utcnow
    from tests.fixtures.app import drop_everything

    drop_everything(db.engine)
    upgrade()
    lists = [MailingList(name=f"bench {i}") for i in range(len(SPLIT))]
    db.session.add_all(lists)
    db.session.commit()
    rng = random.Random(21)
    table = Subscriber.__table__
    now = utcnow()
    started = time.perf_counter()
    done = 0
    for mailing_list, share in zip(lists, SPLIT, strict=True):
        count = int(n * share)
        for start in range(0, count, 10_000):
            rows = []
            for i in range(start, min(count, start + 10_000)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                rows.append(
                    {
                        "list_id": mailing_list.id,
                        "email": f"{first.lower()}.{last.lower()}.{i}@example{i % 97}.com",
                        "first_name": first,
                        "last_name": last,
                        "status": "subscribed",
                        "attributes": {"city": rng.choice(CITIES), "score": rng.randrange(1000)},
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            with db.engine.begin() as conn:
                conn.execute(table.insert(), rows)
            done += len(rows)
    # one needle among the oldest rows, for a search that must scan far
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == 1).values(first_name="Needlewoman"))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"seeded": done, "seconds": round(seconds, 1), "rows_per_s": round(done / seconds)}
        )
    )
    return [m.id for m in lists]


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), result


def searches(list_ids: list[int]) -> dict:
    from mailer.extensions import db
    from mailer.services import people

    def page(search, cursor=None):
        db.session.rollback()
        return people.search_page(search, cursor)

    figures = {}
    db.session.rollback()  # a snapshot from before the seed would not see its rows
    middle = db.session.scalar(
        db.text("SELECT email FROM subscribers ORDER BY id LIMIT 1 OFFSET 450000")
    )
    cases = {
        "email_prefix_rare": people.Search(q=(middle or "x")[:14], field="email"),
        "email_prefix_common": people.Search(q="a", field="email"),
        "email_prefix_one_list": people.Search(q="marc.", field="email", list_id=list_ids[1]),
        "email_domain_scan": people.Search(q="@example42.com", field="email"),
        "name_common": people.Search(q="müller", field="name"),
        "name_rare_bounded_scan": people.Search(q="needlewoman", field="name"),
        "attribute_city": people.Search(q="oslo", field="attribute", attribute="city"),
        "attribute_any": people.Search(q="kraków", field="attribute"),
        "browse_status": people.Search(status="subscribed", list_id=list_ids[2]),
    }
    for name, search in cases.items():
        ms, result = timed(lambda s=search: page(s))
        entry = {"ms": ms, "rows": len(result.rows), "partial": result.partial}
        if result.partial:
            top = db.session.scalar(db.text("SELECT MAX(id) FROM subscribers"))
            entry["ids_scanned"] = top - result.scanned_to
        if result.next_cursor:
            entry["next_page_ms"], _ = timed(lambda s=search, c=result.next_cursor: page(s, c))
        figures[name] = entry
    return figures


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def export_child(database_url: str | None, workdir: str) -> None:
    """In a fresh process (for a clean peak RSS): stream every row as CSV, count the bytes."""
    from mailer.extensions import db
    from mailer.services import exports, people
    from mailer.services.bulk import Selection

    app = make_app(database_url, workdir)
    with app.app_context():
        rss_before = peak_rss_mb()
        rows = db.session.scalar(db.text("SELECT COUNT(*) FROM subscribers"))
        out = {}
        for fmt in ("csv", "json"):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_before = usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            size = 0
            for chunk in exports.stream(Selection(search=people.Search()), fmt):
                size += len(chunk)
            seconds = time.perf_counter() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime - cpu_before
            out[fmt] = {
                "rows_per_cpu_s": round(rows / cpu),  # this process's CPU, without the waits
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "mb_written": round(size / 1e6, 1),
            }
        out["peak_rss_mb"] = peak_rss_mb()
        out["rss_before_export_mb"] = rss_before
    print(json.dumps(out))


def bulk_unsubscribe() -> dict:
    from mailer.extensions import db
    from mailer.models import BulkAction
    from mailer.services import bulk, people

    action = BulkAction(
        kind="unsubscribe",
        selection=bulk.Selection(search=people.Search(status="subscribed")).to_json(),
    )
    db.session.add(action)
    db.session.commit()
    started = time.perf_counter()
    action = bulk.run(action.id)
    seconds = time.perf_counter() - started
    return {
        "status": action.status,
        "matches": action.total,
        "changed": action.changed,
        "seconds": round(seconds, 2),
        "rows_per_s": round(action.processed / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-seed", action="store_true", help="use the rows already seeded")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-people-")
    if args.export_child:
        export_child(args.database_url, workdir)
        return
    print(json.dumps({"load_before": os.getloadavg(), "cores": os.cpu_count()}))
    app = make_app(args.database_url, workdir)
    with app.app_context():
        from mailer.extensions import db
        from mailer.models import MailingList

        if args.skip_seed:
            list_ids = list(db.session.scalars(db.select(MailingList.id).order_by(MailingList.id)))
        else:
            list_ids = seed(args.rows)
        print(json.dumps({"database": db.engine.dialect.name, "search": searches(list_ids)}))
    child = [sys.executable, __file__, "--export-child", "--workdir", workdir]
    if args.database_url:
        child += ["--database-url", args.database_url]
    print(subprocess.run(child, check=True, capture_output=True, text=True).stdout.strip())
    with app.app_context():
        print(json.dumps({"bulk_unsubscribe": bulk_unsubscribe()}))
    print(json.dumps({"load_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
