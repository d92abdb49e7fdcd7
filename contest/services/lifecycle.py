"""The life of a contest: draft → published → finished → archived; copying any contest, and
deleting a draft.

- A **draft** is the organizers' alone: contestants and spectators get 404 for it, its rounds
  and its boards (the renderer keeps no board of a draft), and no list shows it. Organizers read
  each round's paper as contestants would on the round's preview page (a paper drawn from the
  blueprint on the fly: no attempt, nothing on a board).
- **Publishing** checks every round first and refuses with every problem at once
  (:func:`publish_problems`).
- A **finished** contest stays readable (boards, results, review) but takes no new attempts
  and no registrations. Finishing is refused while a round with a closing time has not closed,
  or while an attempt is in progress: what contestants were promised runs to its end.
- A finished contest can be **reopened** (published again), an archived one **unarchived**
  (finished again): a click too far is taken back.
- An **archived** contest (from finished) leaves every list, the public ones and the organizers'
  default one, and keeps every record: its pages and public boards stay readable by their links.
  It is read-only for organizers (:func:`contest.services.contests.ensure_editable`); a
  finished contest takes no new round.
- **Copying** makes a new draft with the settings, rounds, blueprints and organizations (no
  attempts, registrations or boards); only a draft can be **deleted**, with its rounds.

Every transition is written to the audit log in the same transaction (the caller commits).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from contest.errors import Conflict, InvalidInput
from contest.extensions import db
from contest.i18n import to_local
from contest.live_final import setup as live_setup
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Contest,
    ContestStatus,
    IntegrityEvent,
    Registration,
    RegistrationMode,
    Round,
    User,
)
from contest.services import amendments, audit, blueprints, timing
from contest.services import contests as contest_service
from contest.services.leaderboards import boards_of, settings_changed
from question_bank.domain import Problem

TITLE_MAX = 200  # Contest.title's length


class PublishRefused(InvalidInput):
    """The contest cannot be published yet; :attr:`problems` lists every reason."""

    code = "publish_refused"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("；".join(self.problems))


def _locked(contest_id: int) -> Contest:
    """The contest, its row locked to the commit (PostgreSQL): two transitions of one contest
    at once run one after the other, and the second sees the first's status."""
    contest = db.session.get(Contest, contest_id, with_for_update=True, populate_existing=True)
    if contest is None:
        return contest_service.get_contest(contest_id)  # NotFound
    return contest


def _require(contest: Contest, status: ContestStatus, message: str) -> None:
    if contest.status is not status:
        raise Conflict(message, code="wrong_status")


# What organizers may still change ----------------------------------------------------------------


def _transition(
    contest: Contest, action: str, status: ContestStatus, actor: User | None, **stamps: Any
) -> None:
    """Move the contest to ``status``, set its time stamps and record the move."""
    before = contest.status.value
    contest.status = status
    for key, value in stamps.items():
        setattr(contest, key, value)
    audit.record(
        action,
        target_type="contest",
        target_id=contest.id,
        contest_id=contest.id,
        before={"status": before},
        after={
            "status": status.value,
            **{k: v.isoformat() if v is not None else None for k, v in stamps.items()},
        },
        actor=actor,
    )
    db.session.flush()


# Publishing --------------------------------------------------------------------------------------


def _row_problem(round_: Round, problem: Problem) -> str:
    text = problem.render(_)
    if problem.line:
        return _(
            "%(round)s, blueprint row %(n)d: %(problem)s",
            round=round_.title,
            n=problem.line,
            problem=text,
        )
    return _("%(round)s: %(problem)s", round=round_.title, problem=text)


def _blueprint_problems(round_: Round) -> list[str]:
    """What stops the bank from filling the round's blueprint (a live round has none: its
    segments drew their questions when it was set up)."""
    if round_.mode == "live":
        return []
    try:
        rows = blueprints.blueprint_rows(round_.blueprint or [])
    except InvalidInput as exc:
        return [_("%(round)s: %(problem)s", round=round_.title, problem=exc.message)]
    return [_row_problem(round_, p) for p in blueprints.check_blueprint(round_.bank_id, rows)]


