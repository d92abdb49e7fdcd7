"""``contest bank`` and ``contest laws``: question banks and the law library their citations
are checked against."""

from __future__ import annotations

import sys
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


def _now() -> datetime:
    return datetime.now(UTC)
