"""The deployment files agree with the code.

docker-compose.yml, the Dockerfile, the WSGI entry point and the README (its commands and its
configuration table).

Nothing here starts Docker (there is no engine on the development machine): the files are parsed
and every command they name is resolved against the real ``contest`` CLI.
"""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from click.testing import CliRunner
from flask import Flask

from contest import cli
from contest.config import PREFIX, SETTINGS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
README = ROOT / "README.md"

REQUIRED_SERVICES = ("web", "worker", "redis", "postgres")
APP_ENVIRONMENT = ("CONTEST_SECRET_KEY", "CONTEST_DATABASE_URL", "CONTEST_REDIS_URL")
# Commands Flask or an extension adds to every Flask CLI group: the README need not list them.
FOREIGN_COMMANDS = {"db", "routes", "run", "shell", "openapi"}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "no services"
    return data


@pytest.fixture
def isolated_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loading the ``contest`` group builds the app: keep its instance folder (generated secret
    key) out of the checkout, and undo the ``FLASK_RUN_FROM_CLI`` flag Flask's group sets."""
    monkeypatch.setenv("CONTEST_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "")
    yield


def cli_help(words: list[str]) -> Any:
    """Invoke ``contest WORDS --help`` in-process; exit code 0 means the command exists."""
    return CliRunner().invoke(cli.main, [*words, "--help"], prog_name="contest")


def assert_command_exists(words: list[str], where: str) -> None:
    result = cli_help(words)
    assert result.exit_code == 0, (
        f"{where}: `contest {' '.join(words)}` is not a command of the CLI "
        f"(exit {result.exit_code}):\n{result.output}"
    )


def as_argv(command: Any) -> list[str]:
    """A compose ``command`` or healthcheck ``test`` as an argument list."""
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    argv = [str(word) for word in command]
    if argv and argv[0] in ("CMD", "NONE"):
        return argv[1:]
    if argv and argv[0] == "CMD-SHELL":
        return shlex.split(" ".join(argv[1:]))
    return argv


SHELL_SEPARATORS = ("&&", "||", ";", "|")


def contest_invocations(argv: list[str]) -> list[list[str]]:
    """The arguments of each ``contest`` program run by ``argv`` (``&&``-chained ones too)."""
    simple_commands: list[list[str]] = [[]]
    for word in argv:
        if word in SHELL_SEPARATORS:
            simple_commands.append([])
        else:
            simple_commands[-1].append(word)
    return [words[1:] for words in simple_commands if words and Path(words[0]).name == "contest"]


def builds_our_image(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    context = build if isinstance(build, str) else build.get("context", ".")
    return (COMPOSE.parent / context).resolve() == ROOT


def environment_names(service: dict[str, Any]) -> set[str]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {name for name, value in env.items() if value not in (None, "")}
    return {item.split("=", 1)[0] for item in env if "=" in item and item.split("=", 1)[1]}


def readme_section(title: str) -> str:
    """The text of the README's ``## <title>`` section (up to the next ``## `` heading)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_texts(markdown: str) -> list[str]:
    """Inline code spans and fenced code block lines of ``markdown``."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
    without_blocks = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", without_blocks)
    return [line for block in blocks for line in block.splitlines()] + spans


def readme_commands(markdown: str) -> list[list[str]]:
    """``contest <word> …`` shown in code: the subcommand words (lower-case words only, so that
    placeholders such as FILE, USERNAME or ``roster.xlsx`` end the command).

    Paragraphs starting with "Planned" (planned commands the code lacks) are
    skipped.
    """
    current = "\n\n".join(
        p for p in re.split(r"\n\s*\n", markdown) if not re.match(r"\W*Planned\b", p.strip())
    )
    commands = []
    for code in code_texts(current):
        for match in re.finditer(r"(?:^|[\s/$])contest((?:\s+[a-z][a-z-]*(?=\s|$))+)", code):
            commands.append(match.group(1).split())
    return commands


# --- docker-compose.yml ----------------------------------------------------------------------


def test_compose_has_the_services_each_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in REQUIRED_SERVICES:
        assert name in services, f"docker-compose.yml lacks the {name} service"
        test = (services[name].get("healthcheck") or {}).get("test")
        assert as_argv(test), f"service {name} has no healthcheck"


def test_services_of_our_image_get_the_shared_settings(compose: dict[str, Any]) -> None:
    ours = {name: s for name, s in compose["services"].items() if builds_our_image(s)}
    assert {"web", "worker"} <= set(ours), "web and worker must build the project's image"
    for name, service in ours.items():
        missing = set(APP_ENVIRONMENT) - environment_names(service)
        assert not missing, f"service {name} does not set {sorted(missing)}"
        # The key must come from the operator, never be fixed in the file.
        assert "${CONTEST_SECRET_KEY" in str(service["environment"]["CONTEST_SECRET_KEY"])


def test_compose_runs_migrations_before_web_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrators = [
        name
        for name, s in services.items()
        if ["db", "upgrade"] in contest_invocations(as_argv(s.get("command")))
    ]
    assert migrators, "no service runs `contest db upgrade`"
    for name in ("web", "worker"):
        depends = services[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        assert any(
            depends.get(m, {}).get("condition") == "service_completed_successfully"
            for m in migrators
        ), f"{name} does not wait for the migrations"
        for backing in ("postgres", "redis"):
            assert depends.get(backing, {}).get("condition") == "service_healthy", (
                f"{name} does not wait for a healthy {backing}"
            )


def test_every_contest_command_in_compose_exists(
    compose: dict[str, Any], isolated_cli: None
) -> None:
    seen = []
    for name, service in compose["services"].items():
        for where, value in (
            ("command", service.get("command")),
            ("healthcheck", (service.get("healthcheck") or {}).get("test")),
        ):
            for words in contest_invocations(as_argv(value)):
                seen.append(words)
                assert_command_exists(words, f"docker-compose.yml {name}.{where}")
    assert ["worker"] in seen and ["health"] in seen and ["db", "upgrade"] in seen, seen


def test_a_missing_command_is_detected(isolated_cli: None) -> None:
    """The check above can fail: unknown commands, subcommands and options exit non-zero."""
    assert cli_help(["no-such-command"]).exit_code != 0
    assert cli_help(["users", "no-such-command"]).exit_code != 0
    assert cli_help(["worker", "--no-such-option"]).exit_code != 0
    assert cli_help(["db", "upgrade"]).exit_code == 0


def web_healthcheck_path(compose: dict[str, Any]) -> str:
    test = " ".join(as_argv(compose["services"]["web"]["healthcheck"]["test"]))
    urls = re.findall(r"https?://[^\s'\"]+", test)
    assert len(urls) == 1, f"the web healthcheck should request one URL: {test}"
    return urlsplit(urls[0]).path


def web_gunicorn_argv(compose: dict[str, Any]) -> list[str]:
    argv = as_argv(compose["services"]["web"].get("command"))
    assert argv and Path(argv[0]).name == "gunicorn", f"web does not run gunicorn: {argv}"
    return argv


# --- the WSGI entry point --------------------------------------------------------------------


@pytest.fixture
def wsgi_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[Flask]:
    """``contest.wsgi`` imported afresh, configured only by the environment (as gunicorn does)."""
    monkeypatch.setenv("CONTEST_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CONTEST_DATABASE_URL", f"sqlite:///{tmp_path / 'wsgi.db'}")
    monkeypatch.setenv("CONTEST_REDIS_URL", redis_url)
    monkeypatch.setenv("CONTEST_SECRET_KEY", "wsgi-test-secret")
    monkeypatch.delitem(sys.modules, "contest.wsgi", raising=False)
    module = importlib.import_module("contest.wsgi")
    app = module.app
    yield app
    from contest.extensions import db, redis_hub

    redis_hub.close(app)
    with app.app_context():
        db.engine.dispose()


def test_gunicorn_target_is_a_flask_app_built_from_the_environment(
    wsgi_app: Flask, tmp_path: Path
) -> None:
    assert isinstance(wsgi_app, Flask)
    assert Path(wsgi_app.instance_path) == (tmp_path / "instance").resolve()
    assert wsgi_app.config["SECRET_KEY"] == "wsgi-test-secret"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_web_healthcheck_url_answers_on_the_wsgi_app(
    wsgi_app: Flask, compose: dict[str, Any]
) -> None:
    response = wsgi_app.test_client().get(web_healthcheck_path(compose))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_compose_web_command_loads_with_gunicorn(compose: dict[str, Any], tmp_path: Path) -> None:
    """gunicorn itself checks the web service's exact options and loads its app target."""
    argv = web_gunicorn_argv(compose)
    assert "contest.wsgi:app" in argv
    env = {
        "PATH": str(Path(sys.executable).parent),
        "CONTEST_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTEST_SECRET_KEY": "gunicorn-check",
        "CONTEST_DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.db'}",
        "CONTEST_REDIS_URL": "redis://127.0.0.1:1/0",  # never contacted: the factory is pure
    }
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", *argv[1:], "--check-config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_copies_everything_the_app_needs() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    copied = {
        Path(src).parts[0].rstrip("/")
        for line in re.findall(r"^COPY\s+(.+)$", text, re.M)
        for src in line.split()[:-1]
        if not src.startswith("--")
    }
    if "." in copied:
        return  # the whole context (then .dockerignore decides)
    needed = {"pyproject.toml", "README.md", "templates", "migrations"}
    # Every package directory setuptools installs, once it holds code.
    needed |= {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and p.name in {"contest", "question_bank", "workers"} and any(p.glob("*.py"))
    }
    assert not needed - copied, f"the Dockerfile does not COPY {sorted(needed - copied)}"
    assert "instance" not in copied and ".venv" not in copied


def test_dockerfile_runs_gunicorn_as_a_non_root_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    assert re.search(r"pip install -e \.(\s|$)", text), "install the project (no test extras)"
    cmd = re.findall(r"^CMD\s+(.+)$", text, re.M)
    assert cmd and "gunicorn" in cmd[-1] and "contest.wsgi:app" in cmd[-1]


# --- README ----------------------------------------------------------------------------------


def test_readme_shows_the_two_quick_start_commands() -> None:
    quick_start = readme_section("Quick start")
    assert "make demo" in quick_start and "make test" in quick_start


def test_readme_mentions_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [PREFIX + s.name for s in SETTINGS if PREFIX + s.name not in text]
    assert not missing, f"README does not mention {missing}"


def test_readme_configuration_table_matches_settings() -> None:
    rows = re.findall(
        r"^\|\s*`(CONTEST_[A-Z0-9_]+)`\s*\|(.*)\|\s*$", readme_section("Configuration"), re.M
    )
    table = {name: [cell.strip() for cell in cells.split("|")] for name, cells in rows}
    expected = {PREFIX + s.name: s for s in SETTINGS}
    assert list(table) == list(expected), "the table's rows differ from contest.config.SETTINGS"
    for name, (default, meaning) in table.items():
        setting = expected[name]
        assert meaning == setting.help, f"{name}: meaning differs from SETTINGS"
        if setting.default is None:
            assert default.startswith("unset"), f"{name}: has no default value"
        else:
            assert default == f"`{setting.default}`", f"{name}: default differs from SETTINGS"


def test_readme_cli_section_commands_exist(isolated_cli: None) -> None:
    commands = readme_commands(readme_section("Command line"))
    for expected in (
        ["demo"],
        ["worker"],
        ["health"],
        ["users", "import"],
        ["users", "create-organizer"],
        ["db", "upgrade"],
    ):
        assert expected in commands, f"the CLI section does not show `contest {' '.join(expected)}`"
    for words in commands:
        assert_command_exists(words, "README, Command line")


def test_every_contest_command_in_the_readme_exists(isolated_cli: None) -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert len(commands) >= 10, commands
    for words in commands:
        assert_command_exists(words, "README")


def project_commands() -> list[str]:
    """Every leaf command of ``contest`` except Flask's and extensions' (resolved like the CLI
    does, so commands registered on the app's ``cli`` count too)."""
    main = cli.main
    with main.make_context("contest", [], resilient_parsing=True) as ctx:

        def leaves(group: click.Group, prefix: tuple[str, ...]) -> Iterator[str]:
            for name in group.list_commands(ctx):
                if not prefix and name in FOREIGN_COMMANDS:
                    continue
                command = group.get_command(ctx, name)
                if isinstance(command, click.Group):
                    yield from leaves(command, (*prefix, name))
                elif command is not None:
                    yield " ".join((*prefix, name))

        return sorted(leaves(main, ()))


def test_readme_documents_every_project_command(isolated_cli: None) -> None:
    """The CLI section shows every command the project defines (not Flask's or extensions')."""
    commands = project_commands()
    assert {"demo", "worker", "health", "users import"} <= set(commands), commands
    documented = {" ".join(words) for words in readme_commands(readme_section("Command line"))}
    missing = [command for command in commands if command not in documented]
    assert not missing, f"README's Command line section does not document: {missing}"