def _window_problems(round_: Round, previous: Round | None, now: datetime) -> list[str]:
    """The round's window: in order, not over already, and, after a round that qualifies
    contestants, opening once that round has closed (qualifiers are known only then)."""
    problems = []
    opens, closes = round_.opens_at, round_.closes_at
    if opens and closes and closes <= opens:
        problems.append(_("%(round)s closes before it opens.", round=round_.title))
    elif closes and closes <= now:
        problems.append(_("%(round)s has closed already.", round=round_.title))
    if previous is not None and (previous.qualification or {}).get("kind"):
        if previous.closes_at is None:
            problems.append(
                _(
                    "%(previous)s qualifies contestants for %(round)s but has no closing time: "
                    "qualifiers are known only once it closes.",
                    previous=previous.title,
                    round=round_.title,
                )
            )
        elif opens is None or opens < previous.closes_at:
            problems.append(
                _(
                    "%(round)s opens before %(previous)s closes, and only the qualifiers of "
                    "%(previous)s take it.",
                    previous=previous.title,
                    round=round_.title,
                )
            )
    return problems


def _settings_problems(contest: Contest, round_: Round) -> list[str]:
    """The checks a round passed when saved that a later contest change may have broken."""
    try:
        contest_service.check_board_keeps_the_score(contest, round_)
    except InvalidInput as exc:
        return [_("%(round)s: %(problem)s", round=round_.title, problem=exc.message)]
    return []


def window_problems(contest: Contest, now: datetime) -> list[str]:
    """The window checks of publishing alone (order between rounds, a close already past): on
    a published contest they are warnings, since moving a close earlier is legitimate."""
    problems = []
    previous: Round | None = None
    for round_ in contest.rounds:
        problems += _window_problems(round_, previous, now)
        previous = round_
    return problems


def publish_problems(contest: Contest, now: datetime) -> list[str]:
    """Every reason the contest cannot be published now (empty: it can)."""
    problems = []
    if (
        contest.registration_mode is RegistrationMode.INVITE
        and not (contest.invite_code or "").strip()
    ):
        problems.append(_("An invite-only contest needs an invite code."))
    if not contest.rounds:
        problems.append(_("The contest has no round yet."))
    previous: Round | None = None
    for round_ in contest.rounds:
        problems += _blueprint_problems(round_)
        problems += _window_problems(round_, previous, now)
        problems += _settings_problems(contest, round_)
        previous = round_
    return problems


def round_law_warning(round_: Round, now: datetime) -> str | None:
    """How many questions of the round's pool cite a law version superseded on the day the
    round opens (today for a round always open); None when none do. A warning, never a refusal:
    the questions stay correct for what they cite, and an organizer may keep them."""
    opens = to_local(round_.opens_at or now)
    assert opens is not None
    count = amendments.superseded_in_pool(round_, opens.date())
    if not count:
        return None
    return _(
        "%(n)d questions in this blueprint's pool cite superseded articles.",
        n=count,
    )


def law_warnings(contest: Contest, now: datetime) -> list[str]:
    """:func:`round_law_warning` for every round of the contest, each naming its round."""
    warnings = []
    for round_ in contest.rounds:
        if (warning := round_law_warning(round_, now)) is not None:
            warnings.append(_("%(round)s: %(problem)s", round=round_.title, problem=warning))
    return warnings


