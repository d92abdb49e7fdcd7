"""Fuzzing the OpenAPI document: schemathesis calls every operation, as a contestant and as an
organizer, with data valid and invalid for its schema; no answer may be a server error or break
the documented response schema.

The app is called through WSGI, with a contest, an open round, a bank, an attempt and an import
in the database so that most calls reach past the 404 of a made-up id. The number of examples per
operation and mode comes from ``CONTEST_FUZZ_EXAMPLES`` (a short run by default; ``make fuzz``
asks for a long one). A one-line summary is printed: operations, requests, server errors and
schema violations.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask

from contest.extensions import db
from contest.models import Role
from question_bank.models import ImportJob
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from tests.support.fuzz import Tally, run_operation

# Ending the session would leave the rest of the run anonymous: it is called last.
LAST = {"logout"}


def known_ids(app: Flask) -> dict[str, int]:
    """Rows the fuzzed calls can find: a bank, a contest with an open round (unlimited
    attempts), a contestant's attempt in it and an import of the bank."""
    with app.app_context():
        bank_id = published_bank()
        round_ = paper_round(bank_id, attempts_allowed=0)
        ids = {
            "bank_id": bank_id,
            "contest_id": round_.contest_id,
            "round_id": round_.id,
            "position": 1,
        }
        job = ImportJob(bank_id=bank_id, filename="bank.json", format="json", content=b"[]")
        db.session.add(job)
        db.session.commit()
        ids["import_id"] = job.id
        return ids


def signed_in(app: Flask, username: str, role: Role) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and cookies of a logged-in browser: its CSRF token and session cookie."""
    with app.app_context():
        add_user(username, role)
    client = app.test_client()
    assert api_login(client, username, PASSWORD).status_code == 200
    token = csrf_token(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    return {"X-CSRFToken": token, "X-Device-Id": "fuzz"}, {"session": cookie.value}


def fuzz(
    schema: Any, auth: tuple[dict[str, str], dict[str, str]], ids: dict[str, int], tally: Tally
) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.definition.raw.get("operationId") in LAST)
    for operation in operations:
        name = operation.definition.raw.get("operationId") or operation.label
        tally.operations.add(name)
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            run_operation(operation, mode, name, auth, ids, tally)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_fuzzing_the_openapi_document_finds_no_server_error(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = known_ids(app)
    config = schemathesis.Config.from_dict({"max-stream-events": 1, "request-timeout": 5})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    tally = Tally()
    for username, role in (
        ("fuzz-contestant", Role.CONTESTANT),
        ("fuzz-organizer", Role.ADMIN),
    ):
        fuzz(schema, signed_in(app, username, role), ids, tally)
    summary = (
        f"schemathesis: {len(tally.operations)} operations, {tally.requests} requests, "
        f"{len(tally.server_errors)} server errors, {len(tally.violations)} schema violations "
        f"(statuses {dict(sorted(tally.statuses.items()))})"
    )
    with capsys.disabled():  # the figures belong in every run's log, passing or not
        print("\n" + summary)
    assert len(tally.operations) >= 25, summary
    assert tally.server_errors == [] and tally.violations == [], "\n".join(
        [summary, *tally.server_errors[:20], *tally.violations[:20]]
    )
