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
  so the others never hold back for it. The moment is short (:data:`RECHECK_MIN_S`, doubling
  up to :data:`RECHECK_S` while the worker stays over its share): the others hold back in turn
  as soon as they pass their own shares, and a fixed 50 ms pause then left every worker paused
  at once — a burst of 4,200 connections was accepted at ~230 a second, a new client waiting
  behind it for 14–19 s.
- **Idle connections make way for new ones.** When every worker's ``worker_connections`` are
  taken and a connection is waiting, the worker holding the oldest idle connection (one waiting
  for a request line with nothing sent; each worker says since when in the shared memory)
  closes it, instead of leaving the newcomer in the backlog until a keep-alive runs out —
  nginx's reuse of keep-alive connections. One worker only: every worker is woken for the
  newcomer, and with each closing one, twice the connections needed were closed.
- **gunicorn's limits on the request head**, which ``pywsgi`` does not apply: header lines of at
  most :data:`LIMIT_FIELD` bytes, at most :data:`LIMIT_FIELDS` of them, and a request with two
  ``Content-Length`` headers, a ``Content-Length`` that is not digits, or a ``Transfer-Encoding``
  other than one plain ``chunked`` (or beside a ``Content-Length``) is answered 400 instead of
  being read one way here and another way by a proxy in front. The head is read by
  :func:`read_head`, not by the ``email`` parser ``pywsgi`` uses (bench/HISTORY.md), and a
  header name that is not a token is refused as gunicorn refuses it. So is an HTTP/1.1 request
  without a ``Host`` header, or any request with two (RFC 9112 §3.2).
