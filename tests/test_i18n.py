"""Translations: the zh_CN catalogue covers the code, and the language switch behaves.

msgids are English; English needs no catalogue. After changing a user-facing string, run
``make translations`` and translate the new entries of the zh_CN messages.po.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "contest" / "translations"
ZH_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ZH_MO = ZH_PO.with_suffix(".mo")
# Same inputs and keywords as the `translations` target of the Makefile.
SOURCE_DIRS = ("contest", "question_bank", "templates")
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None, "N_": None}
FIX = "run `make translations`, then translate the entries in " + str(ZH_PO.relative_to(ROOT))

# printf-style conversions as Python's % operator reads them: %(name)s, %d, %%, …
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[a-zA-Z%]")

MsgKey = tuple[str, str | None]  # (msgid, msgctxt)


def extracted_messages() -> dict[MsgKey, list[str]]:
    """Every msgid in the code and templates, with the files it appears in."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    found: dict[MsgKey, list[str]] = {}
    for directory in SOURCE_DIRS:
        for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT / directory, method_map, options_map, keywords=keywords
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault((msgid, context), []).append(f"{directory}/{filename}:{lineno}")
    return found


def load_po() -> Catalog:
    with ZH_PO.open("rb") as f:
        return read_po(f, locale="zh_Hans_CN")


def translations(catalog: Catalog) -> dict[MsgKey, object]:
    return {(texts(m.id)[0], m.context): m.string for m in catalog if m.id}


def texts(value: object) -> tuple[str, ...]:
    """A msgid or msgstr as a tuple: plural entries hold several forms."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def is_translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    strings = texts(message.string)
    return bool(strings) and all(s.strip() for s in strings)


def test_extraction_finds_messages_from_code_and_templates() -> None:
    """Guard against a babel.cfg that silently matches nothing."""
    found = {msgid for msgid, _ in extracted_messages()}
    assert "Username" in found  # lazy_gettext (_l) in contest/auth/forms.py
    assert "You have logged out." in found  # gettext (_) in contest/auth/views.py
    assert "Organizer dashboard" in found  # _() in templates/admin/index.html


def test_every_message_has_a_chinese_translation() -> None:
    catalog = load_po()
    missing = [
        f"  {msgid!r}" + (f" [context {context!r}]" if context else "") + f"  ({', '.join(where)})"
        for (msgid, context), where in sorted(
            extracted_messages().items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
        if not is_translated(catalog.get(msgid, context))
    ]
    assert not missing, (
        f"{len(missing)} message(s) have no (or only a fuzzy) zh_CN translation; {FIX}:\n"
        + "\n".join(missing)
    )


def test_catalogue_has_no_fuzzy_or_empty_entries() -> None:
    bad = [m.id for m in load_po() if m.id and not is_translated(m)]
    assert not bad, (
        f"fuzzy or empty entries in {ZH_PO.relative_to(ROOT)}: {bad}; translate them (and drop "
        "the fuzzy flag), then run `make translations`"
    )


def test_compiled_catalogue_matches_the_po() -> None:
    with ZH_MO.open("rb") as f:
        compiled = read_mo(f)
    po = {key: string for key, string in translations(load_po()).items() if string}
    mo = {key: string for key, string in translations(compiled).items() if string}
    differ = sorted(str(key[0]) for key in po.keys() | mo.keys() if po.get(key) != mo.get(key))
    assert not differ, (
        f"{ZH_MO.relative_to(ROOT)} is out of date with {ZH_PO.name} for {differ}: "
        "run `make translations` and commit the .mo"
    )


def test_translations_keep_the_placeholders() -> None:
    wrong = []
    for message in load_po():
        if not message.id or not message.string:
            continue
        ids = texts(message.id)
        expected = Counter(PLACEHOLDER.findall(ids[-1]))
        for string in texts(message.string):
            if Counter(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"  {ids[0]!r} -> {string!r}")
    assert not wrong, "translations whose %(…)s placeholders differ from the msgid:\n" + "\n".join(
        wrong
    )


# The language switch, through the pages.


def html_lang(client: FlaskClient, path: str = "/login") -> tuple[str, str]:
    response = client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    match = re.search(r'<html lang="([^"]*)"', text)
    assert match, text[:200]
    return match.group(1), text


def switch(
    client: FlaskClient, lang: str | None, *, token: bool = True, **form: str
) -> TestResponse:
    """POST the language switch form, with a valid CSRF token unless ``token`` is false."""
    data = dict(form)
    if lang is not None:
        data["lang"] = lang
    if token:
        data["csrf_token"] = csrf_token(client)
    return client.post("/lang", data=data)


def assert_chinese(client: FlaskClient) -> None:
    lang, text = html_lang(client)
    assert lang == "zh-CN", f'<html lang="{lang}">: the page should declare zh-CN'
    assert "登录" in text, "the page is not in Chinese: was the zh_CN catalogue loaded?"
    assert "网络安全知识竞赛" in text
    assert "Log in" not in text


def assert_english(client: FlaskClient) -> None:
    lang, text = html_lang(client)
    assert lang == "en"
    assert "Log in" in text
    assert "Username" in text
    assert "登录" not in text


def test_chinese_by_default_whatever_the_browser_asks(client: FlaskClient) -> None:
    assert_chinese(client)
    _, text = html_lang(client)
    assert "用户名" in text and "密码" in text  # the lazily translated form labels


def test_switching_to_english_and_back(client: FlaskClient) -> None:
    response = switch(client, "en", next="/login")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert cookie.http_only
    assert_english(client)

    assert switch(client, "zh_CN", next="/login").status_code == 302
    assert_chinese(client)


def test_switch_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = switch(client, "en", token=False, next="/login")
    assert response.status_code == 403
    assert client.get_cookie("lang") is None
    assert_chinese(client)


@pytest.mark.parametrize("value", ["fr", "", "EN", "zh-CN", "en;", "../en"])
def test_unknown_language_leaves_it_unchanged(client: FlaskClient, value: str) -> None:
    response = switch(client, value, next="/login")
    assert response.status_code == 302
    assert client.get_cookie("lang") is None
    assert_chinese(client)

    switch(client, "en")
    switch(client, value)
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert_english(client)


def test_missing_language_leaves_it_unchanged(client: FlaskClient) -> None:
    assert switch(client, None, next="/login").status_code == 302
    assert client.get_cookie("lang") is None
    assert_chinese(client)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/login", "/login"),
        ("/admin/users?page=2", "/admin/users?page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("http:/evil.example", "/"),
        ("evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_only_redirects_within_the_site(
    client: FlaskClient, target: str, expected: str
) -> None:
    response = switch(client, "en", next=target)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.scheme in ("", "http") and location.netloc in ("", "localhost")
    assert location.path + (f"?{location.query}" if location.query else "") == expected
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
