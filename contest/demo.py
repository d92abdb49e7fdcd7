"""``contest demo``: the whole stack in one process tree, with demo data.

The process tree: this process serves the web app (threaded) and owns the embedded Redis server;
``CONTEST_DEMO_WORKERS`` child processes run ``contest worker``. Ctrl-C (SIGINT to the process
group) or SIGTERM to this process stops all of them; children also die with this process if it
is killed outright (``PR_SET_PDEATHSIG``).

Demo data is idempotent: existing organizations and accounts are reused, and the demo accounts'
passwords are reset to this run's password, so running the demo twice in a row just works.

Given a folder of law texts (``--laws`` or ``CONTEST_DEMO_LAWS``), the demo imports them before its
bank, as ``contest laws import`` does: the bank's citations are then checked against them, and a
question's page shows the article it cites.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from contest import create_app
from contest.extensions import db, redis_hub
from contest.models import Contest, ContestStatus, OrganizationKind, Role, Round, User
from contest.redis_server import EmbeddedRedis, _die_with_parent
from contest.services import leaderboards
from contest.services.accounts import create_user, get_or_create_organization, hash_password
from contest.services.laws import LawImportReport, import_laws

ORGANIZER = "organizer"
CONTESTANTS = [f"demo{n:02d}" for n in range(1, 51)]
ORGANIZATIONS = [
    ("市网信办", OrganizationKind.UNIT),
    ("高新区", OrganizationKind.DISTRICT),
    ("滨海区", OrganizationKind.DISTRICT),
    ("第一中学", OrganizationKind.SCHOOL),
    ("信息工程学院", OrganizationKind.SCHOOL),
]
# Surnames for the demo contestants' display names.
DEMO_NAMES = (
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
    "何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"
    "云苏潘葛奚范彭郎"
)


def seed_demo_data(password: str) -> dict[str, int]:
    """Create (or reuse) the demo organizations and accounts; set every demo password.

    One hash serves every demo account: they share the password, and hashing 51 times would cost
    seconds of scrypt.
    """
    password_hash = hash_password(password)
    orgs = [get_or_create_organization(name, kind) for name, kind in ORGANIZATIONS]
    created = 0
    accounts = [(ORGANIZER, Role.ADMIN, "赛事组织者", None)] + [
        (
            name,
            Role.CONTESTANT,
            f"{DEMO_NAMES[i % len(DEMO_NAMES)]}同学{i + 1:02d}",
            orgs[i % len(orgs)],
        )
        for i, name in enumerate(CONTESTANTS)
    ]
    for username, role, display_name, org in accounts:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            create_user(
                username,
                password,
                role=role,
                display_name=display_name,
                organization=org,
                password_hash=password_hash,
            )
            created += 1
        else:  # a password reset: sessions signed in with the old password end
            user.password_hash = password_hash
            user.active = True
            user.session_generation += 1
    db.session.commit()
    return {"created": created, "reused": len(accounts) - created}


BEIJING = timedelta(hours=8)


def beijing_date(moment: datetime) -> date:
    """The calendar day in Beijing at ``moment`` (a law takes effect on a Beijing day)."""
    return (moment.astimezone(UTC) + BEIJING).date()


def load_demo_laws(directory: Path, now: datetime) -> LawImportReport:
    """Import the law texts of the folder ``directory`` (committed); versions already imported
    are kept."""
    return import_laws(directory, today=beijing_date(now))


DEMO_BANK = "演示题库"
DEMO_BANK_FILES = Path(__file__).resolve().parent.parent / "question_bank" / "demo_bank"


def load_demo_bank(now: datetime) -> dict[str, int]:
    """Import the demo bank's files as published questions (existing ones are skipped)."""
    from contest.services.bank import get_or_create_bank
    from contest.services.imports import create_import, run_import
    from question_bank.models import ImportStatus, QuestionStatus

    bank = get_or_create_bank(DEMO_BANK)
    db.session.commit()
    created = skipped = 0
    for file in sorted(DEMO_BANK_FILES.glob("*.json")):
        job = create_import(
            bank.id,
            file.name,
            file.read_bytes(),
            actor_id=None,
            now=now,
            initial_status=QuestionStatus.PUBLISHED,
        )
        job = run_import(job.id, now=lambda: now)
        if job.status is not ImportStatus.SUCCEEDED:
            raise click.ClickException(
                f"the demo bank file {file.name} did not import: {job.report.get('problems')}"
            )
        created += job.report["created"]
        skipped += len(job.report["duplicates"])
    contests = load_demo_contests(bank.id, now)
    if load_demo_final(bank.id, now):
        contests.append(FINAL_CONTEST)
    open_demo_signup()
    return {
        "questions_created": created,
        "questions_reused": skipped,
        "contests_created": len(contests),
    }


