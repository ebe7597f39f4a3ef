"""Benchmark the streaming contact-file reader (no DB): rows/s and peak RSS per format.

The import must reach 40,000 contacts/s end to end, DB writes included, so the reader alone
has to be several times faster. Each format is read in a fresh interpreter so its peak RSS
(``ru_maxrss``) is its own, and RSS is sampled while reading to show it stays flat. "rows/s"
is wall clock; "cpu rows/s" uses the process's CPU time, steadier on a busy machine.

    python bench/reader.py                 # 1,000,000 contacts, json + ndjson + csv
    python bench/reader.py -n 200000 -f csv --keep /tmp/contacts
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST = [
    "Anna",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Chloé",
    "Mohammed",
    "Jürgen",
    "Ngọc",
    "陈",
    "Αλέξανδρος",
    "Ольга",
    "Siobhán",
]
LAST = [
    "Smith",
    "García",
    "Müller",
    "Nowak",
    "Øberg",
    "Dubois",
    "Öztürk",
    "Nguyễn",
    "王",
    "Παπαδόπουλος",
    "O'Brien",
    "Silva",
]
# One domain in seven is an IDN, so the cached IDNA path is part of the figure.
DOMAINS = [
    "gmail.com",
    "yahoo.fr",
    "example.com",
    "mail.example.org",
    "bücher.de",
    "web.de",
    "outlook.com",
]
CITIES = ["Paris", "Kraków", "München", "São Paulo", "Zürich", "Osaka", "Lyon", "Dublin"]
PLANS = ["free", "pro", "team", "enterprise"]
BROKEN = ["{}.{}", "{} {}@x.com", "{}..{}@x.com", "{}@{}", "@{}{}.com", "{}@{}@x.com"]


def contacts(n: int, seed: int = 42):
    """Yield n contact dicts: ~1% invalid addresses, ~5% duplicates (other case), unicode."""
    rnd = random.Random(seed)
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        roll = rnd.random()
        if roll < 0.01:
            email = rnd.choice(BROKEN).format(f"user{i}", "example")
        elif roll < 0.06 and i:
            j = rnd.randrange(i)
            email = f"User.{j}@{DOMAINS[j % len(DOMAINS)].upper()}"
        else:
            email = f"user.{i}@{DOMAINS[i % len(DOMAINS)]}"
        yield {
            "email": email,
            "first_name": first,
            "last_name": last,
            "city": rnd.choice(CITIES),
            "plan": rnd.choice(PLANS),
            "score": round(rnd.random() * 100, 2),
            "signed_up": f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "tags": rnd.sample(["news", "vip", "beta", "promo", "b2b"], 2),
        }


def write_file(path: Path, fmt: str, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        if fmt == "csv":
            writer = csv.writer(f)
            writer.writerow(
                ["Email", "First Name", "Last Name", "City", "Plan", "Score", "Signed up", "Tags"]
            )
            for c in contacts(n):
                writer.writerow(
                    [
                        c["email"],
                        c["first_name"],
                        c["last_name"],
                        c["city"],
                        c["plan"],
                        c["score"],
                        c["signed_up"],
                        "|".join(c["tags"]),
                    ]
                )
        elif fmt == "ndjson":
            for c in contacts(n):
                f.write(json.dumps(c, ensure_ascii=False))
                f.write("\n")
        else:
            f.write("[\n")
            for i, c in enumerate(contacts(n)):
                if i:
                    f.write(",\n")
                f.write(json.dumps(c, ensure_ascii=False))
            f.write("\n]\n")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def read_file(path: str, fmt: str) -> dict:
    """Child mode: read one file, return the figures (as JSON on stdout)."""
    sys.path.insert(0, str(ROOT))
    from mailer.engine.imports.files import ContactReader, ContactRow

    size = os.path.getsize(path)
    base = rss_mib()
    samples = []
    ok = rejected = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    with open(path, "rb") as f:
        reader = ContactReader(f, fmt, size)
        next_sample = 0
        for i, row in enumerate(reader):
            if type(row) is ContactRow:
                ok += 1
            else:
                rejected += 1
            if i == next_sample:
                samples.append(round(rss_mib(), 1))
                next_sample = next_sample * 2 + 100_000 if next_sample else 100_000
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    samples.append(round(rss_mib(), 1))
    return {
        "fmt": fmt,
        "mib": size / 2**20,
        "rows": ok + rejected,
        "ok": ok,
        "rejected": rejected,
        "seconds": elapsed,
        "cpu": cpu,
        "base_rss": base,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "samples": samples,
        "bytes_read": reader.bytes_read,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rows", type=int, default=1_000_000)
    parser.add_argument("-f", "--formats", default="json,ndjson,csv")
    parser.add_argument("--keep", help="directory to write the files to and keep them in")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "FMT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(read_file(*args.child)))
        return

    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{args.rows:,} contacts per file, python {sys.version.split()[0]}")
        print(
            f"{'format':7} {'MiB':>6} {'rows':>9} {'rejected':>8} {'s':>6} {'rows/s':>9} "
            f"{'cpu rows/s':>10} {'MiB/s':>6} {'base RSS':>8} {'peak RSS':>8}  RSS samples (MiB)"
        )
        for fmt in formats:
            path = folder / f"contacts.{fmt}"
            if not path.exists() or not args.keep:
                write_file(path, fmt, args.rows)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), fmt],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout)
            print(
                f"{fmt:7} {r['mib']:6.1f} {r['rows']:9,} {r['rejected']:8,} "
                f"{r['seconds']:6.2f} {r['rows'] / r['seconds']:9,.0f} "
                f"{r['rows'] / r['cpu']:10,.0f} {r['mib'] / r['seconds']:6.1f} "
                f"{r['base_rss']:8.1f} {r['peak_rss']:8.1f}  "
                f"{r['samples']}"
            )


if __name__ == "__main__":
    main()
