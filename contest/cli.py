"""The ``contest`` command: a Flask CLI group bound to :func:`contest.create_app`.

The project's commands are added to ``app.cli`` by :func:`register` (so ``flask --app contest``
and the test CLI runner see them too); Flask adds ``run``, ``shell`` and ``routes``, and
Flask-Migrate adds ``db`` (``contest db upgrade``).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import redis
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import gettext
from sqlalchemy import select, text

from contest import create_app
from contest.errors import DomainError
from contest.extensions import db, redis_hub


def _create_app() -> object:
    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """NetSec Contest: cybersecurity knowledge contests.

    Configuration comes from CONTEST_* environment variables (see the README).
    """


@click.command()
@click.option(
    "--laws",
    "laws_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of law texts to import before the demo bank (default: CONTEST_DEMO_LAWS).",
)
@with_appcontext
def demo(laws_dir: Path | None) -> None:
    """Run the whole stack with demo data (embedded Redis, workers, web server)."""
    from contest.demo import run_demo

    run_demo(current_app._get_current_object(), laws=laws_dir)  # type: ignore[attr-defined]


@click.command()
@click.option(
    "--queue", "queue_names", multiple=True, help="Queue to serve (repeatable); default all."
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", default=None, help="Worker name in RQ's registry.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run RQ's scheduler (it closes attempts at their deadline).",
)
@click.option(
    "--boards/--no-boards",
    default=True,
    show_default=True,
    help="Also render leaderboards and run the reconciler (a thread of this process).",
)
@with_appcontext
def worker(
    queue_names: tuple[str, ...], burst: bool, name: str | None, scheduler: bool, boards: bool
) -> None:
    """Start an RQ worker; every job runs inside the app context.

    The worker also renders leaderboards and runs the reconciler (see workers/boards.py). It
    outlives a Redis restart: it reconnects and carries on.
    """
    from workers import queues
    from workers.boards import BoardThread, render_pending
    from workers.runner import make_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = BoardThread(app) if boards and not burst else None
    if thread:
        thread.start()
    retry = 0
    try:
        while True:
            worker_name = name if not retry or name is None else f"{name}-{retry}"
            try:
                make_worker(app, queue_names or queues.ALL, name=worker_name).work(
                    burst=burst, logging_level="INFO", with_scheduler=scheduler
                )
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                retry += 1
                click.echo(f"Redis unavailable ({exc}); reconnecting in 1 s", err=True)
                time.sleep(1)
        if boards and burst:
            render_pending(redis_hub.client, wait=False)
    finally:
        if thread:
            thread.stop()


@click.command()
@click.option(
    "--worker", "check_worker", is_flag=True, help="Also send a job and wait for a worker."
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the job.")
@with_appcontext
def health(check_worker: bool, timeout: float) -> None:
    """Check the database and Redis (and a worker with --worker); exit 1 on failure."""
    problems = []
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()  # end the transaction: SQLite would hold its lock while we wait
        click.echo(f"database: ok ({db.engine.dialect.name})")
    except Exception as exc:
        problems.append(f"database: {exc}")
    # A plain connection, not redis_hub.client: a health check must not start the embedded server.
    try:
        with redis.Redis.from_url(redis_hub.url, socket_timeout=5) as probe:
            probe.ping()
        click.echo(f"redis: ok ({redis_hub.url})")
    except (redis.RedisError, OSError) as exc:
        problems.append(f"redis: {exc}")
    if check_worker and not problems:
        problems += _check_worker(timeout)
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(1 if problems else 0)


def _check_worker(timeout: float) -> list[str]:
    from workers.health import ping
    from workers.runner import get_queue

    token = uuid.uuid4().hex
    job = get_queue(current_app._get_current_object()).enqueue(  # type: ignore[attr-defined]
        ping, token, job_timeout=30, result_ttl=60
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.get_status(refresh=True) == "finished":
            click.echo(f"worker: ok ({job.return_value()})")
            return []
        time.sleep(0.1)
    job.cancel()
    return [f"worker: no worker answered within {timeout} s"]


@click.group()
def users() -> None:
    """Manage accounts."""


@users.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--passwords-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write generated passwords: CSV, or XLSX (one sheet per unit, to print) when "
    "the name ends in .xlsx; default FILE.passwords.csv",
)
@with_appcontext
def users_import(file: Path, passwords_out: Path | None) -> None:
    """Import contestants from a CSV or XLSX roster (all or nothing).

    Columns: 单位/organization, 用户名/username, 姓名/display_name, 密码/password (optional).
    """
    from contest.services.roster import RosterError, import_roster, more_problems

    try:
        result = import_roster(file.name, file.read_bytes())
    except RosterError as exc:
        click.echo(f"{file}: nothing imported; {exc.total} problem(s):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        if exc.hidden:
            click.echo(f"  {more_problems(exc.hidden)}", err=True)
        sys.exit(1)
    click.echo(f"imported {result.created} account(s) into {result.organizations} organization(s)")
    if result.generated:
        out = passwords_out or file.with_name(file.name + ".passwords.csv")
        if out.suffix.lower() == ".xlsx":
            from contest.services.roster_jobs import passwords_workbook

            result.write_passwords(out, passwords_workbook(result.issued))
        else:
            result.write_passwords(out)
        click.echo(f"generated passwords for {len(result.generated)} account(s): {out}")


@users.command("create-organizer")
@click.argument("username")
@click.option("--display-name", default=None)
@click.option(
    "--role",
    type=click.Choice(["admin", "organizer"]),
    default="admin",
    show_default=True,
    help="admin: everything, accounts included; organizer: contests and banks only.",
)
@click.password_option()
@with_appcontext
def users_create_organizer(
    username: str, display_name: str | None, role: str, password: str
) -> None:
    """Create an organizer account (prompts for the password)."""
    from contest.models import Role
    from contest.services.accounts import create_user

    try:
        create_user(username, password, role=Role(role), display_name=display_name)
        db.session.commit()
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{role} {username} created")


def _user_id(username: str) -> int:
    from contest.models import User
    from contest.services.accounts import normalize_username

    user_id = db.session.scalar(
        db.select(User.id).where(User.username == normalize_username(username))
    )
    if user_id is None:
        raise click.ClickException(f"no account {username}")
    return int(user_id)


@users.command("reset-password")
@click.argument("username")
@with_appcontext
def users_reset_password(username: str) -> None:
    """Give USERNAME a new generated password (printed once) and end its sessions."""
    from contest.services.accounts import reset_password

    password = reset_password(_user_id(username))
    click.echo(f"{username}: new password {password} (every earlier session has ended)")


@users.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Forget the failed logins counted against USERNAME, from every address and device."""
    from contest.auth.throttle import unlock_account

    removed = unlock_account(username)
    click.echo(f"{username}: unlocked ({removed} login counter(s) cleared)")


