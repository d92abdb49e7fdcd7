"""Configuration keys: each key the code reads has its value in the app's config, filled by
create_app from contest.config.SETTINGS (or by Flask and its extensions), so no use site writes
a default of its own that could drift from the one in SETTINGS."""

from __future__ import annotations

import re
from pathlib import Path

from contest.config import DEFAULTS, PREFIX
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("contest", "workers", "question_bank", "bench")
# app.config["X"], current_app.config.get("X"), self.app.config.get("X", …) …
READ = re.compile(r"""config(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']\s*(,?)""")

# Reads that still carry a default at the use site, by file and key. Each repeats what the app's
# config holds anyway (RATELIMIT_ENABLED from SETTINGS, the WTF_CSRF_* switches from Flask-WTF's
# init_app), except WTF_CSRF_SECRET_KEY: Flask-WTF sets no default for it and falls back to
# SECRET_KEY itself, as the autosave lane does.
DEFAULTS_AT_USE_SITE = {
    ("contest/auth/throttle.py", "RATELIMIT_ENABLED"),
    ("contest/services/signup_guard.py", "RATELIMIT_ENABLED"),
    ("contest/api/autosave_lane.py", "WTF_CSRF_ENABLED"),
    ("contest/api/autosave_lane.py", "WTF_CSRF_CHECK_DEFAULT"),
    ("contest/api/autosave_lane.py", "WTF_CSRF_SECRET_KEY"),
}


def keys_read() -> dict[tuple[str, str], bool]:
    """(file, key) of every configuration key read with a literal name → whether that read
    passes a default."""
    found: dict[tuple[str, str], bool] = {}
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            for key, comma in READ.findall(path.read_text(encoding="utf-8")):
                found[name, key] = found.get((name, key), False) or bool(comma)
    return found


def test_the_scan_finds_the_reads() -> None:
    keys = {key for _, key in keys_read()}
    assert {"CONTEST_PUBLIC_URL", "CONTEST_STREAMS_PER_PROCESS", "BABEL_DEFAULT_LOCALE"} <= keys


def test_every_key_read_has_a_value_in_the_apps_config(tmp_path: Path) -> None:
    app = make_app(tmp_path, "redis://127.0.0.1:1/0")  # create_app connects to nothing
    missing = sorted(
        (name, key)
        for name, key in keys_read()
        if key not in app.config and (name, key) not in DEFAULTS_AT_USE_SITE
    )
    assert missing == []


def test_contest_keys_have_a_setting() -> None:
    keys = {key for _, key in keys_read() if key.startswith(PREFIX)}
    assert sorted(key for key in keys if key.removeprefix(PREFIX) not in DEFAULTS) == []


def test_no_new_default_at_a_use_site() -> None:
    with_default = {read for read, default in keys_read().items() if default}
    assert sorted(with_default - DEFAULTS_AT_USE_SITE) == []