- **Idle and slow connections closed**, as gunicorn's own workers do: a keep-alive connection
  that sends no request line within gunicorn's ``keepalive`` seconds is closed (``keepalive = 0``:
  one request per connection), and a request whose head takes longer than :data:`HEAD_S` is
  answered 400. A request body must keep coming: from the app's first read, its bytes must
  arrive within :data:`BODY_S` plus a second for every :data:`MIN_RATE` bytes already received
  (an average of 500 bytes a second after a 10 s start, Apache ``mod_reqtimeout``'s rule), or
  the request is answered 408 and the connection closed (:class:`BodyInput`). A body sent a
  byte every 2 s is cut after 10 s; a 300 KB upload at 2 KB/s (16 kbit/s) is never near the
  limit, and may stall for minutes once it is under way.
- **A body the app did not read is not read for it beyond** :data:`DISCARD_MAX`: after the
  response (a 413 before the body, say) the connection is closed instead of reading megabytes
  to reach the next request.
- **No access-log bookkeeping when there is no access log.** gunicorn's handler builds two
  datetimes and a response record for every request before its logger finds nothing to write.

gunicorn's ``max_requests`` and its ``pre_request`` / ``post_request`` hooks do not apply to
``pywsgi`` workers; ``contest/gunicorn_conf.py`` sets none of them.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import re
import socket
import time
from typing import Any

import gevent
from gevent.monkey import get_original
from gevent.pywsgi import Input, OldMessage
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

SLOTS = 256  # workers are numbered by gunicorn's age counter, modulo this
RECHECK_MIN_S = 0.002  # how soon a worker over its share looks again, at first
RECHECK_S = 0.05  # … and at most, while it stays over its share
LIVE_S = 3.0  # a worker whose heartbeat is older than this does not count in the shares
# Connections accepted per turn of the event loop: under load a turn takes tens of milliseconds,
# and taking one per turn left a burst of new connections waiting seconds in the backlog.
ACCEPT_BATCH = 16
HEAD_S = 10.0  # the headers after the request line must arrive within this
BODY_S = 10.0  # a body's first bytes must arrive within this of the app's first read …
MIN_RATE = 500  # … and every MIN_RATE bytes received give it one more second
FRESH_S = 1.0  # a new connection is not closed for another before this, while others can be
DISCARD_MAX = 1024 * 1024  # bytes of a body the app left unread read to keep the connection
LIMIT_FIELD = 8190  # bytes in one header line (gunicorn's limit_request_field_size)
LIMIT_FIELDS = 100  # header lines (gunicorn's limit_request_fields)
_select = get_original("select", "select")  # not gevent's: called with a zero timeout only
_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name (RFC 9110 §5.1)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # not in a field value (RFC 9110 §5.5)

# Open connections and the last heartbeat (time.monotonic(), one clock for every process) per
# worker slot. Created when gunicorn's master loads this class, so the workers it forks share
# them; in any other process they are simply private.
connections = multiprocessing.RawArray(ctypes.c_int32, SLOTS)
heartbeats = multiprocessing.RawArray(ctypes.c_double, SLOTS)
# When each worker's oldest idle connection went idle (0: it has none), and whether it is
# closing one for a waiting connection.
idle_since = multiprocessing.RawArray(ctypes.c_double, SLOTS)
shedding = multiprocessing.RawArray(ctypes.c_int32, SLOTS)


class _Share:
    slot: int | None = None  # this worker's slot (None outside a gunicorn worker)
    keepalive = 5.0
    capacity = 1000  # worker_connections, the same for every worker


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


def sheds(slot: int, now: float, capacity: int) -> bool:
    """Whether the worker in ``slot`` is the one to close an idle connection for a waiting one:
    every worker alive now holds ``capacity`` connections, none is closing one already, and this
    one's oldest idle connection is the oldest of all."""
    chosen = None
    for index in range(SLOTS):
        if now - heartbeats[index] < LIVE_S or index == slot:
            if connections[index] < capacity or shedding[index]:
                return False  # that one takes the waiting connection, or makes room for it
            since = idle_since[index]
            if since and (chosen is None or since < idle_since[chosen]):
                chosen = index
    return chosen == slot


def forget(age: int) -> None:
    """Clear a departed worker's slot (the master's ``child_exit`` hook calls this)."""
    connections[age % SLOTS] = 0
    heartbeats[age % SLOTS] = 0.0
    idle_since[age % SLOTS] = 0.0
    shedding[age % SLOTS] = 0


def _refused(reason: str) -> OldMessage:
    """Headers that make ``pywsgi`` answer 400 and close the connection."""
    message = OldMessage()
    message.status = reason
    return message


def read_head(fp: Any, host_required: bool = False) -> OldMessage:
    """The request's header lines within gunicorn's limits, as the ``OldMessage`` ``pywsgi``
    reads them (names as sent, values without the whitespace around them).

    Two ``Host`` headers are refused, and so is none when ``host_required`` (HTTP/1.1).

    Each line is split at its first colon instead of going through the ``email`` parser
    ``pywsgi`` uses, whose cost every request pays (the measurements, and what the server lost
    without this reader, are in bench/HISTORY.md). A line
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
    hosts = len(message.get_all("host") or [])
    if hosts > 1 or (host_required and not hosts):
        return _refused("Invalid Host")
    return message


class BodyTimeout(BaseException):
    """A request body stopped arriving in time (see :class:`BodyInput`).

    Not an ``Exception``: the app must not catch it and answer as if the body had ended (Flask
    would make it a 500, the autosave lane a hand-over); it ends the request in the handler."""


def body_deadline(started: float, received: int) -> float:
    """When the next bytes of a body whose first read began at ``started`` must have arrived,
    ``received`` bytes in: :data:`BODY_S` plus a second per :data:`MIN_RATE` bytes."""
    return started + BODY_S + received / MIN_RATE


class _TimedReader:
    """The connection's buffered reader, as :class:`gevent.pywsgi.Input` uses it, with each
    wait for bytes bounded by :func:`body_deadline`. Reads wait for at most one arrival at a
    time (``read1``, ``peek``), so every arrival moves the deadline."""

    def __init__(self, rfile: Any) -> None:
        self.rfile = rfile
        self.started: float | None = None
        self.received = 0
        self.expired = False

    def _arrival(self, wait: Any, size: int) -> bytes:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        if self.expired:
            raise BodyTimeout
        remaining = body_deadline(self.started, self.received) - now
        try:
            with gevent.Timeout(max(remaining, 0.0), BodyTimeout):
                data: bytes = wait(size)
        except BodyTimeout:
            self.expired = True
            raise
        return data

    def read(self, size: int = -1) -> bytes:
        parts = []
        while size != 0:
            data = self._arrival(self.rfile.read1, size if size > 0 else 65536)
            if not data:
                break
            self.received += len(data)
            parts.append(data)
            size = max(size - len(data), 0) if size > 0 else size
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        parts = []
        while size != 0:
            buffered = self._arrival(self.rfile.peek, 1)
            if not buffered:
                break
            end = buffered.find(b"\n") + 1 or len(buffered)
            data = self.rfile.read(min(end, size) if size > 0 else end)  # from the buffer
            self.received += len(data)
            parts.append(data)
            size = max(size - len(data), 0) if size > 0 else size
            if data.endswith(b"\n"):
                break
        return b"".join(parts)


class BodyInput(Input):
    """``pywsgi``'s request body with :class:`_TimedReader`'s deadline, and a discard of what
    the app left unread bounded by :data:`DISCARD_MAX` (past it, or past the deadline, the body
    is ``abandoned`` and the handler closes the connection)."""

    def __init__(self, rfile: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(_TimedReader(rfile), *args, **kwargs)
        self.abandoned = False

    def _discard(self) -> None:
        if self._chunked_input_error or self.abandoned:
            return
        left = (self.content_length or 0) - self.position
        if not self.chunked_input and left <= 0:
            return
        if left > DISCARD_MAX:
            self.abandoned = True
            return
        self.send_100_continue_enabled = False  # the app did not want it: no "100 Continue"
        try:
            discarded = 0
            while discarded <= DISCARD_MAX:
                data = self.read(16384)
                if not data:
                    return
                discarded += len(data)
        except BodyTimeout:
            pass
        self.abandoned = True


_REQUEST_TIMEOUT = [("Content-Length", "0"), ("Connection", "close")]


class FairHandler(PyWSGIHandler):
    wsgi_input: BodyInput
    served = False  # whether a request came on this connection

    def read_requestline(self) -> Any:
        gevent.sleep(0)
        server = self.server
        server.idle[self] = (gevent.getcurrent(), time.monotonic())  # closed for a new one, maybe
        server.publish_idle()
        try:
            with gevent.Timeout(_Share.keepalive or HEAD_S, False):
                return super().read_requestline()
            return ""  # idle too long: the connection is closed
        finally:
            del server.idle[self]
            server.publish_idle()

    def MessageClass(self, fp: Any, *args: Any) -> OldMessage:  # pywsgi's name
        return read_head(fp, host_required=self.request_version == "HTTP/1.1")

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        plain = self.wsgi_input
        self.wsgi_input = BodyInput(
            plain.rfile, plain.content_length, plain.socket, plain.chunked_input
        )
        if environ["wsgi.input"] is plain:  # not an upgraded connection
            environ["wsgi.input"] = self.wsgi_input
        return environ

    def run_application(self) -> None:
        try:
            super().run_application()
        except BodyTimeout:
            self.wsgi_input.abandoned = True
            self.close_connection = True
            if not self.response_length:  # else the closed connection is the only answer left
                self.start_response("408 Request Timeout", _REQUEST_TIMEOUT[:])
                self.write(b"")

    def handle_one_response(self) -> None:
        self.served = True
        super().handle_one_response()
        if self.wsgi_input.abandoned:  # its unread rest would be taken for the next request
            self.close_connection = True

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


def has_nothing_waiting(sock: Any) -> bool:
    """Whether a connection has nothing unread (or is closed by the client): nothing is lost by
    closing it. Checked without waiting."""
    try:
        return not sock._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # BlockingIOError: nothing to read
        return True


class BalancedServer(PyWSGIServer):
    """Accepts up to :data:`ACCEPT_BATCH` waiting connections per turn of the event loop, each
    only while this worker is within its share. A connection counts from its accept to its
    close, so a batch sees the connections it has just taken. With every connection taken, the
    oldest idle one is closed to make way (:meth:`shed_idle`).

    A pause (over its share, or full) lasts :attr:`recheck`, or until a slot of its own frees
    when full: a full worker looks again, rather than waiting for its own slots only, because
    the one to close a connection (:func:`sheds`) is chosen from the numbers of the moment."""

    max_accept = 1  # the base class takes one per call; _do_read loops over it
    recheck = RECHECK_MIN_S
    _room_awaited = False  # a wake-up is linked to the pool's next free slot
    _shed: gevent.Greenlet | None = None  # the greenlet of the connection being closed

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Handlers waiting for a request line, oldest first, and the greenlet of each.
        self.idle: dict[Any, tuple[gevent.Greenlet, float]] = {}

    def _do_read(self) -> None:
        slot = _Share.slot
        for _ in range(ACCEPT_BATCH):
            now = time.monotonic()
            if slot is not None and held_back(slot, now):
                self._pause()
                return
            if self.full():
                if self.connection_waiting() and (
                    slot is None or sheds(slot, now, _Share.capacity)
                ):
                    self.shed_idle()
                self._pause(until_room=True)
                return
            self.recheck = RECHECK_MIN_S
            self._accepted = False
            super()._do_read()
            if not self._accepted or self._watcher is None:
                return  # nothing more waiting, or the base class paused accepting

    def _pause(self, until_room: bool = False) -> None:
        """Stop accepting for :attr:`recheck` (doubled for the next pause, up to
        :data:`RECHECK_S`), or until a slot frees when ``until_room``."""
        self.stop_accepting()
        self._timer = self.loop.timer(self.recheck)
        self._timer.start(self._start_accepting_if_started)
        self.recheck = min(self.recheck * 2, RECHECK_S)
        if until_room and not self._room_awaited:
            self._room_awaited = True
            self.pool._semaphore.rawlink(self._room)

    def connection_waiting(self) -> bool:
        """Whether a connection is waiting now: every worker is woken for one, and the one that
        took it may already have."""
        return bool(_select([self.socket], [], [], 0)[0])

    def _room(self, _semaphore: Any) -> None:
        self._room_awaited = False
        self._start_accepting_if_started()

    def shed_idle(self) -> bool:
        """Close the connection idle longest with nothing sent on it (its greenlet ends, which
        frees its slot in the pool); False when there is none.

        A new connection that has not sent its first request is passed over for
        :data:`FRESH_S` while there is another to close: its request may be on its way, and a
        client retries a request on a reused connection that closed, not on a new one."""
        if self._shed is not None:
            return True  # one at a time: its slot is about to free
        now = time.monotonic()
        fallback = None
        for handler, (greenlet, since) in self.idle.items():
            if not has_nothing_waiting(handler.socket):
                continue
            if handler.served or now - since >= FRESH_S:
                fallback = greenlet
                break
            fallback = fallback or greenlet
        if fallback is None:
            return False
        self._shed = fallback
        if _Share.slot is not None:
            shedding[_Share.slot] = 1
        fallback.link(self._shed_done)
        fallback.kill(block=False)
        return True

    def _shed_done(self, _greenlet: Any) -> None:
        self._shed = None
        if _Share.slot is not None:
            shedding[_Share.slot] = 0

    def publish_idle(self) -> None:
        """Say in the shared memory when this worker's oldest idle connection went idle."""
        if _Share.slot is not None:
            idle_since[_Share.slot] = next(iter(self.idle.values()))[1] if self.idle else 0.0

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
        _Share.capacity = self.worker_connections
        connections[_Share.slot] = 0
        idle_since[_Share.slot] = 0.0
        shedding[_Share.slot] = 0
        heartbeats[_Share.slot] = 0.0  # counted once it serves (the first notify)
        super().init_process()

    def notify(self) -> None:
        super().notify()
        if _Share.slot is not None:
            heartbeats[_Share.slot] = time.monotonic()
