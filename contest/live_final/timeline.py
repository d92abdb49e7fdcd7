"""A live round's timeline: every event in order, with the scores after it, as an XLSX workbook.

The same log the state is derived from, so the export is what happened, undone steps included
(marked), and the scores column is what the screens showed after each event.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook

from contest.errors import Conflict, InvalidInput
from contest.live_final import service
from contest.live_final import state as reducer
from contest.services.audit_log import neutralize

BEIJING = timedelta(hours=8)


def rows(round_id: int) -> list[list[Any]]:
    """Header and one row per event: seq, Beijing time, action, team, details, scores after."""
    setup = service.setup_for(round_id)
    events = service.events_for(round_id)
    names = {team["id"]: team["name"] for team in setup["teams"]}
    undone = {event["payload"]["seq"] for event in events if event["kind"] == "undo"}
    table: list[list[Any]] = [
        [
            _("No."),
            _("Time (Beijing)"),
            _("Action"),
            _("Team"),
            _("Details"),
            _("Undone"),
            *[name for name in names.values()],
        ]
    ]
    after = reducer.initial(setup)
    for number, event in enumerate(events):
        if event["kind"] == "undo":
            after = reducer.replay(setup, events[: number + 1])
        else:
            # (an event that applied once may not after an undo took back what it stood on)
            with contextlib.suppress(Conflict, InvalidInput):
                after = reducer.apply(after, event)
        at = datetime.fromtimestamp(event["at_ms"] / 1000, UTC) + BEIJING
        table.append(
            [
                event["seq"],
                at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                event["kind"],
                neutralize(names.get(event["team_id"], "")) if event["team_id"] else "",
                neutralize(_details(event["payload"])),
                _("yes") if event["seq"] in undone else "",
                *[after["scores"][str(team_id)] for team_id in names],
            ]
        )
    return table


def _details(payload: dict[str, Any]) -> str:
    return "; ".join(f"{key}={value}" for key, value in sorted(payload.items()))


def xlsx(round_id: int) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Timeline")
    for row in rows(round_id):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
