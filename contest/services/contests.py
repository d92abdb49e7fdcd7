"""Contests and rounds: setting them up, checking blueprints, registering contestants."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from contest.auth import throttle
from contest.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts
from contest.extensions import db
from contest.models import (
    Attempt,
    AttemptStatus,
    BoardVisibility,
    Contest,
    ContestStatus,
    IntegrityAction,
    Organization,
    Registration,
    RegistrationMode,
    ReviewPolicy,
    Role,
    Round,
    ScorePolicy,
    ScoreVisibility,
    User,
)
from contest.services import audit
from contest.services.blueprints import blueprint_rows, check_blueprint
from contest.services.leaderboards import (
    boards_of,
    counting_entries,
    render_after_commit,
    settings_changed,
)
from contest.services.timing import retime_open_attempts, round_status
from question_bank.domain import Problem
from question_bank.grading import MultipleRule
from question_bank.ranking import Entry, qualifiers


class BlueprintShortfall(InvalidInput):
    """The bank cannot fill the blueprint; :attr:`problems` names every short row."""

    code = "blueprint_shortfall"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.render(_) for p in problems))


# What an archived contest (read-only) and a finished one (no new round) refuse.
EDITS = ("contest", "round", "new_round", "enrol", "signup")


def ensure_editable(contest: Contest, what: str) -> None:
    """Refuse (409) a change an archived contest, read-only, or a finished one (no new round)
    does not take. ``what``: one of :data:`EDITS`."""
    if what not in EDITS:
        raise ValueError(what)
    if contest.status is ContestStatus.ARCHIVED:
        raise Conflict(
            _("The contest is archived and read-only: unarchive it to change it."),
            code="contest_archived",
        )
    if contest.status is ContestStatus.FINISHED and what == "new_round":
        raise Conflict(
            _("The contest is finished: it takes no new round (reopen it first)."),
            code="contest_finished",
        )


def get_contest(contest_id: int) -> Contest:
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    return contest


def get_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound(_("No round %(id)s.", id=round_id))
    return round_


# Contests contestants and spectators can reach (a draft is the organizers' alone: 404 for
# everyone else), and those listed for them (an archived contest keeps its pages, off the lists).
VISIBLE_STATUSES = (ContestStatus.PUBLISHED, ContestStatus.FINISHED, ContestStatus.ARCHIVED)
LISTED_STATUSES = (ContestStatus.PUBLISHED, ContestStatus.FINISHED)


def is_visible(contest: Contest) -> bool:
    """Whether contestants and spectators can reach the contest (it is not a draft)."""
    return contest.status in VISIBLE_STATUSES


def visible_contest(contest_id: int) -> Contest:
    """The contest as contestants and spectators reach it: 404 for a draft, as for no contest."""
    contest = db.session.get(Contest, contest_id)
    if contest is None or not is_visible(contest):
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    return contest


def ensure_takes_entries(status: ContestStatus, contest_id: int) -> None:
    """Registrations and new attempts need a published contest: a draft does not exist for
    contestants (404), a finished or archived contest takes no more (409)."""
    if status not in VISIBLE_STATUSES:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    if status is not ContestStatus.PUBLISHED:
        raise Conflict(
            _("This contest has ended: it takes no new entries or attempts."),
            code="contest_finished",
        )


def fresh_status(contest_id: int) -> ContestStatus | None:
    """The contest's status as committed now (not the session's copy, which may predate a
    transition that committed since)."""
    return db.session.scalar(select(Contest.status).where(Contest.id == contest_id))


def create_contest(title: str, **fields: Any) -> Contest:
    """A new contest (not committed); ``fields`` are Contest columns."""
    if not title.strip():
        raise InvalidInput(_("A contest needs a title."))
    contest = Contest(title=title.strip(), **fields)
    if contest.registration_mode is RegistrationMode.INVITE and not contest.invite_code:
        raise InvalidInput(_("An invite-only contest needs an invite code."))
    db.session.add(contest)
    db.session.flush()
    audit.record(
        "contest.create",
        target_type="contest",
        target_id=contest.id,
        contest_id=contest.id,
        after={"title": contest.title, "status": _audited(contest.status)},
    )
    return contest


def _audited(value: Any) -> Any:
    """A setting as the audit log keeps it (JSON): enums by value, times in ISO form,
    organizations by id."""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):  # stored times are UTC, read back naive from SQLite
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, list) and value and all(isinstance(v, Organization) for v in value):
        return sorted(v.id for v in value)
    if isinstance(value, list | tuple):
        return [_audited(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _audited(v) for k, v in value.items()}
    return value


def changed_fields(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings that differ, before and after, as the audit log keeps them."""
    old = {key: _audited(value) for key, value in before.items()}
    new = {key: _audited(value) for key, value in after.items()}
    keys = [key for key in new if old.get(key) != new[key]]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


