"""Send a provider's batches from a child process, so sending gets a core of its own.

A channel loop spends a good part of its CPU in the provider's transport (the HTTP client's
event loop, SMTP/MIME) besides preparing messages (database, rendering). In one process both
share one GIL; ``ProcessSender`` moves the transport into a forked child fed through a pipe, with the same
``submit_batch``/``send_batch`` contract as the provider it wraps.

Rules the channel loop's crash safety relies on:

* one batch at a time: ``submit_batch`` refuses a second one before the first one's result
  was read;
* the child ignores SIGTERM and SIGINT (a stop request is the parent's to handle: it finishes
  its chunk and records it), and exits when the parent says so, when the pipe closes, or when
  the parent is gone (killed with -9): it never sends another batch for a dead parent.

Only self-contained providers (HTTP APIs, SMTP) can be wrapped; the database-backed sandbox
needs the caller's application context and keeps sending in-process.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.util  # its exit handler must run after ours (atexit is LIFO)
import os
import pickle
import signal
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from mailer.providers.base import HttpProvider, OutboundMessage, Provider, SendResult
from mailer.providers.smtp import SmtpProvider

__all__ = ["ProcessSender", "offloadable"]

PICKLE = 5
POLL_SECONDS = 1.0  # how often an idle child checks that its parent is still alive
JOIN_SECONDS = 10.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

_live: weakref.WeakSet[ProcessSender] = weakref.WeakSet()


def offloadable(provider: Provider) -> bool:
    """Whether the provider can send from a child process (needs nothing of the caller's)."""
    return isinstance(provider, HttpProvider | SmtpProvider)


def _pack_messages(messages: Sequence[OutboundMessage]) -> bytes:
    return pickle.dumps(
        [
            (
                m.ref,
                m.to,
                m.subject,
                m.from_email,
                m.from_name,
                m.to_name,
                m.reply_to,
                m.html,
                m.text,
                m.headers,
                m.message_id,
                m.tags,
            )
            for m in messages
        ],
        protocol=PICKLE,
    )


def _pack_results(results: Sequence[SendResult]) -> list[tuple]:
    return [
        (r.ref, r.ok, r.provider_message_id, r.error, r.transient, r.retry_after, r.status_code)
        for r in results
    ]


class _PipeFuture(Future):
    """Resolved by reading the child's answer when someone asks for the result."""

    def __init__(self, sender: ProcessSender) -> None:
        super().__init__()
        self._sender = sender

    def result(self, timeout: float | None = None) -> list[SendResult]:
        if not self.done():
            self._sender._collect(self)
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done():
            self._sender._collect(self)
        return super().exception(timeout)


class ProcessSender:
    """A provider sending from a forked child process; see the module docstring."""

    def __init__(self, provider: Provider) -> None:
        if not offloadable(provider):
            raise TypeError(f"{type(provider).__name__} can not send from a child process")
        self.provider = provider
        self.name = provider.name
        self.label = provider.label
        self.max_batch = provider.max_batch
        self.concurrency = provider.concurrency
        self._lock = threading.Lock()
        self._pending: _PipeFuture | None = None
        ctx = multiprocessing.get_context("fork")
        ours, theirs = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(
            target=_serve,
            args=(provider, theirs, ours, os.getpid()),
            name=f"mailer-send-{provider.name}",
            daemon=False,
        )
        # Blocked across the fork: a SIGTERM meant for us must not kill the child before it
        # ignores it (the parent gets it, pending, when unblocked).
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            self._proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        theirs.close()
        self._conn: Connection | None = ours
        _live.add(self)

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the sender is closed")
            if self._pending is not None:
                raise RuntimeError("a batch is already with the provider")
            future = _PipeFuture(self)
            self._conn.send_bytes(_pack_messages(messages))
            self._pending = future
            return future

    def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        return self.submit_batch(messages).result()

    def _collect(self, future: _PipeFuture) -> None:
        with self._lock:
            if future.done() or self._pending is not future:
                return
            self._pending = None
            try:
                assert self._conn is not None
                ok, payload = pickle.loads(self._conn.recv_bytes())  # noqa: S301 - our own child
            except (EOFError, OSError) as exc:
                future.set_exception(
                    RuntimeError(f"the {self.label} sending process stopped ({exc!r})")
                )
                return
            if ok:
                future.set_result([SendResult(*r) for r in payload])
            else:
                future.set_exception(payload)

    def close(self) -> None:
        """Wait for the batch in flight (its answer is dropped if nobody read it), stop the
        child and release the provider."""
        pending = self._pending
        if pending is not None:
            with contextlib.suppress(Exception):
                pending.result()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send_bytes(b"")
            conn.close()
            self._proc.join(JOIN_SECONDS)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
        _live.discard(self)
        self.provider.close()

    def __enter__(self) -> ProcessSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ProcessSender pid={self.pid} {self.provider!r}>"


def _serve(provider: Provider, conn: Connection, parent_end: Connection, parent_pid: int) -> None:
    """The child: send each batch the pipe brings, answer with the results, in order."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    parent_end.close()
    try:
        while True:
            while not conn.poll(POLL_SECONDS):
                if os.getppid() != parent_pid:
                    return  # the parent died (kill -9): send nothing more
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                return
            if not data or os.getppid() != parent_pid:
                return
            messages = [OutboundMessage(*t) for t in pickle.loads(data)]  # noqa: S301 - our parent
            try:
                reply: tuple[bool, Any] = (True, _pack_results(provider.send_batch(messages)))
            except Exception as exc:  # noqa: BLE001 - handed to the parent's future
                reply = (False, exc)
            try:
                body = pickle.dumps(reply, protocol=PICKLE)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                body = pickle.dumps((False, RuntimeError(repr(reply[1]))), protocol=PICKLE)
            try:
                conn.send_bytes(body)
            except OSError:
                return
    finally:
        with contextlib.suppress(Exception):
            provider.close()


@atexit.register
def _close_all() -> None:
    """Stop children a caller forgot to close before multiprocessing joins them at exit."""
    for sender in list(_live):
        with contextlib.suppress(Exception):
            sender.close()
