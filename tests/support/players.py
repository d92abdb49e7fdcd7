"""Contestants as the tests drive them: through the API (:class:`Player`), through the pages
without JavaScript (:class:`Contestant`), and through the autosave lane beside the full Flask path
(:class:`Lane`); :func:`answer_for` answers the test bank's questions."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from contest.api.autosave_lane import AutosaveLane
from contest.models import Role
from tests.conftest import PASSWORD, add_user, api_login, csrf_token


class Player:
    """A contestant's phone: its own session, CSRF token, device id and every response seen."""

    def __init__(
        self,
        app: Flask,
        username: str,
        device: str = "phone-1",
        organization_id: int | None = None,
    ) -> None:
        with app.app_context():
            add_user(username, Role.CONTESTANT, organization_id)
        self.client = app.test_client()
        assert api_login(self.client, username, PASSWORD).status_code == 200
        self.device = device
        self.token = csrf_token(self.client)
        self.seen: list[Any] = []

    def call(self, method: str, url: str, body: Any = None) -> Any:
        response = self.client.open(
            url,
            method=method,
            json=body,
            headers={"X-CSRFToken": self.token, "X-Device-Id": self.device},
        )
        self.seen.append(response.get_json())
        return response


def answer_for(item: dict[str, Any], right: bool = True) -> Any:
    """Answers by looking at the stem (the test bank's keys are fixed by type)."""
    ids = {o["text"]: o["id"] for o in item["options"]}
    kind = item["type"]
    if kind == "single":
        return ids["乙"] if right else ids["甲"]
    if kind == "multiple":
        return [ids["甲"], ids["丙"]] if right else [ids["甲"]]
    if kind == "true_false":
        return right
    if kind == "fill_blank":
        return ["6" if right else "七"]
    return [ids["三"], ids["一"], ids["二"]] if right else [ids["一"], ids["二"], ids["三"]]


class Contestant:
    """A logged-in browser without JavaScript: forms, pages and (as the script would) the API."""

    def __init__(self, app: Flask, username: str, device: str = "phone-1") -> None:
        with app.app_context():
            add_user(username, Role.CONTESTANT)
        self.client: FlaskClient = app.test_client()
        assert api_login(self.client, username).status_code == 200
        self.token = csrf_token(self.client)
        self.device = device
        self.seen: list[str] = []

    def page(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        self.seen.append(response.get_data(as_text=True))
        return response

    def form(self, url: str, data: dict[str, str] | None = None) -> Any:
        response = self.client.post(url, data={"csrf_token": self.token, **(data or {})})
        self.seen.append(response.get_data(as_text=True))
        return response

    def api(self, method: str, url: str, body: Any = None) -> Any:
        response = self.client.open(
            url,
            method=method,
            json=body,
            headers={"X-CSRFToken": self.token, "X-Device-Id": self.device},
        )
        self.seen.append(response.get_data(as_text=True))
        return response

    def start(self, round_id: int) -> int:
        response = self.form(f"/rounds/{round_id}/start", {"device_id": self.device})
        assert response.status_code == 302, response.get_data(as_text=True)
        match = re.fullmatch(r"/attempts/(\d+)", response.headers["Location"])
        assert match, response.headers["Location"]
        return int(match.group(1))


class Lane:
    """Calls the lane and the full path with the same request, and counts hand-overs."""

    def __init__(self, app: Flask) -> None:
        lane = app.wsgi_app
        assert isinstance(lane, AutosaveLane)
        self.lane = lane
        self.full = lane.flask_wsgi
        self.handed_over = 0

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.handed_over += 1
            return self.full(environ, start_response)

        lane.flask_wsgi = counting

    @staticmethod
    def environ(player: Player, url: str, body: Any, **headers: str) -> dict[str, Any]:
        cookie = player.client.get_cookie("session")
        assert cookie is not None
        sent = {
            "Cookie": f"session={cookie.value}",
            "X-CSRFToken": player.token,
            "X-Device-Id": player.device,
            **headers,
        }
        builder = EnvironBuilder(path=url, method="PUT", json=body, headers=sent)
        return builder.get_environ()

    @staticmethod
    def run(wsgi: Any, environ: dict[str, Any]) -> tuple[str, set[tuple[str, str]], bytes]:
        seen: list[Any] = []
        body = b"".join(wsgi(environ, lambda status, headers, *_: seen.append((status, headers))))
        status, headers = seen[0]
        return status, set(headers), body

    def through_lane(self, environ: dict[str, Any]) -> tuple[str, set[tuple[str, str]], bytes]:
        return self.run(self.lane, environ)

    def through_flask(self, environ: dict[str, Any]) -> tuple[str, set[tuple[str, str]], bytes]:
        return self.run(self.full, environ)