PRACTICE_CONTEST = "网络安全知识练习赛"
PRELIMINARY_CONTEST = "2026年网络安全知识竞赛"


def _row(category: str, kind: str, count: int, points: int) -> dict[str, object]:
    return {
        "category": category,
        "type": kind,
        "difficulty": None,
        "count": count,
        "points": points,
    }


# 20 questions across the three areas; 10 minutes; unlimited attempts; always open.
PRACTICE_BLUEPRINT = [
    _row("法律法规", "single", 3, 2),
    _row("法律法规", "multiple", 1, 3),
    _row("法律法规", "true_false", 2, 1),
    _row("法律法规", "fill_blank", 1, 2),
    _row("基础知识", "single", 3, 2),
    _row("基础知识", "multiple", 1, 3),
    _row("基础知识", "true_false", 1, 1),
    _row("基础知识", "fill_blank", 1, 2),
    _row("基础知识", "ordering", 1, 3),
    _row("事件处置", "single", 3, 2),
    _row("事件处置", "multiple", 1, 3),
    _row("事件处置", "true_false", 1, 1),
    _row("事件处置", "ordering", 1, 3),
]
# The city preliminary: 单选 30×2, 多选 10×3, 判断 10×1 = 100 points in 30 minutes, one attempt.
PRELIMINARY_BLUEPRINT = [
    _row("", "single", 30, 2),
    _row("", "multiple", 10, 3),
    _row("", "true_false", 10, 1),
]


def preliminary_opens(now: datetime) -> datetime:
    """When the demo's preliminary opens: 9:00 Beijing time on the day after ``now``'s."""
    nine_today = (now + BEIJING).replace(hour=9, minute=0, second=0, microsecond=0)
    return nine_today + timedelta(days=1) - BEIJING


def load_demo_contests(bank_id: int, now: datetime) -> list[str]:
    """The practice contest and a scheduled preliminary (created once, then reused)."""
    from contest.services import contests as contest_service

    created = []
    opens = preliminary_opens(now)
    day = (opens + BEIJING).date()
    specs: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (
            PRACTICE_CONTEST,
            {"description": "随时可以练习：20 道题，10 分钟，不限次数。"},
            {
                "title": "练习",
                "duration_s": 600,
                "attempts_allowed": 0,
                "blueprint": PRACTICE_BLUEPRINT,
                "review_policy": "after_submit",
                "score_visibility": "after_submit",  # practice: the score at once
            },
        ),
        (
            PRELIMINARY_CONTEST,
            {
                "description": "全市线上初赛：单选 30 题、多选 10 题、判断 10 题。",
                # A date, not "tomorrow": the demo's data outlives the day it was made.
                "schedule": f"初赛：{day.year}年{day.month}月{day.day}日 9:00–11:00（北京时间）",
            },
            {
                "title": "初赛",
                "duration_s": 1800,
                "attempts_allowed": 1,
                "blueprint": PRELIMINARY_BLUEPRINT,
                "review_policy": "after_close",
                "opens_at": opens,
                "closes_at": opens + timedelta(hours=2),
                "integrity_threshold": 3,
                "integrity_action": "submit",
            },
        ),
    ]
    for title, contest_fields, round_fields in specs:
        if db.session.scalar(select(Contest.id).where(Contest.title == title)) is not None:
            continue
        # Published at once: the demo's contests are for trying, not for preparing.
        contest = contest_service.create_contest(
            title, status=ContestStatus.PUBLISHED, published_at=now, **contest_fields
        )
        contest_service.save_round(contest.id, bank_id=bank_id, **round_fields)
        created.append(title)
    db.session.commit()
    return created


