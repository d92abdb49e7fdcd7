"""A small HTTP/1.1 client on asyncio streams: keep-alive, cookies, chunked bodies, SSE.

The harness drives thousands of contestants and spectators from one process; a dependency-free
client that parses only what the platform sends keeps the load generator cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "contest-bench/1"
RETRYABLE = (
    ConnectionError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    asyncio.TimeoutError,
    OSError,
)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ProtocolError(ConnectionError):
    """The server sent something this client does not parse (or closed mid-response)."""


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], list[str]]:
    """Status, headers (lower-case names; repeated ones joined) and the raw Set-Cookie values."""
    line = await reader.readline()
    if not line:
        raise ProtocolError("connection closed before the status line")
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ProtocolError(f"bad status line {line!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    cookies: list[str] = []
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        key, text = name.strip().lower(), value.strip()
        if key == "set-cookie":
            cookies.append(text)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return status, headers, cookies


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body (b"" for the last one)."""
    size_line = await reader.readline()
    if not size_line:
        raise ProtocolError("connection closed inside a chunked body")
    size = int(size_line.split(b";")[0].strip() or b"0", 16)
    if size == 0:
        await reader.readline()  # the CRLF after the last chunk (no trailers here)
        return b""
    data = await reader.readexactly(size + 2)
    return data[:-2]


@dataclass
class Client:
    """One keep-alive connection with a cookie jar: one contestant's phone."""

    host: str
    port: int
    device_id: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    timeout: float = 60.0
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20
            )
        return self._reader, self._writer

    def _head(self, method: str, path: str, body: bytes | None, extra: Mapping[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines.append(f"User-Agent: {USER_AGENT}")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if self.device_id:
            lines.append(f"X-Device-Id: {self.device_id}")
        if method != "GET" and self.csrf:
            lines.append(f"X-CSRFToken: {self.csrf}")
        if body is not None:
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(body)}")
        elif method != "GET":
            lines.append("Content-Length: 0")
        lines.extend(f"{k}: {v}" for k, v in extra.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _keep_cookies(self, raw: list[str]) -> None:
        for cookie in raw:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in cookie.lower() or value == "":
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    async def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request on the kept-alive connection. Connection errors propagate (the caller
        decides whether to retry); the broken connection is dropped first."""
        body = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        try:
            return await asyncio.wait_for(
                self._exchange(method, path, body, headers or {}), self.timeout
            )
        except BaseException:
            await self.close()
            raise

    async def _exchange(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Response:
        reader, writer = await self._connect()
        writer.write(self._head(method, path, body, headers) + (body or b""))
        await writer.drain()
        status, head, cookies = await read_head(reader)
        self._keep_cookies(cookies)
        if head.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while chunk := await read_chunk(reader):
                parts.append(chunk)
            data = b"".join(parts)
        else:
            data = await reader.readexactly(int(head.get("content-length", "0")))
        if head.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, head, data)

    async def request_retrying(
        self,
        method: str,
        path: str,
        payload: Any = None,
        attempts: int = 8,
        on_retry: Any = None,
    ) -> Response:
        """Retry on connection errors and 5xx (a phone retries), with a short backoff;
        ``on_retry`` hears of each retried error or 5xx response."""
        delay = 0.05
        for attempt in range(attempts):
            try:
                response = await self.request(method, path, payload)
            except RETRYABLE as exc:
                if attempt == attempts - 1:
                    raise
                if on_retry is not None:
                    on_retry(exc)
            else:
                if response.status < 500 or attempt == attempts - 1:
                    return response
                if on_retry is not None:
                    on_retry(ProtocolError(f"HTTP {response.status}"))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")


async def sse_events(
    host: str,
    port: int,
    path: str,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[tuple[str, str]]:
    """Yield (event, data) of a server-sent-events stream until the server closes it;
    ``headers`` are sent too (a session cookie)."""
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    try:
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
                f"Accept: text/event-stream\r\n{extra}\r\n"
            ).encode()
        )
        await writer.drain()
        status, head, _cookies = await asyncio.wait_for(read_head(reader), timeout)
        if status != 200:
            raise ProtocolError(f"stream answered {status}")
        chunked = head.get("transfer-encoding", "").lower() == "chunked"
        buffer = b""
        event, data = "message", ""
        while True:
            if chunked:
                chunk = await read_chunk(reader)
            else:
                chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                if not line:
                    if data:
                        yield event, data
                    event, data = "message", ""
                elif line.startswith("data:"):
                    data = line[5:].lstrip() if not data else data + "\n" + line[5:].lstrip()
                elif line.startswith("event:"):
                    event = line[6:].strip()
    finally:
        writer.close()
