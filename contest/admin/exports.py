"""Organizer pages for exports: the results export form of a contest (成绩导出), the status page
of any export (a progress bar that polls getExport, then the download link) and the download."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField

from contest.admin import bp
from contest.api.exports import download, export_out, readable
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Contest, Organization
from contest.services import exports, results_export


class ResultsExportForm(FlaskForm):
    scope = RadioField(_l("What to export"), default="contest")
    round_id = SelectField(_l("Round"), coerce=int, validate_choice=False)
    organization_id = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    format = RadioField(_l("Format"), default="xlsx")
    split_units = BooleanField(_l("XLSX: also one sheet per unit"))


def _form(contest: Contest) -> ResultsExportForm:
    form = ResultsExportForm()
    form.scope.choices = [
        ("contest", _("The whole contest (total over rounds)")),
        ("round", _("One round")),
        ("unit", _("One unit (and its units)")),
    ]
    form.format.choices = [("xlsx", "XLSX (Excel)"), ("csv", "CSV")]
    form.round_id.choices = [(r.id, r.title) for r in contest.rounds] or [(0, "—")]
    organizations = db.session.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    ).all()
    form.organization_id.choices = [(o.id, o.name) for o in organizations] or [(0, "—")]
    return form


@bp.route("/contests/<int:contest_id>/exports/results", methods=["GET", "POST"])
def results_export_page(contest_id: int) -> Any:
    """Choose the scope and the format, then start the export and go to its status page."""
    contest = db.get_or_404(Contest, contest_id)
    form = _form(contest)
    if form.validate_on_submit():
        params: dict[str, Any] = {
            "scope": form.scope.data,
            "format": form.format.data,
            "split_units": form.split_units.data,
        }
        if form.scope.data == "round":
            params["round_id"] = form.round_id.data
        if form.scope.data == "unit":
            params["organization_id"] = form.organization_id.data
        try:
            params = results_export.validate_params(contest.id, params)
            job = exports.start_export(
                "results", contest.id, params, current_user._get_current_object()
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            return redirect(url_for("admin.export_status", export_id=job.id))
    return render_template("admin/exports/results.html", contest=contest, form=form)


@bp.route("/exports/<int:export_id>")
def export_status(export_id: int) -> Any:
    """Any export's status: progress while it runs, then the download link."""
    job = readable(export_id)
    contest = db.session.get(Contest, job.contest_id)
    if contest is None:
        abort(404)
    return render_template(
        "admin/exports/status.html", job=job, view=export_out(job), contest=contest
    )


@bp.route("/exports/<int:export_id>/file")
def export_file(export_id: int) -> Any:
    return download(readable(export_id))
