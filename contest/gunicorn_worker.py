"""The gunicorn worker class production runs: gevent's own HTTP server, fair turns, even shares.

gunicorn's ``gevent`` worker parses HTTP with gunicorn's pure-Python parser; its ``gevent_pywsgi``
worker hands each connection to gevent's ``pywsgi`` server, which does less per request (measured
with ``bench/harness.py``; bench/README.md). Three things are added here:

- **A turn per request.** A gevent socket read that finds data already buffered returns without
  switching greenlets, so a keep-alive client that sends its next request as soon as it has the
  answer would be served again and again while other connections wait. The handler yields once
  before reading each request line, so the ready connections are served in turn.
- **Connections shared evenly between the processes.** All workers accept from one listening
  socket, and whichever is awake takes what is waiting: 64 keep-alive connections opened at once
  were seen split 41/23, so one process queued twice the requests of the other while it idled.
  Each worker counts its open connections in memory shared with the others (created by the
  master before it forks) and stops accepting for a moment while it holds more than its share
  plus one, leaving the waiting connections to the others — nginx's ``accept_mutex`` idea.
- **Idle and slow connections closed**, as gunicorn's own workers do: a keep-alive connection
  that sends no request line within gunicorn's ``keepalive`` seconds is closed, and a request
  whose head takes longer than :data:`HEAD_S` is answered 400.
- **No access-log bookkeeping when there is no access log.** gunicorn's handler builds two
  datetimes and a response record for every request before its logger finds nothing to write.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

SLOTS = 64  # workers are numbered by gunicorn's age counter, modulo this
RECHECK_S = 0.05  # how soon a worker over its share looks again
# Connections accepted per turn of the event loop: under load a turn takes tens of milliseconds,
# and taking one per turn left a burst of new connections waiting seconds in the backlog.
ACCEPT_BATCH = 16
HEAD_S = 10.0  # the headers after the request line must arrive within this

# Open connections per worker slot. Created when gunicorn's master loads this class, so the
# workers it forks share it; in any other process it is simply private.
connections = multiprocessing.RawArray(ctypes.c_int32, SLOTS)


class _Share:
    slot: int | None = None  # this worker's slot (None outside a gunicorn worker)
    workers = 1
    keepalive = 5.0


def over_share(mine: int, total: int, workers: int) -> bool:
    """True when a worker holding ``mine`` of ``total`` connections has more than its share + 1."""
    return mine * workers > total + workers


def forget(age: int) -> None:
    """Zero a departed worker's count (the master's ``child_exit`` hook calls this)."""
    connections[age % SLOTS] = 0


class FairHandler(PyWSGIHandler):
    def read_requestline(self) -> Any:
        gevent.sleep(0)
        with gevent.Timeout(_Share.keepalive, False):
            return super().read_requestline()
        return ""  # idle too long: the connection is closed

    def read_request(self, raw_requestline: str) -> Any:
        with gevent.Timeout(HEAD_S, False):
            return super().read_request(raw_requestline)
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
            if slot is not None and over_share(connections[slot], sum(connections), _Share.workers):
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
        _Share.workers = max(1, int(self.cfg.workers))
        _Share.keepalive = float(self.cfg.keepalive) or 5.0
        connections[_Share.slot] = 0
        super().init_process()
