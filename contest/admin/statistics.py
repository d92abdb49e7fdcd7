"""The contest's statistics report page and its XLSX download (organizers).

The page shows the cached report, or — while the worker computes it — its progress, polling
getContestReport and reloading once it is ready. Every chart is followed by its table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from contest.admin import bp
from contest.extensions import db
from contest.models import Contest
from contest.services import report_charts as charts
from contest.services import statistics as stats
from contest.services.report_xlsx import area_label, flag_label, options_text, workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope_charts(title: str, scope: Mapping[str, Any]) -> dict[str, Markup]:
    dist = scope["distribution"]
    labels = [f"{b['low']}–{b['high']}" for b in dist["bins"]]
    return {
        "histogram": charts.histogram(
            [b["count"] for b in dist["bins"]],
            labels,
            _("%(scope)s: score distribution", scope=title),
            _("Contestants per score range; the table below gives the numbers."),
        ),
        "areas": charts.bar_chart(
            [(area_label(a["name"]), a["facility"]) for a in scope["areas"]],
            _("%(scope)s: facility by area", scope=title),
            _("Share of the points earned per area; the table below gives the numbers."),
        ),
        "items": charts.bar_chart(
            [(f"#{i['question_id']} v{i['version']}", i["facility"]) for i in scope["items"]],
            _("%(scope)s: facility per item", scope=title),
            _("Share of the points earned per question version; see the item table."),
        ),
    }


def _participation_charts(part: Mapping[str, Any]) -> dict[str, Markup]:
    days = part["days"]
    return {
        "days": charts.line_chart(
            [d["date"] for d in days],
            [
                (_("Enrolled"), [d["enrolled"] for d in days]),
                (_("Started"), [d["started"] for d in days]),
                (_("Submitted"), [d["submitted"] for d in days]),
            ],
            _("Participation over time"),
            _("Cumulative contestants per Beijing day; the table below gives the numbers."),
        ),
        "units": charts.bar_chart(
            [(u["name"], u["participation_rate"]) for u in part["units"]],
            _("Participation rate by unit"),
            _("Submitted of enrolled per unit; the table below gives the numbers."),
        ),
    }


@bp.route("/contests/<int:contest_id>/report")
def contest_report(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    state = stats.report_state(contest.id)
    report = state.report
    context: dict[str, Any] = {"contest": contest, "state": state, "report": report}
    if report is not None:
        scopes = [(r["title"], r) for r in report["rounds"]]
        if len(report["rounds"]) > 1:
            scopes.append((_("Contest total"), report["total"]))
        context |= {
            "scopes": [(title, scope, _scope_charts(title, scope)) for title, scope in scopes],
            "participation": report["participation"],
            "participation_charts": _participation_charts(report["participation"]),
            "flag_label": flag_label,
            "area_label": area_label,
            "options_text": options_text,
        }
    return render_template("admin/contests/report.html", **context)


@bp.route("/contests/<int:contest_id>/report.xlsx")
def contest_report_xlsx(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    report = stats.cached_report(contest.id)
    if report is None:
        flash(_("The report is being computed: download it once it is shown."), "info")
        return redirect(url_for("admin.contest_report", contest_id=contest.id))
    return Response(
        workbook(report),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="contest-{contest.id}-report.xlsx"'},
    )
