"""Run one local provider server until Ctrl-C, e.g. for a benchmark in another process.

Usage: ``python -m tests.servers brevo --port 8081 --latency 0.05`` or
``python -m tests.servers smtp --port 2525``.
"""

from __future__ import annotations

import argparse
import contextlib
import threading

from tests.servers import SERVERS, SmtpSink


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.servers")
    parser.add_argument("provider", choices=[*SERVERS, "smtp"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--record", action="store_true", help="keep every request in memory")
    parser.add_argument(
        "--pipelining", action="store_true", help="smtp: offer PIPELINING, as real relays do"
    )
    args = parser.parse_args()
    kwargs = {"host": args.host, "port": args.port, "latency": args.latency, "record": args.record}
    if args.provider == "smtp":
        server = SmtpSink(**kwargs, pipelining=args.pipelining)
    else:
        server = SERVERS[args.provider](**kwargs)
    with server:
        print(f"{args.provider} listening on {server.endpoint_url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    print(f"accepted {server.accepted} messages")


if __name__ == "__main__":
    main()