def _set_active(username: str, active: bool) -> None:
    from contest.services.accounts import set_active

    set_active(_user_id(username), active)
    click.echo(f"{username}: {'active' if active else 'deactivated'}")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """Deactivate USERNAME: it cannot log in, and its sessions end at once."""
    _set_active(username, False)


@users.command("activate")
@click.argument("username")
@with_appcontext
def users_activate(username: str) -> None:
    """Reactivate USERNAME (sessions from before its deactivation stay ended)."""
    _set_active(username, True)


@click.group()
def bank() -> None:
    """Question banks: list, import, export."""


@bank.command("list")
@with_appcontext
def bank_list() -> None:
    """Every bank: id, name, question count per status."""
    from contest.services.bank import status_counts
    from question_bank.models import Bank, QuestionStatus

    banks = db.session.scalars(select(Bank).order_by(Bank.id)).all()
    if not banks:
        click.echo("no banks yet: `contest bank import FILE --bank NAME` creates one")
    for item in banks:
        counts = status_counts(item.id)
        detail = ", ".join(f"{s.value} {counts.get(s, 0)}" for s in QuestionStatus)
        click.echo(f"{item.id}\t{item.name}\t{sum(counts.values())} questions ({detail})")


@bank.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--bank",
    "bank_ref",
    default="题库",
    show_default=True,
    help="Bank id or name; a new name creates the bank.",
)
@click.option(
    "--format",
    "format_name",
    default=None,
    help="xlsx, csv, json, gift, moodle-xml or aiken; default: from the extension.",
)
@click.option(
    "--on-duplicate",
    type=click.Choice(["skip", "update"]),
    default="skip",
    show_default=True,
    help="What to do with questions the bank already has.",
)
@click.option(
    "--status",
    type=click.Choice(["draft", "in_review", "published"]),
    default="draft",
    show_default=True,
    help="Status of the imported questions.",
)
@with_appcontext
def bank_import(
    file: Path, bank_ref: str, format_name: str | None, on_duplicate: str, status: str
) -> None:
    """Import questions from FILE: all or nothing, every problem reported with its line."""
    from contest.services import bank as bank_service
    from contest.services.imports import create_import, run_import
    from question_bank.models import ImportStatus, QuestionStatus

    created_bank = False
    try:
        target = bank_service.get_bank(bank_ref)
    except DomainError:
        target = bank_service.create_bank(bank_ref)
        db.session.commit()
        created_bank = True
    try:
        job = create_import(
            target.id,
            file.name,
            file.read_bytes(),
            actor_id=None,
            now=_now(),
            format_name=format_name,
            on_duplicate=on_duplicate,
            initial_status=QuestionStatus(status),
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    with click.progressbar(length=1, label="importing", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        job = run_import(job.id, now=_now, progress=progress)
    _print_import_report(job.report, file.name)
    if created_bank and job.status is not ImportStatus.SUCCEEDED:
        db.session.delete(target)  # a refused file leaves no trace, not even a new empty bank
        db.session.commit()
    if job.status is not ImportStatus.SUCCEEDED:
        sys.exit(1)


def _print_import_report(report: dict[str, Any], filename: str) -> None:
    from flask_babel import gettext

    from question_bank.domain import Problem

    def lines(key: str) -> list[str]:
        return [
            f"  {filename}:{item['line']}: "
            + Problem(item["line"], item["message"], item["params"]).render(gettext)
            for item in report.get(key, [])
        ]

    def count(key: str, total: str) -> int:
        return int(report.get(total, len(report.get(key, []))))

    if report.get("problems"):
        problems = count("problems", "problem_count")
        click.echo(f"nothing imported; {problems} problem(s):", err=True)
        click.echo("\n".join(lines("problems")), err=True)
        if problems > len(report["problems"]):
            hidden = problems - len(report["problems"])
            click.echo("  " + gettext("%(n)d more problem(s) not shown.", n=hidden), err=True)
    else:
        click.echo(
            f"created {report['created']}, updated {report['updated']}, "
            f"unchanged {report['unchanged']}, duplicates {count('duplicates', 'duplicate_count')}"
        )
    if report.get("skipped"):
        click.echo(f"skipped {count('skipped', 'skipped_count')} unsupported item(s):", err=True)
        click.echo("\n".join(lines("skipped")), err=True)


@bank.command("export")
@click.argument("bank_ref", metavar="BANK")
@click.option(
    "--format",
    "format_name",
    required=True,
    type=click.Choice(["xlsx", "csv", "json", "gift", "moodle-xml", "aiken"]),
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["draft", "in_review", "published", "retired"]),
    help="Only questions with this status (repeatable); default all.",
)
@with_appcontext
def bank_export(bank_ref: str, format_name: str, output: Path, statuses: tuple[str, ...]) -> None:
    """Export bank BANK (id or name) to a file."""
    from contest.services import bank as bank_service
    from question_bank.models import QuestionStatus

    try:
        target = bank_service.get_bank(bank_ref)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    exported = bank_service.export_file(
        target.id, format_name, [QuestionStatus(s) for s in statuses] or None
    )
    output.write_bytes(exported.content)
    click.echo(f"wrote {output} ({len(exported.content)} bytes)")
    if exported.extension == ".zip" and output.suffix.lower() != ".zip":
        click.echo("note: the questions link to images: the file is a ZIP of the sheet and them")


@click.group()
def laws() -> None:
    """The law library that citations are checked against."""


@laws.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--in-force",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="When this version takes effect (one file only), where the file does not say.",
)
@with_appcontext
def laws_import(path: Path, in_force: datetime | None) -> None:
    """Import law texts (a .md file or a folder of them, amending decisions included)."""
    from flask_babel import gettext

    from contest.services.laws import import_laws

    if in_force is not None and path.is_dir():
        raise click.UsageError("--in-force dates one file; give the file, not a folder")
    report = import_laws(path, in_force=in_force.date() if in_force else None)
    for title, version, articles in report.imported:
        click.echo(f"imported {title} ({version}): {articles} articles")
    for title, version, day in report.dated:
        click.echo(f"{title} ({version}) in force from {day}")
    for title, version in report.unchanged:
        click.echo(f"already imported {title} ({version})")
    for problem in report.skipped:
        click.echo(f"skipped: {problem.render(gettext)}", err=True)
    if report.flagged_questions:
        click.echo(
            f"{report.flagged_questions} question(s) cite a superseded version: "
            "marked as needing review"
        )


