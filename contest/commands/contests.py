"""``contest contests``: contests and their rounds (times in Beijing time, UTC+8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from flask_babel import gettext
from sqlalchemy import select

from contest.errors import DomainError
from contest.extensions import db


@click.group()
def contests() -> None:
    """Contests and their rounds (times in Beijing time, UTC+8)."""


@contests.command("list")
@with_appcontext
def contests_list() -> None:
    """Every contest: id, title, and its rounds with status and window."""
    from contest.i18n import local_time
    from contest.models import Contest
    from contest.services.timing import round_status

    items = db.session.scalars(select(Contest).order_by(Contest.id)).all()
    if not items:
        click.echo("no contests yet")
    now = _now()
    for item in items:
        click.echo(f"{item.id}\t{item.title}\t{item.registration_mode.value}\t{item.status.value}")
        for round_ in item.rounds:
            window = (
                f"{local_time(round_.opens_at) or 'always'} – "
                f"{local_time(round_.closes_at) or 'always'}"
            )
            click.echo(
                f"  round {round_.id}\t{round_.position}. {round_.title}\t"
                f"{round_status(round_, now)}\t{window}\t{_duration(round_.duration_s)}"
            )


@contests.command("enroll")
@click.argument("contest_ref", metavar="CONTEST")
@click.option(
    "--organization",
    "organization_names",
    multiple=True,
    required=True,
    help="Organization name (repeatable); every contestant of it is enrolled.",
)
@with_appcontext
def contests_enroll(contest_ref: str, organization_names: tuple[str, ...]) -> None:
    """Enrol every contestant of the organizations into CONTEST (id or title)."""
    from contest.models import Organization
    from contest.services.contests import enroll_organizations

    target = _find_contest(contest_ref)
    found = dict(
        db.session.execute(
            select(Organization.name, Organization.id).where(
                Organization.name.in_(organization_names)
            )
        ).all()
    )
    missing = [name for name in organization_names if name not in found]
    if missing:
        raise click.ClickException(
            "no organization named " + ", ".join(repr(n) for n in missing) + "; nothing enrolled"
        )
    try:
        result = enroll_organizations(target.id, found.values(), now=_now())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"enrolled {result.enrolled} contestant(s) into {target.title} "
        f"({result.already} already registered)"
    )


def _find_contest(ref: str) -> Any:
    from contest.models import Contest

    query = select(Contest).where(Contest.title == ref)
    if ref.isdigit():
        query = select(Contest).where(Contest.id == int(ref))
    target = db.session.scalars(query.order_by(Contest.id)).first()
    if target is None:
        raise click.ClickException(f"no contest {ref!r}")
    return target


@contests.command("create")
@click.argument("title")
@click.option("--description", default="")
@click.option(
    "--registration",
    type=click.Choice(["open", "invite", "roster"]),
    default="open",
    show_default=True,
)
@click.option("--invite-code", default=None, help="Needed with --registration invite.")
@click.option("--full-names", is_flag=True, help="Show full names on public boards.")
@with_appcontext
def contests_create(
    title: str, description: str, registration: str, invite_code: str | None, full_names: bool
) -> None:
    """Create a contest; add its rounds with `contest contests round`."""
    from contest.models import RegistrationMode
    from contest.services.contests import create_contest, unique_title

    try:
        unique_title(title)
        contest = create_contest(
            title,
            description=description,
            registration_mode=RegistrationMode(registration),
            invite_code=invite_code,
            mask_names=not full_names,
        )
        db.session.commit()
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"created contest {contest.id}: {contest.title} (a draft: add its rounds, then "
        "`contest contests publish`)"
    )


@contests.command("publish")
@click.argument("contest_ref", metavar="CONTEST")
@with_appcontext
def contests_publish(contest_ref: str) -> None:
    """Publish the draft CONTEST (id or title), or list every problem that stops it."""
    from contest.services import lifecycle

    target = _find_contest(contest_ref)
    try:
        contest = lifecycle.publish(target.id, now=_now())
        db.session.commit()
    except lifecycle.PublishRefused as exc:
        db.session.rollback()
        raise click.ClickException("cannot publish yet:\n  " + "\n  ".join(exc.problems)) from exc
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"published contest {contest.id}: {contest.title}")


@contests.command("finish")
@click.argument("contest_ref", metavar="CONTEST")
@with_appcontext
def contests_finish(contest_ref: str) -> None:
    """Finish the published CONTEST: readable, no new attempts or registrations."""
    from contest.services import lifecycle

    _transition(contest_ref, lifecycle.finish, "finished")


@contests.command("archive")
@click.argument("contest_ref", metavar="CONTEST")
@with_appcontext
def contests_archive(contest_ref: str) -> None:
    """Archive the finished CONTEST: off every list, every record kept."""
    from contest.services import lifecycle

    _transition(contest_ref, lifecycle.archive, "archived")


def _transition(contest_ref: str, move: Callable[..., Any], done: str) -> None:
    target = _find_contest(contest_ref)
    try:
        move(target.id, now=_now())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"{done} contest {target.id}: {target.title}")


@contests.command("round")
@click.argument("contest_ref", metavar="CONTEST")
@click.argument("settings", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--round", "round_id", type=int, default=None, help="Update this round instead.")
@with_appcontext
def contests_round(contest_ref: str, settings: Path, round_id: int | None) -> None:
    """Add (or with --round, update) a round of CONTEST from a JSON file of its settings.

    The file holds the fields of the createRound API operation, e.g. {"title": "初赛",
    "bank_id": 1, "duration_s": 1800, "opens_at": "2026-12-01T09:00:00+08:00", "closes_at":
    "2026-12-01T11:00:00+08:00", "blueprint": [{"category": "法律法规", "type": "single",
    "count": 10, "points": 2}]}. Every blueprint row the bank cannot fill is reported.
    """
    import json

    import marshmallow

    from contest.api.schemas import RoundInSchema
    from contest.services.contests import BlueprintShortfall, save_round

    target = _find_contest(contest_ref)
    try:
        fields = RoundInSchema().load(json.loads(settings.read_text(encoding="utf-8-sig")))
    except (ValueError, marshmallow.ValidationError) as exc:
        raise click.ClickException(f"{settings}: {exc}") from exc
    try:
        round_ = save_round(target.id, round_id, **fields)
        db.session.commit()
    except BlueprintShortfall as exc:
        db.session.rollback()
        raise click.ClickException(
            "the bank cannot fill the blueprint:\n  "
            + "\n  ".join(p.render(gettext) for p in exc.problems)
        ) from exc
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"saved round {round_.id}: {round_.title} (position {round_.position})")


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _now() -> datetime:
    return datetime.now(UTC)