ROUND_FIELDS = {
    "title",
    "bank_id",
    "opens_at",
    "closes_at",
    "duration_s",
    "attempts_allowed",
    "score_policy",
    "blueprint",
    "shuffle_questions",
    "shuffle_options",
    "multiple_rule",
    "review_policy",
    "score_visibility",
    "integrity_threshold",
    "integrity_action",
    "focus_grace_s",
    "grace_s",
    "qualification",
    "freeze_at",
    "appeal_window_h",
}


def save_round(contest_id: int, round_id: int | None = None, **fields: Any) -> Round:
    """Create or update a round (not committed) after checking its blueprint against the bank."""
    unknown = set(fields) - ROUND_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown round settings: %(names)s", names=", ".join(sorted(unknown))))
    contest = get_contest(contest_id)
    round_ = get_round(round_id) if round_id else None
    if round_ is not None and round_.contest_id != contest.id:
        raise NotFound(_("No round %(id)s.", id=round_id))
    ensure_editable(contest, "new_round" if round_ is None else "round")
    previous = _round_values(round_)
    merged = {**_round_values(round_), **fields}
    rows = blueprint_rows(merged.get("blueprint") or [])
    _check_round_settings(merged)
    if not merged.get("title") or not merged.get("bank_id"):
        raise InvalidInput(_("A round needs a title and a question bank."))
    if int(merged.get("duration_s") or 0) < 10:
        raise InvalidInput(_("The duration must be at least 10 seconds."))
    opens, closes = merged.get("opens_at"), merged.get("closes_at")
    if opens and closes and closes <= opens:
        raise InvalidInput(_("The round must close after it opens."))
    freeze = merged.get("freeze_at")
    if freeze and closes and freeze >= closes:
        # A freeze from the close on would hide nothing of the round, only its final board.
        raise InvalidInput(_("The board must freeze before the round closes."))
    _check_board_keeps_the_score(contest, merged)
    problems = check_blueprint(int(merged["bank_id"]), rows)
    if problems:
        raise BlueprintShortfall(problems)
    if round_ is None:
        position = (
            db.session.scalar(
                select(func.max(Round.position)).where(Round.contest_id == contest.id)
            )
            or 0
        ) + 1
        round_ = Round(contest_id=contest.id, position=position)
        db.session.add(round_)
    retime = round_.id is not None and (round_.closes_at, round_.duration_s) != (
        merged.get("closes_at"),
        merged.get("duration_s"),
    )
    previous_close = round_.closes_at
    for key, value in merged.items():
        setattr(round_, key, value)
    db.session.flush()
    _record_round(round_, previous, merged)
    if retime:
        retime_open_attempts(round_, previous_close=previous_close)
    settings_changed(contest.id)
    return round_


def _record_round(round_: Round, previous: dict[str, Any], merged: dict[str, Any]) -> None:
    """``round.create`` with its settings, or ``round.update`` with the changed ones only."""
    before, after = changed_fields(previous, merged)
    if previous and not after:
        return  # saved unchanged: nothing happened
    audit.record(
        "round.update" if previous else "round.create",
        target_type="round",
        target_id=round_.id,
        contest_id=round_.contest_id,
        before=before if previous else None,
        after=after,
    )