@click.group()
def contests() -> None:
    """Contests and their rounds (times in Beijing time, UTC+8)."""


@contests.command("list")
@with_appcontext
def contests_list() -> None:
    """Every contest: id, title, and its rounds with status and window."""
    from contest.i18n import local_time
    from contest.models import Contest
    from contest.services.contests import round_status

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


@click.group()
def attempts() -> None:
    """Attempts of paper rounds."""


@attempts.command("close-overdue")
@with_appcontext
def attempts_close_overdue() -> None:
    """Submit every open attempt past its deadline plus grace, and enqueue its scoring."""
    from workers.deadlines import close_overdue_attempts

    closed = close_overdue_attempts(_now())
    click.echo(f"closed {closed} overdue attempt(s)")


@click.group()
def leaderboard() -> None:
    """Leaderboards in Redis (derived from the database, which is the source of truth)."""


def _contest_ids(contest_id: int | None) -> list[int]:
    from contest.services import leaderboards

    return [contest_id] if contest_id is not None else leaderboards.contest_ids()


@leaderboard.command("rebuild")
@click.option("--contest", "contest_id", type=int, default=None, help="Only this contest.")
@with_appcontext
def leaderboard_rebuild(contest_id: int | None) -> None:
    """Recompute every board (or one contest's) from the database into Redis."""
    from contest.services import leaderboards

    client = redis_hub.client
    for cid in _contest_ids(contest_id):
        count = leaderboards.rebuild_contest(client, cid)
        click.echo(f"contest {cid}: {count} ranked entr{'y' if count == 1 else 'ies'}")
    if contest_id is None:
        client.set(leaderboards.EPOCH, int(time.time()))


@leaderboard.command("check")
@click.option("--contest", "contest_id", type=int, default=None, help="Only this contest.")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to keep checking while boards are still being rendered.",
)
@with_appcontext
def leaderboard_check(contest_id: int | None, wait: float) -> None:
    """Compare the boards in Redis with a recomputation from the database; exit 1 if any differ."""
    from contest.services import leaderboards

    client = redis_hub.client
    give_up = time.monotonic() + wait
    while True:
        problems = [
            problem
            for cid in _contest_ids(contest_id)
            for problem in leaderboards.check_contest(client, cid)
        ]
        db.session.remove()
        if not problems or time.monotonic() >= give_up:
            break
        time.sleep(0.5)
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo("every board equals a recomputation from the database")


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _now() -> datetime:
    return datetime.now(UTC)


def register(app: Flask) -> None:
    """Add the project's commands to ``app.cli``."""
    for command in (demo, worker, health, users, bank, laws, contests, attempts, leaderboard):
        app.cli.add_command(command)