def publish(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """Publish a draft (not committed): contestants and spectators see it from the commit on.
    :class:`PublishRefused` lists every problem when it cannot be published yet."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.DRAFT, _("Only a draft can be published."))
    problems = publish_problems(contest, now)
    if problems:
        raise PublishRefused(problems)
    _transition(contest, "contest.publish", ContestStatus.PUBLISHED, actor, published_at=now)
    settings_changed(contest.id)  # its boards are rendered now that they are public
    return contest


# Finishing and archiving -------------------------------------------------------------------------


def finish_problems(contest: Contest, now: datetime) -> list[str]:
    """Why the contest cannot finish yet: rounds with a close still ahead, attempts running."""
    problems = [
        _("%(round)s has not closed yet.", round=r.title)
        for r in contest.rounds
        if r.closes_at is not None and r.closes_at > now
    ]
    running = 0
    for round_ in contest.rounds:
        deadlines = db.session.scalars(
            select(Attempt.deadline_at).where(
                Attempt.round_id == round_.id, Attempt.status == AttemptStatus.IN_PROGRESS
            )
        )
        # One past its deadline and grace is over: the sweep closes it, finished or not.
        running += sum(1 for d in deadlines if d + timedelta(seconds=round_.grace_s) >= now)
    if running:
        problems.append(_("%(n)d attempt(s) are still in progress.", n=running))
    return problems


def finish(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """Finish a published contest (not committed): it takes no new attempts or registrations
    and stays readable. Refused (409) while a round is still to close or an attempt runs."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.PUBLISHED, _("Only a published contest can be finished."))
    for round_ in contest.rounds:  # starts under way commit first, later ones see the finish
        timing.lock_round_timing(round_.id)
    problems = finish_problems(contest, now)
    if problems:
        raise Conflict("；".join(problems), code="contest_running")
    _transition(contest, "contest.finish", ContestStatus.FINISHED, actor, finished_at=now)
    return contest


def archive(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """Archive a finished contest (not committed): off every list, every record kept."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.FINISHED, _("Only a finished contest can be archived."))
    _transition(contest, "contest.archive", ContestStatus.ARCHIVED, actor, archived_at=now)
    return contest


def reopen(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """Publish a finished contest again (not committed): it takes attempts and registrations
    again, in the rounds still open (a round without a close is open again)."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.FINISHED, _("Only a finished contest can be reopened."))
    _transition(contest, "contest.reopen", ContestStatus.PUBLISHED, actor, finished_at=None)
    return contest


def unarchive(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """Bring an archived contest back to finished (not committed): on the lists again and
    editable as a finished contest is."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.ARCHIVED, _("Only an archived contest can be unarchived."))
    _transition(contest, "contest.unarchive", ContestStatus.FINISHED, actor, archived_at=None)
    return contest


# Copying and deleting ----------------------------------------------------------------------------


def copy_title(title: str) -> str:
    """``<title>（副本）``, numbered when taken (``（副本 2）`` …), within the title's length."""
    number = 1
    while True:
        suffix = "（副本）" if number == 1 else f"（副本 {number}）"
        candidate = title[: TITLE_MAX - len(suffix)] + suffix
        if db.session.scalar(select(Contest.id).where(Contest.title == candidate)) is None:
            return candidate
        number += 1


CONTEST_COPIED = (
    "description",
    "schedule",
    "registration_mode",
    "invite_code",
    "board_visibility",
    "mask_names",
    "signup_open",
    "signup_fields",
    "signup_notice",
)


def copy_contest(contest_id: int, *, now: datetime, actor: User | None = None) -> Contest:
    """A new draft with the contest's settings, rounds (blueprints and every setting but the
    reveal) and organizations; no attempts, registrations or boards (not committed)."""
    source = contest_service.get_contest(contest_id)
    target = Contest(
        title=copy_title(source.title),
        status=ContestStatus.DRAFT,
        created_at=now,
        **{key: copy.deepcopy(getattr(source, key)) for key in CONTEST_COPIED},
    )
    target.organizations = list(source.organizations)
    db.session.add(target)
    db.session.flush()
    for round_ in source.rounds:
        values = {key: copy.deepcopy(getattr(round_, key)) for key in contest_service.ROUND_FIELDS}
        copied = Round(
            contest_id=target.id,
            position=round_.position,
            mode=round_.mode,
            live=copy.deepcopy(round_.live),
            **values,
        )
        db.session.add(copied)
        if round_.mode == "live":
            db.session.flush()
            live_setup.copy_run_sheet(round_.id, copied.id)
    audit.record(
        "contest.copy",
        target_type="contest",
        target_id=target.id,
        contest_id=target.id,
        before={"source_id": source.id, "title": source.title},
        after={"title": target.title, "rounds": len(source.rounds)},
        actor=actor,
    )
    db.session.flush()
    db.session.refresh(target)
    return target


def delete_draft(contest_id: int, *, actor: User | None = None) -> None:
    """Delete a draft with its rounds and organizer enrolments (not committed); any other
    contest keeps its records (409)."""
    contest = _locked(contest_id)
    _require(contest, ContestStatus.DRAFT, _("Only a draft can be deleted."))
    round_ids = [r.id for r in contest.rounds]
    audit.record(
        "contest.delete",
        target_type="contest",
        target_id=contest.id,
        contest_id=contest.id,
        before={"title": contest.title, "rounds": [r.title for r in contest.rounds]},
        actor=actor,
    )
    settings_changed(contest.id, hide=boards_of(contest))
    # Explicit deletes: SQLite enforces the foreign keys' ON DELETE only when told to. A draft
    # has no attempts (contestants cannot reach it); any left are removed with their rows.
    attempts = select(Attempt.id).where(Attempt.round_id.in_(round_ids))
    for table, column in (
        (AttemptItem, AttemptItem.attempt_id),
        (IntegrityEvent, IntegrityEvent.attempt_id),
    ):
        db.session.execute(delete(table).where(column.in_(attempts)))
    db.session.execute(delete(Attempt).where(Attempt.round_id.in_(round_ids)))
    db.session.execute(delete(Registration).where(Registration.contest_id == contest.id))
    for round_ in contest.rounds:
        db.session.delete(round_)
    db.session.delete(contest)  # with its rows of contest_organization
    db.session.flush()