# Settings that must be one of an enum's values, and settings that must be whole numbers ≥ 0.
_ROUND_ENUMS: dict[str, type[StrEnum]] = {
    "score_policy": ScorePolicy,
    "multiple_rule": MultipleRule,
    "review_policy": ReviewPolicy,
    "score_visibility": ScoreVisibility,
    "integrity_action": IntegrityAction,
}
_ROUND_COUNTS = (
    "attempts_allowed",
    "integrity_threshold",
    "focus_grace_s",
    "grace_s",
    "appeal_window_h",
)
QUALIFICATION_KINDS = ("top_n", "top_n_per_organization", "min_score")


def _check_round_settings(values: dict[str, Any]) -> None:
    """Refuse settings outside their ranges with a 422 instead of a database error."""
    for key, enum_class in _ROUND_ENUMS.items():
        if values.get(key) is not None:
            try:
                values[key] = enum_class(values[key]).value
            except ValueError:
                raise InvalidInput(
                    _("%(name)s cannot be %(value)s.", name=key, value=values[key])
                ) from None
    for key in _ROUND_COUNTS:
        value = values.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise InvalidInput(_("%(name)s must be a whole number of at least 0.", name=key))
    if int(values.get("duration_s") or 0) > 24 * 3600:
        raise InvalidInput(_("An attempt lasts at most 24 hours."))
    if values.get("review_policy") is None:
        # A round with a close shows answers after it (early finishers must not pass the key
        # on); an always-open practice round shows them after each submission.
        values["review_policy"] = (
            ReviewPolicy.AFTER_CLOSE if values.get("closes_at") else ReviewPolicy.AFTER_SUBMIT
        ).value
    if values.get("review_policy") == ReviewPolicy.AFTER_CLOSE and not values.get("closes_at"):
        raise InvalidInput(
            _("Answers can be shown after the round closes only if it has a closing time.")
        )
    _check_score_visibility(values)
    rule = values.get("qualification")
    if rule:
        value = rule.get("value") if isinstance(rule, dict) else None
        if (
            not isinstance(rule, dict)
            or rule.get("kind") not in QUALIFICATION_KINDS
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
        ):
            raise InvalidInput(_("The qualification rule is not complete."))


def _check_score_visibility(values: dict[str, Any]) -> None:
    """A score kept until the close needs a close, and answers shown after each submission
    would tell the score (item by item) before it."""
    if values.get("score_visibility") != ScoreVisibility.AFTER_CLOSE:
        return
    if not values.get("closes_at"):
        raise InvalidInput(
            _("The score can be shown after the round closes only if it has a closing time.")
        )
    if values.get("review_policy") == ReviewPolicy.AFTER_SUBMIT:
        raise InvalidInput(
            _("Answers shown after each submission tell the score: show them after the close.")
        )


def _check_board_keeps_the_score(contest: Contest, values: dict[str, Any]) -> None:
    """A score kept until the close must not show on a public board meanwhile: with several
    attempts, the board moving after each one would tell which changed answer was right. Such a
    round's public board is frozen (封榜) from its opening, or the contest's boards are not
    public."""
    if values.get("score_visibility") != ScoreVisibility.AFTER_CLOSE:
        return
    if values.get("attempts_allowed") == 1:
        return
    if contest.board_visibility is not BoardVisibility.PUBLIC:
        return
    freeze, opens = values.get("freeze_at"), values.get("opens_at")
    if freeze is None or opens is None or freeze > opens:
        raise InvalidInput(
            _(
                "With several attempts and a public board, the board would tell the score before"
                " the close: freeze the board from the round's opening, or keep the contest's"
                " boards for organizers."
            ),
            code="board_tells_score",
        )


def check_board_keeps_the_score(contest: Contest, round_: Round) -> None:
    """:class:`InvalidInput` when the round's public board would tell a score kept until the
    close (the contest's board settings may have changed since the round was saved)."""
    _check_board_keeps_the_score(contest, _round_values(round_))


def _round_values(round_: Round | None) -> dict[str, Any]:
    if round_ is None:
        return {}
    return {key: getattr(round_, key) for key in ROUND_FIELDS}


def contest_round_status(round_: Round, now: datetime) -> str:
    """The round's status as contestants see it: every round of a finished or archived
    contest is closed, whatever its window says."""
    if round_.contest.status in (ContestStatus.FINISHED, ContestStatus.ARCHIVED):
        return "closed"
    return round_status(round_, now)


