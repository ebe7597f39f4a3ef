"""Benchmark: contact file import end to end through the real import service.

Generates N contacts as a JSON array (about 1% invalid addresses, 5% duplicates, unicode names,
a few attributes), imports them into an empty list with `importer.run_import` (the same code the
RQ job and the CLI run), and prints contacts/s and the peak RSS of the importing process.
Each size runs in a fresh process so peak RSS figures are comparable.

The machine is often shared, so it also prints the CPU the import cost per contact (this
process; with --server-pid, the database server's too) and the load average before and after:
CPU per contact stays comparable when the wall-clock rate does not.

    python bench/import.py --sizes 100000,1000000                        # SQLite file in a temp dir
    python bench/import.py --sizes 100000,1000000 --database-url 'mysql+mysqldb://…' \
        --server-pid "$(pgrep -o mariadbd)"
    python bench/import.py --sizes 100000 --mapping   # through the mapping step: typed
                                                      # score (number) and vip (yes/no)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

FIRST = ["Zoë", "José", "Łukasz", "Søren", "Anaïs", "李", "Ngozi", "Ana", "Mette", "Ólafur"]
LAST = ["Müller", "García", "Øster", "Nováková", "O'Brien", "王", "Okafor", "Silva", "Dubois"]
CITIES = ["Paris", "Oslo", "Kraków", "São Paulo", "Zürich", "Lagos", "Tokyo"]


def generate(path: str, n: int, seed: int = 7) -> None:
    """Stream N contacts to `path` (flat memory)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(n):
            roll = rng.random()
            if roll < 0.01:
                email = f"broken-{i}.example.com"  # no @
            elif roll < 0.06 and i > 0:
                email = f"Person.{rng.randrange(i)}@Example.com"  # an earlier address again
            else:
                email = f"person.{i}@example.com"
            row = {
                "email": email,
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "city": rng.choice(CITIES),
                "plan": rng.choice(["free", "pro", "team"]),
                "score": rng.randrange(1000),
                "vip": rng.random() < 0.1,
            }
            out.write(("," if i else "") + json.dumps(row, ensure_ascii=False) + "\n")
        out.write("]\n")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU of this process, or of another one (Linux /proc) when pid is given."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(
    n: int, database_url: str | None, workdir: str, server_pid: int | None, mapped: bool = False
) -> dict:
    from cryptography.fernet import Fernet

    from config import Config
    from mailer import create_app
    from mailer.extensions import db

    path = os.path.join(workdir, f"contacts-{n}.json")
    generate(path, n)

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url or f"sqlite:///{workdir}/bench-{n}.db"
        INSTANCE_PATH = workdir
        LOG_LEVEL = "WARNING"
        SECRET_KEY = "bench-" + os.urandom(16).hex()  # a shared database needs its keys given
        ENCRYPTION_KEY = Fernet.generate_key().decode()

    app = create_app(BenchConfig)
    with app.app_context():
        from flask_migrate import upgrade

        from mailer.engine.imports import importer
        from tests.fixtures.app import drop_everything

        drop_everything(db.engine)
        upgrade()
        list_id = importer.get_or_create_list(f"bench {n}").id
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # app and schema ready
        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds()
        server_before = cpu_seconds(server_pid) if server_pid else 0.0
        started = time.perf_counter()
        record = importer.create_import(path, list_id=list_id, map_columns=mapped)
        if mapped:  # the guesses, as a person accepting them would send them
            from mailer.engine.imports import mapping

            preview = importer.read_preview(record)
            columns, _ = mapping.suggest(preview)
            importer.confirm_mapping(record, columns, preview.fields)
        record = importer.run_import(record.id)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        server_cpu = cpu_seconds(server_pid) - server_before if server_pid else None
        result = {
            "rows": n,
            "status": record.status,
            "inserted": record.inserted,
            "duplicates": record.duplicates,
            "rejected": record.rejected,
            "seconds": round(seconds, 2),
            "contacts_per_s": round(n / seconds),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_before_import_mb": round(rss_before / 1024, 1),
            "database": db.engine.dialect.name,
            "cpu_us_per_contact": round(cpu / n * 1e6, 1),
            "server_cpu_us_per_contact": (
                round(server_cpu / n * 1e6, 1) if server_cpu is not None else None
            ),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
        }
    os.remove(path)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--server-pid", type=int, help="database server pid, for its CPU use")
    parser.add_argument("--mapping", action="store_true", help="import through the mapping step")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as workdir:
            result = run_one(args.one, args.database_url, workdir, args.server_pid, args.mapping)
            print(json.dumps(result))
        return
    print(
        f"{'rows':>9} {'db':>7} {'status':>10} {'seconds':>8} {'contacts/s':>11} "
        f"{'peak RSS MB':>12} {'inserted':>9} {'dups':>7} {'rejected':>8} "
        f"{'cpu us/row':>10} {'db cpu us/row':>13} {'load':>11}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(size)]
        if args.database_url:
            cmd += ["--database-url", args.database_url]
        if args.server_pid:
            cmd += ["--server-pid", str(args.server_pid)]
        if args.mapping:
            cmd.append("--mapping")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        server = r["server_cpu_us_per_contact"]
        print(
            f"{r['rows']:>9} {r['database']:>7} {r['status']:>10} {r['seconds']:>8} "
            f"{r['contacts_per_s']:>11} {r['peak_rss_mb']:>12} {r['inserted']:>9} "
            f"{r['duplicates']:>7} {r['rejected']:>8} {r['cpu_us_per_contact']:>10} "
            f"{'-' if server is None else server:>13} "
            f"{r['load_before']:>5}-{r['load_after']:<5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
