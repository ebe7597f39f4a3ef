"""Send a provider's batches from a child process, so sending gets a core of its own.

:class:`ProcessSender` wraps an HTTP or SMTP provider with the same ``submit_batch``/
``send_batch`` contract, plus ``stage``/``go``/``discard`` for the campaign channel loop; the
reasoning is in docs/architecture.md, "Providers".
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
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from mailer.providers.base import (
    HttpProvider,
    OutboundMessage,
    Provider,
    SendResult,
    pack_message,
    unpack_message,
)
from mailer.providers.smtp import SmtpProvider

__all__ = ["ProcessSender", "offloadable"]

PICKLE = 5
# What the parent writes to the pipe: a batch to prepare and stage, or one prepared (its
# pickle follows), go, drop; b"": stop.
_STAGE, _PREPARED, _GO, _DROP = b"S", b"P", b"G", b"D"
POLL_SECONDS = 1.0  # how often an idle child checks that its parent is still alive
JOIN_SECONDS = 10.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

_live: weakref.WeakSet[ProcessSender] = weakref.WeakSet()


def offloadable(provider: Provider) -> bool:
    """Whether the provider can send from a child process (needs nothing of the caller's)."""
    return isinstance(provider, HttpProvider | SmtpProvider)


def _pack_messages(messages: Sequence[OutboundMessage]) -> bytes:
    return pickle.dumps([pack_message(m) for m in messages], protocol=PICKLE)


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
    """A provider sending from a forked child process fed through a pipe.

    A batch can also go in two steps: ``stage`` hands it over without sending it (prepared by
    the provider's ``prepare_batch``: in the caller for a provider that says
    ``prepare_in_caller``, as SMTP does, since preparing in the child stalls its sending; in
    the child otherwise), then ``go`` sends it or ``discard`` drops it.

    Rules the channel loop's crash safety relies on:

    * one batch at a time: ``go`` (and ``submit_batch``) refuses a second batch before the
      first one's result was read; a staged batch is never sent without ``go``;
    * the child ignores SIGTERM and SIGINT (a stop request is the parent's to handle: it
      finishes its chunk and records it), and exits when the parent says so, when the pipe
      closes, or when the parent is gone (killed with -9): it never sends another batch for a
      dead parent.

    Only self-contained providers (HTTP APIs, SMTP) can be wrapped (:func:`offloadable`); the
    database-backed sandbox needs the caller's application context and keeps sending
    in-process.
    """

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
        self._staged = False
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

    def stage(self, messages: Sequence[OutboundMessage]) -> None:
        """Hand the next batch to the child without sending it: the child prepares it."""
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the sender is closed")
            if self._staged:
                raise RuntimeError("a batch is already staged")
            if self.provider.prepare_in_caller:
                self._conn.send_bytes(_PREPARED + _dumps(_prepare(self.provider, messages)))
            else:
                self._conn.send_bytes(_STAGE + _pack_messages(messages))
            self._staged = True

    def go(self) -> Future[list[SendResult]]:
        """Send the staged batch; its future."""
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the sender is closed")
            if not self._staged:
                raise RuntimeError("no batch is staged")
            if self._pending is not None:
                raise RuntimeError("a batch is already with the provider")
            future = _PipeFuture(self)
            self._conn.send_bytes(_GO)
            self._staged = False
            self._pending = future
            return future

    def discard(self) -> None:
        """Drop the staged batch, unsent."""
        with self._lock:
            if self._staged and self._conn is not None:
                self._conn.send_bytes(_DROP)
            self._staged = False

    def submit_batch(self, messages: Sequence[OutboundMessage]) -> Future[list[SendResult]]:
        with self._lock:
            if self._pending is not None:  # refused before anything reaches the child
                raise RuntimeError("a batch is already with the provider")
        self.stage(messages)
        return self.go()

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
    """The child: prepare each staged batch, send it on "go" and answer with its results
    (from the provider's thread, when they are in), so the next batch is prepared while this
    one is out."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    parent_end.close()
    staged: tuple[bool, Any] | None = None
    in_flight: Future | None = None
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
            kind = data[:1]
            if kind == _STAGE:
                messages = [unpack_message(t) for t in pickle.loads(data[1:])]  # noqa: S301
                staged = _prepare(provider, messages)
            elif kind == _PREPARED:
                staged = pickle.loads(data[1:])  # noqa: S301 - from our own parent
            elif kind == _DROP:
                staged = None
            elif kind == _GO and staged is not None:
                ok, prepared = staged
                staged = None
                if not ok:
                    _reply(conn, (False, prepared))
                    continue
                try:
                    in_flight = provider.send_prepared(prepared)
                except Exception as exc:  # noqa: BLE001
                    _reply(conn, (False, exc))
                    continue
                in_flight.add_done_callback(partial(_answer, conn))
    finally:
        if in_flight is not None:  # the parent waits for its answer before it stops us
            with contextlib.suppress(Exception):
                in_flight.result()
        with contextlib.suppress(Exception):
            provider.close()


def _prepare(provider: Provider, messages: Sequence[OutboundMessage]) -> tuple[bool, Any]:
    """(True, the prepared batch) or (False, the exception), handed to the future on go."""
    try:
        return True, provider.prepare_batch(messages)
    except Exception as exc:  # noqa: BLE001
        return False, exc


def _answer(conn: Connection, future: Future) -> None:
    """The batch's results back to the parent (on the provider's thread)."""
    try:
        reply: tuple[bool, Any] = (True, _pack_results(future.result()))
    except Exception as exc:  # noqa: BLE001 - handed to the parent's future
        reply = (False, exc)
    _reply(conn, reply)


def _dumps(outcome: tuple[bool, Any]) -> bytes:
    try:
        return pickle.dumps(outcome, protocol=PICKLE)
    except Exception:  # noqa: BLE001 - an exception that does not pickle
        return pickle.dumps((False, RuntimeError(repr(outcome[1]))), protocol=PICKLE)


def _reply(conn: Connection, reply: tuple[bool, Any]) -> None:
    body = _dumps(reply)
    with contextlib.suppress(OSError):  # the parent is gone
        conn.send_bytes(body)


@atexit.register
def _close_all() -> None:
    """Stop children a caller forgot to close before multiprocessing joins them at exit."""
    for sender in list(_live):
        with contextlib.suppress(Exception):
            sender.close()