def is_registered(contest_id: int, user_id: int) -> bool:
    return (
        db.session.scalar(
            select(Registration.id).where(
                Registration.contest_id == contest_id, Registration.user_id == user_id
            )
        )
        is not None
    )


def register(
    contest_id: int,
    user_id: int,
    *,
    now: datetime,
    invite_code: str | None = None,
    by_organizer: bool = False,
) -> Registration:
    """Register a contestant (idempotent); the contest's mode decides who may join, and only a
    published contest takes contestants' own registrations (organizers enrol at any stage)."""
    contest = get_contest(contest_id)
    if not by_organizer and not is_visible(contest):
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    existing = db.session.scalar(
        select(Registration).where(
            Registration.contest_id == contest_id, Registration.user_id == user_id
        )
    )
    if existing is not None:
        return existing
    if not by_organizer and contest.registration_mode is not RegistrationMode.ROSTER:
        ensure_takes_entries(contest.status, contest.id)  # (a roster's stays hidden: 404 below)
    user = db.session.get(User, user_id)
    if user is None or user.role is not Role.CONTESTANT:
        raise InvalidInput(_("Only contestant accounts take part in contests."))
    mode = contest.registration_mode
    if by_organizer:
        source = "roster"
    elif mode is RegistrationMode.OPEN:
        source = "open"
    elif mode is RegistrationMode.INVITE:
        if (wait := throttle.invite_attempt_refused(user_id)) is not None:
            raise TooManyAttempts(
                _("Too many wrong invite codes. Please wait a moment and try again."),
                retry_after=wait,
            )
        # Either case: phone keyboards capitalise the first letter on their own.
        expected = (contest.invite_code or "").strip().casefold().encode()
        given = (invite_code or "").strip().casefold().encode()
        if not expected or not hmac.compare_digest(given, expected):
            raise Forbidden(_("The invite code is not right."), code="bad_invite_code")
        source = "invite"
    else:  # roster-only: hidden from those not on the roster, as its pages are
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    registration = Registration(
        contest_id=contest_id, user_id=user_id, source=source, registered_at=now
    )
    try:
        with db.session.begin_nested():  # a savepoint: a concurrent twin may win the insert
            db.session.add(registration)
    except IntegrityError:
        winner = db.session.scalar(
            select(Registration).where(
                Registration.contest_id == contest_id, Registration.user_id == user_id
            )
        )
        if winner is None:
            raise
        return winner
    render_after_commit(contest_id)  # the organization board counts who is enrolled
    return registration


def contests_for(user: User) -> list[Contest]:
    """The contests listed for a contestant: published or finished (not drafts, not archived),
    open ones and those they are registered for."""
    registered = select(Registration.contest_id).where(Registration.user_id == user.id)
    query = (
        select(Contest)
        .where(
            Contest.status.in_(LISTED_STATUSES),
            or_(Contest.registration_mode != RegistrationMode.ROSTER, Contest.id.in_(registered)),
        )
        .order_by(Contest.id)
    )
    return list(db.session.scalars(query))


def ensure_can_take(round_: Round, user_id: int, now: datetime) -> None:
    """Open contests register on first use; others need a registration. The rounds of a
    roster-only contest do not exist for those not on its roster (404, as on its pages), nor
    do a draft's; a finished contest takes no new attempts (read fresh: a start waits for a
    finish under way on the round's timing lock, then sees it)."""
    contest = round_.contest
    status = fresh_status(contest.id)
    registered = is_registered(contest.id, user_id)
    if status not in VISIBLE_STATUSES or (
        not registered and contest.registration_mode is RegistrationMode.ROSTER
    ):
        raise NotFound(_("No round %(id)s.", id=round_.id))
    assert status is not None
    ensure_takes_entries(status, contest.id)
    if round_.mode != "paper":
        raise Conflict(_("This round is held live on site."), code="live_round")
    if registered:
        return
    if contest.registration_mode is RegistrationMode.OPEN:
        register(contest.id, user_id, now=now)
        return
    raise Forbidden(_("Register for this contest first."), code="not_registered")


