"""Roster import (``contest users import``): all or nothing, every problem with its row number."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import Organization, Role, User
from contest.services.accounts import verify_password
from contest.services.roster import RosterError, import_roster
from tests.conftest import add_user

GOOD = (
    "单位,用户名,姓名,密码\n"
    "第一中学,stu001,张三,pass-word-1\n"
    "第一中学,stu002,李四,\n"
    "高新区,stu003,王五,\n"
)


def count_users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User)) or 0


def test_csv_with_bom_imports_and_generates_missing_passwords(app: Flask) -> None:
    with app.app_context():
        result = import_roster("roster.csv", ("\ufeff" + GOOD).encode())
        assert (result.created, result.organizations) == (3, 2)
        assert [name for name, _ in result.generated] == ["stu002", "stu003"]
        alice = db.session.scalar(select(User).where(User.username == "stu001"))
        assert alice is not None and alice.role is Role.CONTESTANT
        assert alice.display_name == "张三" and alice.organization.name == "第一中学"
        assert alice.password_hash.startswith("$argon2id$")
        assert verify_password(alice.password_hash, "pass-word-1")
        generated = dict(result.generated)
        bob = db.session.scalar(select(User).where(User.username == "stu002"))
        assert bob is not None and verify_password(bob.password_hash, generated["stu002"])


def test_gbk_csv_is_detected(app: Flask) -> None:
    with app.app_context():
        assert import_roster("roster.csv", GOOD.encode("gbk")).created == 3


def test_xlsx_with_english_headers(app: Flask) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["username", "display_name", "organization"])
    sheet.append(["x01", "赵六", "滨海区"])
    sheet.append([None, None, None])  # blank rows are ignored
    sheet.append(["x02", "钱七", "滨海区"])
    buffer = io.BytesIO()
    book.save(buffer)
    with app.app_context():
        assert import_roster("roster.xlsx", buffer.getvalue()).created == 2
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1


def test_a_bad_row_imports_nothing_and_names_every_row(app: Flask) -> None:
    with app.app_context():
        add_user("taken")
    content = (
        "单位,用户名,姓名,密码\n"
        "第一中学,ok001,张三,\n"
        "第一中学,bad name!,李四,\n"  # row 3: invalid username
        ",ok002,王五,short\n"  # row 4: no organization, password too short
        "第一中学,ok001,赵六,\n"  # row 5: repeats row 2
        "第一中学,taken,钱七,\n"  # row 6: exists already
    ).encode()
    with app.app_context(), pytest.raises(RosterError) as caught:
        import_roster("roster.csv", content)
    problems = caught.value.problems
    rows = [int(re.match(r"\D*(\d+)", p).group(1)) for p in problems]  # type: ignore[union-attr]
    assert rows == [3, 4, 4, 5, 6], problems
    assert count_users(app) == 1


def test_missing_column_and_wrong_type_are_refused(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(RosterError, match="display_name"):
            import_roster("r.csv", "单位,用户名\n第一中学,a01\n".encode())
        with pytest.raises(RosterError, match=r"\.txt"):
            import_roster("r.txt", b"whatever")
        with pytest.raises(RosterError):
            import_roster("r.xlsx", b"not a zip file")
        with pytest.raises(RosterError):
            import_roster("r.csv", b"\xff\xfe\xfa\xfb" * 10)


def test_cli_imports_and_writes_generated_passwords(app: Flask, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(GOOD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["users", "import", str(roster)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "roster.csv.passwords.csv"
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["用户名", "密码"] and [r[0] for r in rows[1:]] == ["stu002", "stu003"]
    assert out.stat().st_mode & 0o077 == 0
    assert count_users(app) == 3


def test_cli_reports_bad_rows_and_exits_nonzero(app: Flask, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("单位,用户名,姓名\n第一中学,ok,张三\n第一中学,!!,李四\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["users", "import", str(roster)])
    assert result.exit_code == 1
    assert "3" in result.output and "nothing imported" in result.output
    assert count_users(app) == 0
