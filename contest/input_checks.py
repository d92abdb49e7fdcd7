"""What every request must fit before a view sees it: ids within the database's integer range,
strings without NUL characters.

Both are refused the same way on every database. An id PostgreSQL's ``integer`` cannot hold (or
SQLite's 64 bits, or an advisory lock's key) would otherwise reach a query and fail there; a NUL
character, which PostgreSQL cannot store in text, would fail at the insert on PostgreSQL while
SQLite stores it. (A JSON body nested too deeply to parse is refused here too, as 422.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.routing import IntegerConverter

# Every primary key is a 32-bit ``integer`` column (PostgreSQL's, so the same on SQLite).
MAX_ID = 2**31 - 1


def digits_at_most(limit: int) -> str:
    """A regular expression matching the decimal numbers 0 … ``limit``."""
    text = str(limit)
    parts = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        rest = len(text) - i - 1
        low = 1 if i == 0 and len(text) > 1 else 0
        high = int(digit) if rest == 0 else int(digit) - 1
        if high >= low:
            parts.append(text[:i] + f"[{low}-{high}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "|".join(f"(?:{part})" for part in parts)


class IdConverter(IntegerConverter):
    """``<int:…>`` matching only ids a row can have (0 … 2^31 − 1): any other number is a 404.

    Registered as the app's ``int`` converter, so every route with an id path, API and pages,
    takes it. The range is in the pattern, not only in ``max``: werkzeug answers a URL whose
    value fails ``max`` with 405 when another method's route has the same path. The OpenAPI
    document shows the range (flask-smorest reads ``max``).
    """

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, **kwargs: Any):
        max_ = kwargs.pop("max", None)
        super().__init__(map, fixed_digits, min, MAX_ID if max_ is None else max_, **kwargs)
        if max_ is None and not fixed_digits and not self.signed:
            self.regex = f"(?:{digits_at_most(MAX_ID)})"


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included (without recursion: any depth will do)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def nul_locations() -> list[str]:
    """Where this request carries a NUL character: ``query``, ``form``, ``files``, ``json``."""
    found = []
    if any("\x00" in s for s in _strings(list(request.args.items(multi=True)))):
        found.append("query")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any("\x00" in s for s in _strings(list(request.form.items(multi=True)))):
                found.append("form")
            files = request.files.items(multi=True)
            names = [name for key, upload in files for name in (key, upload.filename or "")]
            if any("\x00" in name for name in names):
                found.append("files")
        elif request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:  # nested deeper than Python's parser goes: not for us either
                _refuse("json", _("The input is not valid."))
            if any("\x00" in s for s in _strings(body)):
                found.append("json")
    return found


def _refuse(where: str | list[str], message: str) -> NoReturn:
    """Answer 422, naming where (http_errors shows ``messages`` as the error's ``fields``, as for
    a schema's refusal)."""
    error = UnprocessableEntity(message)
    locations = [where] if isinstance(where, str) else where
    error.data = {  # type: ignore[attr-defined]
        "message": message,
        "messages": {location: [message] for location in locations},
    }
    raise error


def _refuse_nul() -> None:
    """Answer 422 (naming where) to a request with a NUL character in a string."""
    locations = nul_locations()
    if locations:
        _refuse(locations, _("Text must not contain NUL characters."))


def init_app(app: Flask) -> None:
    """Take the id converter for ``<int:…>`` (before any route is added) and check strings."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_nul)
