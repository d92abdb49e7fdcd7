"""``contest users``: accounts from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from contest.errors import DomainError
from contest.extensions import db


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
