"""The gunicorn worker class production runs: gevent's own HTTP server, fair turns, even shares.

gunicorn's ``gevent`` worker parses HTTP with gunicorn's pure-Python parser; its ``gevent_pywsgi``
worker hands each connection to gevent's ``pywsgi`` server, which does less per request (measured
with ``bench/harness.py``; bench/README.md). What is added here:

- **A turn per request.** A gevent socket read that finds data already buffered returns without
  switching greenlets, so a keep-alive client that sends its next request as soon as it has the
  answer would be served again and again while other connections wait. The handler yields once
  before reading each request line, so the ready connections are served in turn.
- **Connections shared evenly between the processes.** All workers accept from one listening
  socket, and whichever is awake takes what is waiting: 64 keep-alive connections opened at once
  were seen split 41/23, so one process queued twice the requests of the other while it idled.
  Each worker counts its open connections in memory shared with the others (created by the
  master before it forks) and stops accepting for a moment while it holds more than its share
  plus one, leaving the waiting connections to the others — nginx's ``accept_mutex`` idea. Only
  workers that are serving count: each stamps a heartbeat every second (gunicorn's ``notify``),
  and a worker whose stamp is older than :data:`LIVE_S` (starting, stuck, or gone) is left out,
  so the others never hold back for it.
- **gunicorn's limits on the request head**, which ``pywsgi`` does not apply: header lines of at
  most :data:`LIMIT_FIELD` bytes, at most :data:`LIMIT_FIELDS` of them, and a request with two
  ``Content-Length`` headers, a ``Content-Length`` that is not digits, or a ``Transfer-Encoding``
  other than one plain ``chunked`` (or beside a ``Content-Length``) is answered 400 instead of
  being read one way here and another way by a proxy in front. The head is read by
  :func:`read_head`, not by the ``email`` parser ``pywsgi`` uses (a tenth of its cost), and a
  header name that is not a token is refused as gunicorn refuses it.
- **Idle and slow connections closed**, as gunicorn's own workers do: a keep-alive connection
  that sends no request line within gunicorn's ``keepalive`` seconds is closed (``keepalive = 0``:
  one request per connection), and a request whose head takes longer than :data:`HEAD_S` is
  answered 400.
- **No access-log bookkeeping when there is no access log.** gunicorn's handler builds two
  datetimes and a response record for every request before its logger finds nothing to write.

gunicorn's ``max_requests`` and its ``pre_request`` / ``post_request`` hooks do not apply to
``pywsgi`` workers; ``contest/gunicorn_conf.py`` sets none of them.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import re
import time
from typing import Any

import gevent
from gevent.pywsgi import OldMessage
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

SLOTS = 256  # workers are numbered by gunicorn's age counter, modulo this
RECHECK_S = 0.05  # how soon a worker over its share looks again
LIVE_S = 3.0  # a worker whose heartbeat is older than this does not count in the shares
# Connections accepted per turn of the event loop: under load a turn takes tens of milliseconds,
# and taking one per turn left a burst of new connections waiting seconds in the backlog.
ACCEPT_BATCH = 16
HEAD_S = 10.0  # the headers after the request line must arrive within this
LIMIT_FIELD = 8190  # bytes in one header line (gunicorn's limit_request_field_size)
LIMIT_FIELDS = 100  # header lines (gunicorn's limit_request_fields)
_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name (RFC 9110 §5.1)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # not in a field value (RFC 9110 §5.5)

# Open connections and the last heartbeat (time.monotonic(), one clock for every process) per
# worker slot. Created when gunicorn's master loads this class, so the workers it forks share
# them; in any other process they are simply private.
connections = multiprocessing.RawArray(ctypes.c_int32, SLOTS)
heartbeats = multiprocessing.RawArray(ctypes.c_double, SLOTS)


class _Share:
    slot: int | None = None  # this worker's slot (None outside a gunicorn worker)
    keepalive = 5.0


def over_share(mine: int, total: int, workers: int) -> bool:
    """True when a worker holding ``mine`` of ``total`` connections has more than its share + 1."""
    return mine * workers > total + workers


def held_back(slot: int, now: float) -> bool:
    """Whether the worker in ``slot`` holds more than its share among the workers alive now."""
    total = live = 0
    for index in range(SLOTS):
        if now - heartbeats[index] < LIVE_S or index == slot:
            live += 1
            total += connections[index]
    return over_share(connections[slot], total, live)


def forget(age: int) -> None:
    """Clear a departed worker's slot (the master's ``child_exit`` hook calls this)."""
    connections[age % SLOTS] = 0
    heartbeats[age % SLOTS] = 0.0


def _refused(reason: str) -> OldMessage:
    """Headers that make ``pywsgi`` answer 400 and close the connection."""
    message = OldMessage()
    message.status = reason
    return message


def read_head(fp: Any) -> OldMessage:
    """The request's header lines within gunicorn's limits, as the ``OldMessage`` ``pywsgi``
    reads them (names as sent, values without the whitespace around them).

    Each line is split at its first colon: a tenth of the time the ``email`` parser ``pywsgi``
    uses takes (~2.5 µs against ~24 µs for a save's seven headers), paid by every request. A line
    whose name is not an RFC 9110 token (no colon, whitespace before it, a folded continuation
    line) or whose value holds a control character other than a tab (a bare CR, NUL …) is
    refused, as gunicorn refuses it: ``Transfer-Encoding:\rchunked`` must not be read as
    chunked here while a proxy in front reads something else.
    """
    message = OldMessage()
    fields = message._headers  # what email.message.Message keeps: (name, value) in order
    while True:
        line = fp.readline(LIMIT_FIELD + 1)
        if len(line) > LIMIT_FIELD:
            return _refused("Header line too long")
        if line in (b"\r\n", b"\n", b""):
            break
        if len(fields) >= LIMIT_FIELDS:
            return _refused("Too many headers")
        text = line.decode("iso-8859-1")
        text = text[:-2] if text.endswith("\r\n") else text.rstrip("\n")
        name, colon, value = text.partition(":")
        if not colon or not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            return _refused("Invalid header")
        fields.append((name, value.strip(" \t")))
    lengths = message.get_all("content-length") or []
    encodings = message.get_all("transfer-encoding") or []
    if len(lengths) > 1 or any(not _DIGITS.fullmatch(value) for value in lengths):
        return _refused("Invalid Content-Length")
    if encodings and (lengths or len(encodings) > 1 or encodings[0].lower() != "chunked"):
        return _refused("Unsupported Transfer-Encoding")
    return message


class FairHandler(PyWSGIHandler):
    def read_requestline(self) -> Any:
        gevent.sleep(0)
        with gevent.Timeout(_Share.keepalive or HEAD_S, False):
            return super().read_requestline()
        return ""  # idle too long: the connection is closed

    def MessageClass(self, fp: Any, *args: Any) -> OldMessage:  # pywsgi's name
        return read_head(fp)

    def read_request(self, raw_requestline: str) -> Any:
        with gevent.Timeout(HEAD_S, False):
            parsed = super().read_request(raw_requestline)
            if not _Share.keepalive:
                self.close_connection = True
            return parsed
        return False  # 400, and the connection is closed

    def log_request(self) -> None:
        if self.server.log.access_log_enabled:
            super().log_request()


class BalancedServer(PyWSGIServer):
    """Accepts up to :data:`ACCEPT_BATCH` waiting connections per turn of the event loop, each
    only while this worker is within its share. A connection counts from its accept to its
    close, so a batch sees the connections it has just taken."""

    max_accept = 1  # the base class takes one per call; _do_read loops over it

    def _do_read(self) -> None:
        slot = _Share.slot
        for _ in range(ACCEPT_BATCH):
            if slot is not None and held_back(slot, time.monotonic()):
                self.stop_accepting()
                self._timer = self.loop.timer(RECHECK_S)
                self._timer.start(self._start_accepting_if_started)
                return
            self._accepted = False
            super()._do_read()
            if not self._accepted or self._watcher is None:
                return  # nothing more waiting, or the base class paused accepting

    def do_read(self) -> Any:
        accepted = super().do_read()
        if accepted:
            self._accepted = True
            if _Share.slot is not None:
                connections[_Share.slot] += 1
        return accepted

    def do_close(self, *args: Any) -> None:
        if _Share.slot is not None:
            connections[_Share.slot] -= 1
        super().do_close(*args)


class FairPyWSGIWorker(GeventPyWSGIWorker):
    server_class = BalancedServer
    wsgi_handler = FairHandler

    def init_process(self) -> None:
        _Share.slot = self.age % SLOTS
        _Share.keepalive = max(0.0, float(self.cfg.keepalive))
        connections[_Share.slot] = 0
        heartbeats[_Share.slot] = 0.0  # counted once it serves (the first notify)
        super().init_process()

    def notify(self) -> None:
        super().notify()
        if _Share.slot is not None:
            heartbeats[_Share.slot] = time.monotonic()