def round_entries(round_: Round) -> list[Entry]:
    """Each contestant's counting attempt of a scored round (best or last, per the round)."""
    return [e.ranking_entry() for e in counting_entries(round_).values()]


def ensure_qualified(round_: Round, user_id: int, now: datetime) -> None:
    """A round after the first admits only those the previous round's rule qualified.

    Qualifiers are known once the previous round has closed and every attempt is scored; until
    then nobody can start (an early finisher must not keep a place a later one would take).
    """
    previous = db.session.scalar(
        select(Round)
        .where(Round.contest_id == round_.contest_id, Round.position < round_.position)
        .order_by(Round.position.desc())
    )
    if previous is None or not (previous.qualification or {}).get("kind"):
        return
    pending = db.session.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(
            Attempt.round_id == previous.id,
            Attempt.status.in_([AttemptStatus.IN_PROGRESS, AttemptStatus.SUBMITTED]),
        )
    )
    if previous.closes_at is None or now < previous.closes_at or pending:
        raise Conflict(
            _(
                "Qualifiers are known once %(round)s has closed and been scored.",
                round=previous.title,
            ),
            code="qualification_pending",
        )
    admitted = qualifiers(round_entries(previous), previous.qualification)
    if admitted is not None and user_id not in admitted:
        raise Forbidden(
            _("Only contestants who qualified in %(round)s take this round.", round=previous.title),
            code="not_qualified",
        )


def unique_title(title: str) -> None:
    if db.session.scalar(select(Contest.id).where(Contest.title == title)) is not None:
        raise Conflict(_("A contest named %(title)s exists already.", title=title))


def update_contest(contest: Contest, values: dict[str, Any]) -> None:
    """Change a contest's settings (not committed), with the checks of :func:`create_contest`;
    refused (409) on an archived contest. Audited with the changed settings only."""
    ensure_editable(contest, "contest")
    previous = {key: _audited(getattr(contest, key)) for key in values if key != "title"}
    previous["title"] = contest.title
    title = str(values.get("title", contest.title)).strip()
    if not title:
        raise InvalidInput(_("A contest needs a title."))
    if title != contest.title:
        unique_title(title)
    if values.get("registration_mode") is RegistrationMode.INVITE and not values.get("invite_code"):
        raise InvalidInput(_("An invite-only contest needs an invite code."))
    for key, value in {**values, "title": title}.items():
        setattr(contest, key, value)
    for round_ in contest.rounds:
        _check_board_keeps_the_score(contest, _round_values(round_))
    db.session.flush()
    before, after = changed_fields(previous, {**values, "title": title})
    if after:
        audit.record(
            "contest.update",
            target_type="contest",
            target_id=contest.id,
            contest_id=contest.id,
            before=before,
            after=after,
        )
    hidden = contest.board_visibility is not BoardVisibility.PUBLIC
    settings_changed(contest.id, hide=boards_of(contest) if hidden else ())


@dataclass
class Enrolment:
    enrolled: int
    already: int


def enroll_organizations(
    contest_id: int, organization_ids: Iterable[int], *, now: datetime
) -> Enrolment:
    """Register every contestant of the organizations (not committed); they take part too.

    Used by the organizer page and ``contest contests enroll``.
    """
    contest = get_contest(contest_id)
    ensure_editable(contest, "enrol")
    ids = sorted(set(organization_ids))
    organizations = list(db.session.scalars(select(Organization).where(Organization.id.in_(ids))))
    for organization in organizations:
        if organization not in contest.organizations:
            contest.organizations.append(organization)
    registered = set(
        db.session.scalars(
            select(Registration.user_id).where(Registration.contest_id == contest_id)
        )
    )
    members = db.session.scalars(
        select(User.id)
        .where(User.organization_id.in_(ids), User.role == Role.CONTESTANT)
        .order_by(User.id)
    ).all()
    result = Enrolment(0, 0)
    for user_id in members:
        if user_id in registered:
            result.already += 1
            continue
        register(contest_id, user_id, now=now, by_organizer=True)
        result.enrolled += 1
    return result