FINAL_CONTEST = "2026年网络安全知识竞赛·现场决赛"
FINAL_TEAMS = 4  # demo01–demo12: four teams of three, the first of each its captain
FINAL_RUN_SHEET: list[dict[str, Any]] = [
    {"kind": "required", "points": 10, "pool": {"type": "single", "count": 4}},
    {"kind": "choice", "points": 10, "pool": {"type": "single", "count": 6}},
    {
        "kind": "buzz",
        "points": 10,
        "deduction": 5,
        "pass_on_wrong": True,
        "pool": {"type": "single", "count": 5},
    },
    {"kind": "risk", "tiers": [10, 20, 30], "pool": {"type": "true_false", "count": 4}},
    {"kind": "all", "points": 10, "speed_points": 5, "pool": {"type": "multiple", "count": 3}},
    {"kind": "tiebreak", "points": 10, "pool": {"type": "true_false", "count": 2}},
]


def load_demo_final(bank_id: int, now: datetime) -> bool:
    """A live final to try the host console, the team phones and the big screen with (created
    once): four teams of demo contestants and a run sheet with every kind of segment."""
    from contest.live_final import setup

    if db.session.scalar(select(Contest.id).where(Contest.title == FINAL_CONTEST)) is not None:
        return False
    users = {
        user.username: user
        for user in db.session.scalars(select(User).where(User.username.in_(CONTESTANTS[:12])))
    }
    if len(users) < FINAL_TEAMS * 3:  # the demo's accounts are made first; without them, no final
        return False
    from contest.services import contests as contest_service

    contest = contest_service.create_contest(
        FINAL_CONTEST,
        status=ContestStatus.PUBLISHED,
        published_at=now,
        description="现场决赛演示：主持人控制台、队伍手机抢答、大屏幕。",
    )
    db.session.flush()
    teams = []
    for number in range(FINAL_TEAMS):
        members = [users[name] for name in CONTESTANTS[number * 3 : number * 3 + 3]]
        teams.append(
            {
                "name": f"第{number + 1}队",
                "organization_id": members[0].organization_id,
                "members": [{"user_id": member.id} for member in members],
            }
        )
    setup.create_live_round(
        contest.id,
        title="现场决赛",
        bank_id=bank_id,
        segments=FINAL_RUN_SHEET,
        teams=teams,
        devices="team",
        seed=2026,
    )
    return True


DEMO_UNIT_TREE = {"第一中学": "高新区", "信息工程学院": "滨海区"}  # unit → its district
DEMO_SIGNUP_FIELDS = [{"key": "school", "label": "学校/班级", "required": False}]
DEMO_SIGNUP_NOTICE = (
    "竞赛规则：独立作答，不得求助他人或使用搜索工具；每次作答限时 10 分钟。\n"
    "隐私说明：手机号仅作为登录账号和组织者联系之用，不做短信验证，不在排行榜等公开页面显示；"
    "排行榜只显示隐去部分的姓名和单位。"
)


def open_demo_signup() -> None:
    """Let the practice contest take public sign-ups (注册), its units a 区县 → 单位 tree.
    Only the first run sets the sign-up settings; later runs keep an organizer's changes."""
    from contest.models import Organization

    orgs = {o.name: o for o in db.session.scalars(select(Organization))}
    for unit, district in DEMO_UNIT_TREE.items():
        if unit in orgs and district in orgs and orgs[unit].parent_id is None:
            orgs[unit].parent_id = orgs[district].id
    contest = db.session.scalar(select(Contest).where(Contest.title == PRACTICE_CONTEST))
    if contest is not None and not contest.signup_notice:
        contest.signup_open = True
        contest.signup_fields = DEMO_SIGNUP_FIELDS
        contest.signup_notice = DEMO_SIGNUP_NOTICE
    db.session.commit()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _embedded_redis(directory: Path) -> Iterator[str]:
    server = EmbeddedRedis(directory)
    if not server.start():
        raise click.ClickException(
            f"another process already runs this install's Redis ({server.socket_path}); "
            "is `contest demo` already running?"
        )
    try:
        yield server.url
    finally:
        server.stop()


def _redis(configured: str | None, instance: Path) -> AbstractContextManager[str]:
    """The configured Redis, or this process's own embedded server."""
    return nullcontext(configured) if configured else _embedded_redis(instance / "redis")


def _start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "contest", "worker", "--name", f"demo-worker-{n}-{os.getpid()}"],
            env=env,
            preexec_fn=_die_with_parent,
        )
        for n in range(1, count + 1)
    ]


def _stop(processes: list[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_demo(base_app: Flask, laws: Path | None = None) -> None:
    """Run the stack until Ctrl-C or SIGTERM; see the module docstring. ``laws``: a folder of law
    texts to import first (default ``CONTEST_DEMO_LAWS``; neither: no law texts)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # A shell without job control starts `make demo &` with SIGINT ignored, which Python keeps:
    # the demo stops on it all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = base_app.config
    password = config["CONTEST_DEMO_PASSWORD"] or secrets.token_urlsafe(9)
    laws = laws or (Path(config["CONTEST_DEMO_LAWS"]) if config["CONTEST_DEMO_LAWS"] else None)
    if laws is not None and not laws.is_dir():
        raise click.ClickException(f"the law texts folder {laws} does not exist")
    instance = Path(base_app.instance_path)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with _redis(config["CONTEST_REDIS_URL"], instance) as redis_url:
            app = create_app({"REDIS_URL": redis_url, "INSTANCE_PATH": str(instance)})
            with app.app_context():
                upgrade(directory=app.extensions["migrate"].directory)
                counts = seed_demo_data(password)
                now = datetime.now(UTC)
                counts.update(load_demo_bank(now))
                # after the bank: the import flags the questions citing a superseded version
                library = (laws, load_demo_laws(laws, now)) if laws is not None else None
                # The embedded Redis starts empty: boards come back from the database.
                leaderboards.rebuild_all(redis_hub.client)
                practice_id = db.session.scalar(
                    select(Contest.id).where(Contest.title == PRACTICE_CONTEST)
                )
                final_id = db.session.scalar(
                    select(Round.id)
                    .join(Contest, Contest.id == Round.contest_id)
                    .where(Contest.title == FINAL_CONTEST, Round.mode == "live")
                )
            env = dict(os.environ, CONTEST_REDIS_URL=redis_url, CONTEST_INSTANCE_PATH=str(instance))
            workers = _start_workers(config["CONTEST_DEMO_WORKERS"], env)
            server = make_server(config["CONTEST_HOST"], config["CONTEST_PORT"], app, threaded=True)
            _banner(app, password, counts, practice_id, library, final_id)
            try:
                server.serve_forever()
            finally:
                _stop(workers)  # before Redis goes: a worker may be finishing a job
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        _stop(workers)
    click.echo("Stopped: web server, workers and Redis.")


def _banner(
    app: Flask,
    password: str,
    counts: dict[str, int],
    practice_id: int | None,
    laws: tuple[Path, LawImportReport] | None,
    final_id: int | None = None,
) -> None:
    url = f"http://{app.config['CONTEST_HOST']}:{app.config['CONTEST_PORT']}/"
    click.echo("")
    click.echo("NetSec Contest demo is running")
    click.echo(f"  URL:       {url}")
    click.echo(
        f"  Accounts:  {ORGANIZER} (organizer), {CONTESTANTS[0]} … {CONTESTANTS[-1]} (contestants)"
    )
    click.echo(f"  Password:  {password}")
    click.echo(
        f"  Data:      {app.config['SQLALCHEMY_DATABASE_URI']} "
        f"({counts['created']} accounts created, {counts['reused']} reused)"
    )
    click.echo(
        f"  Contests:  {PRACTICE_CONTEST} (practice, always open), "
        f"{PRELIMINARY_CONTEST} (scheduled preliminary)"
    )
    if practice_id is not None:
        click.echo(f"  Board:     {url}boards/contests/{practice_id}  (no login)")
        click.echo(f"  Screen:    {url}boards/contests/{practice_id}/screen  (1920×1080 projector)")
        click.echo(f"  Sign-up:   {url}contests/{practice_id}/signup  (注册, no account needed)")
    if final_id is not None:
        click.echo(
            f"  Final:     host {url}live/{final_id}/host (organizer), "
            f"teams {url}live/{final_id}/team ({CONTESTANTS[0]}–{CONTESTANTS[11]}: four teams "
            "of three), "
            f"screen {url}live/{final_id}/screen"
        )
    click.echo(
        f"  Bank:      {DEMO_BANK} ({counts['questions_created']} questions created, "
        f"{counts['questions_reused']} already there)"
    )
    if laws is not None:
        folder, report = laws
        click.echo(
            f"  Laws:      {folder} ({len(report.imported)} versions imported, "
            f"{len(report.unchanged)} already there, {len(report.skipped)} files skipped; "
            f"{report.flagged_questions} questions cite a superseded version)"
        )
    click.echo("  Stop with Ctrl-C.")
    click.echo("", nl=True)
    sys.stdout.flush()
