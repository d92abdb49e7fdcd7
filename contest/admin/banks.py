"""Organizer pages for question banks: list, search, author, review, import, export."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from contest.admin import bp
from contest.admin.forms import BankForm, ImportForm, QuestionForm
from contest.auth.views import safe_next
from contest.errors import DomainError
from contest.extensions import db, reads_only
from contest.http_limits import takes_upload
from contest.labels import difficulty_label, status_label, type_label
from contest.models import User
from contest.services import bank as bank_service
from contest.services import images as image_service
from contest.services.imports import create_import, get_import
from contest.services.laws import cited_article
from question_bank import markdown
from question_bank.domain import (
    OPTION_LETTERS,
    Citation,
    Difficulty,
    QuestionData,
    QuestionType,
)
from question_bank.formats import get_format
from question_bank.formats.notation import answer_text as format_answer
from question_bank.formats.notation import parse_answer
from question_bank.images import MAX_BYTES as MAX_IMAGE_BYTES
from question_bank.models import Bank, Category, Question, QuestionStatus
from workers.imports import enqueue_import

PAGE_SIZE = 50
EXPORT_FORMATS = ("xlsx", "csv", "json", "gift", "moodle-xml", "aiken")


def _now() -> datetime:
    return datetime.now(UTC)


# Banks -------------------------------------------------------------------------------------------


@bp.route("/banks", methods=["GET", "POST"])
def banks() -> Any:
    form = BankForm()
    if form.validate_on_submit():
        try:
            bank = bank_service.create_bank(form.name.data or "", form.description.data or "")
            db.session.commit()
        except DomainError as exc:
            form.name.errors = [exc.message]
        else:
            flash(_("Bank %(name)s created.", name=bank.name), "info")
            return redirect(url_for("admin.bank", bank_id=bank.id))
    rows = [
        (b, bank_service.status_counts(b.id))
        for b in db.session.scalars(select(Bank).order_by(Bank.id))
    ]
    return render_template(
        "admin/banks/index.html", rows=rows, form=form, statuses=list(QuestionStatus)
    )


def _filters() -> bank_service.QuestionFilter:
    args = request.args

    def enum_arg(enum_class: Any, name: str) -> Any:
        value = args.get(name) or None
        try:
            return enum_class(value) if value else None
        except ValueError:
            return None

    return bank_service.QuestionFilter(
        text=args.get("q", "")[:200],
        category=args.get("category", "")[:500],
        type=enum_arg(QuestionType, "type"),
        difficulty=enum_arg(Difficulty, "difficulty"),
        status=enum_arg(QuestionStatus, "status"),
        tag=args.get("tag", "")[:100],
        law=args.get("law", "")[:120],
        needs_review=args.get("needs_review") == "1",
        missing_explanation=args.get("missing_explanation") == "1",
    )


@bp.route("/banks/<int:bank_id>")
def bank(bank_id: int) -> Any:
    bank = db.get_or_404(Bank, bank_id)
    filters = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(
        bank_service.search_query(bank.id, filters), page=page, per_page=PAGE_SIZE, error_out=False
    )
    categories = db.session.scalars(
        select(Category.path).where(Category.bank_id == bank.id).order_by(Category.path)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "admin/banks/bank.html",
        bank=bank,
        pagination=pagination,
        filters=filters,
        categories=categories,
        counts=bank_service.status_counts(bank.id),
        args=args,
        statuses=list(QuestionStatus),
        types=list(QuestionType),
        difficulties=list(Difficulty),
        export_formats=EXPORT_FORMATS,
    )


@bp.route("/banks/<int:bank_id>/status", methods=["POST"])
def bulk_status(bank_id: int) -> Any:
    bank = db.get_or_404(Bank, bank_id)
    try:
        target = QuestionStatus(request.form.get("to", ""))
    except ValueError:
        abort(400)
    ids = [int(i) for i in request.form.getlist("question_id") if i.isdigit()]
    if not ids:
        flash(_("Select at least one question."), "error")
    else:
        result = bank_service.change_status(
            ids, target, bank_id=bank.id, actor_id=current_user.id, now=_now()
        )
        db.session.commit()
        flash(
            _(
                "%(n)d question(s) moved to %(status)s.",
                n=len(result.changed),
                status=status_label(target),
            ),
            "info",
        )
        if result.refused:
            flash(
                _(
                    "%(n)d question(s) cannot move there from their status: %(ids)s",
                    n=len(result.refused),
                    ids=", ".join(f"#{i}" for i, _s in result.refused),
                ),
                "error",
            )
    return redirect(safe_next(request.form.get("next")) or url_for("admin.bank", bank_id=bank.id))


# One question ------------------------------------------------------------------------------------


def form_to_data(form: QuestionForm) -> tuple[QuestionData | None, list[str]]:
    """The form's question, or error messages (already translated)."""
    kind = QuestionType(form.type.data)
    options = [(f.data or "").strip() for f in form.option_fields()]
    while options and not options[-1]:
        options.pop()
    errors: list[str] = []
    if kind in (QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK):
        options = []
    elif "" in options:
        errors.append(_("Options must be filled in from A without gaps."))
    answer, problems = parse_answer(kind, form.answer.data or "", tuple(options))
    errors += [problem.render(_) for problem in problems]
    citation = None
    if (form.law.data or "").strip():
        if not form.article.data:
            errors.append(_("A citation needs the article number."))
        else:
            citation = Citation(
                law=form.law.data.strip(),
                article=form.article.data,
                version=(form.law_version.data or "").strip() or None,
                quote=(form.quote.data or "").strip() or None,
            )
    if errors or answer is None:
        return None, errors
    tags = tuple(t.strip() for t in re.split(r"[,，、]", form.tags.data or "") if t.strip())
    return QuestionData(
        type=kind,
        stem=(form.stem.data or "").strip(),
        options=tuple(options),
        answer=answer,
        explanation=(form.explanation.data or "").strip(),
        difficulty=Difficulty(form.difficulty.data),
        category=(form.category.data or "").strip(),
        tags=tags,
        citation=citation,
    ), []


def data_to_form(data: QuestionData, form: QuestionForm) -> None:
    form.type.data = data.type.value
    form.stem.data = data.stem
    for field, text in zip(form.option_fields(), [*data.options, *[""] * 8], strict=False):
        field.data = text
    form.answer.data = format_answer(data)
    form.explanation.data = data.explanation
    form.difficulty.data = data.difficulty.value
    form.category.data = data.category
    form.tags.data = ", ".join(data.tags)
    if data.citation:
        form.law.data = data.citation.law
        form.law_version.data = data.citation.version or ""
        form.article.data = data.citation.article
        form.quote.data = data.citation.quote or ""


def _save(form: QuestionForm, bank: Bank, question: Question | None) -> Any:
    """Validate and save; returns a redirect, or None to show the form again with errors."""
    data, errors = form_to_data(form)
    if data is not None:
        duplicates = bank_service.find_duplicates(
            bank.id, data, exclude_id=question.id if question else None
        )
        if duplicates and request.form.get("confirm_duplicate") != "1":
            return None, data, duplicates, errors
        try:
            if question is None:
                question = bank_service.add_question(
                    bank.id, data, actor_id=current_user.id, now=_now()
                )
            else:
                bank_service.edit_question(question.id, data, actor_id=current_user.id, now=_now())
            db.session.commit()
        except bank_service.QuestionInvalid as exc:
            db.session.rollback()
            errors = [bank_service.render(p) for p in exc.problems]
        else:
            flash(_("Question saved."), "info")
            return redirect(url_for("admin.question", question_id=question.id)), data, [], []
    return None, data, [], errors


@bp.route("/banks/<int:bank_id>/questions/new", methods=["GET", "POST"])
def new_question(bank_id: int) -> Any:
    bank = db.get_or_404(Bank, bank_id)
    form = QuestionForm()
    data, duplicates, errors = None, [], []
    if form.validate_on_submit():
        response, data, duplicates, errors = _save(form, bank, None)
        if response is not None:
            return response
    return _question_form(bank, form, None, data, duplicates, errors)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
def edit_question(question_id: int) -> Any:
    question = db.get_or_404(Question, question_id)
    bank = db.get_or_404(Bank, question.bank_id)
    form = QuestionForm()
    data, duplicates, errors = None, [], []
    if request.method == "GET":
        data_to_form(bank_service.question_data(question), form)
    elif form.validate_on_submit():
        response, data, duplicates, errors = _save(form, bank, question)
        if response is not None:
            return response
    return _question_form(bank, form, question, data, duplicates, errors)


def _question_form(
    bank: Bank,
    form: QuestionForm,
    question: Question | None,
    data: QuestionData | None,
    duplicates: list[int],
    errors: list[str],
) -> Any:
    categories = db.session.scalars(
        select(Category.path).where(Category.bank_id == bank.id).order_by(Category.path)
    ).all()
    status = 422 if (errors or duplicates or form.errors) else 200
    return render_template(
        "admin/banks/question_form.html",
        bank=bank,
        form=form,
        question=question,
        preview=data,
        duplicates=duplicates,
        errors=errors,
        categories=categories,
        letters=OPTION_LETTERS,
    ), status


@bp.route("/questions/<int:question_id>")
def question(question_id: int) -> Any:
    question = db.get_or_404(Question, question_id)
    data = bank_service.question_data(question)
    article = cited_article(data.citation) if data.citation else None
    history = bank_service.versions(question.id)
    changes = bank_service.status_changes(question.id)
    people = {v.created_by_id for v in history} | {c.changed_by_id for c in changes}
    authors = dict(
        db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(people - {None}))
        ).all()
    )
    return render_template(
        "admin/banks/question.html",
        question=question,
        data=data,
        article=article,
        versions=history,
        changes=changes,
        authors=authors,
        bank=db.get_or_404(Bank, question.bank_id),
        statuses=list(QuestionStatus),
    )


@bp.route("/questions/<int:question_id>/reviewed", methods=["POST"])
def mark_reviewed(question_id: int) -> Any:
    db.get_or_404(Question, question_id)
    bank_service.mark_reviewed(question_id, actor_id=current_user.id, now=_now())
    db.session.commit()
    flash(_("Marked as reviewed."), "info")
    return redirect(url_for("admin.question", question_id=question_id))


@bp.route("/questions/<int:question_id>/diff")
def question_diff(question_id: int) -> Any:
    question = db.get_or_404(Question, question_id)
    history = {v.number: v for v in bank_service.versions(question.id)}
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    if a not in history or b not in history:
        abort(404)
    left = _version_lines(bank_service.version_data(history[a]))
    right = _version_lines(bank_service.version_data(history[b]))
    diff = list(difflib.unified_diff(left, right, f"v{a}", f"v{b}", lineterm="", n=100))
    return render_template("admin/banks/diff.html", question=question, a=a, b=b, diff=diff[2:])


def _version_lines(data: QuestionData) -> list[str]:
    # Labels are looked up outside the f-strings: message extraction cannot see into them.
    labels = {
        "type": _("Type:"),
        "difficulty": _("Difficulty:"),
        "stem": _("Stem:"),
        "answer": _("Answer:"),
        "explanation": _("Explanation:"),
        "tags": _("Tags:"),
        "law": _("Law:"),
    }
    lines = [
        f"{labels['type']} {type_label(data.type)}",
        f"{labels['difficulty']} {difficulty_label(data.difficulty)}",
        labels["stem"],
        *data.stem.splitlines(),
    ]
    lines += [f"{OPTION_LETTERS[i]}. {o}" for i, o in enumerate(data.options)]
    lines += [
        f"{labels['answer']} {format_answer(data)}",
        labels["explanation"],
        *data.explanation.splitlines(),
        f"{labels['tags']} {', '.join(data.tags)}",
    ]
    if data.citation:
        c = data.citation
        lines.append(f"{labels['law']} {c.law} ({c.version or '-'}) #{c.article} {c.quote or ''}")
    return lines


@bp.route("/preview", methods=["POST"])
def preview() -> Any:
    """Rendered Markdown for the editor's live preview (JSON in, JSON out)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        payload = {}
    raw_options = payload.get("options")
    stem = str(payload.get("stem", ""))[:20000]
    options = [str(o)[:2000] for o in raw_options][:8] if isinstance(raw_options, list) else []
    return jsonify(
        stem=markdown.render(stem),
        options=[markdown.render_inline(o) for o in options],
        explanation=markdown.render(str(payload.get("explanation", ""))[:20000]),
    )


# Images ------------------------------------------------------------------------------------------


@bp.route("/images", methods=["POST"])
@takes_upload
def upload_image() -> Any:
    """Store an image for question texts (field ``image``). The editor's script asks for JSON
    (``url``, ``markdown``); a plain form post gets a page with the Markdown to paste."""
    wants_json = request.accept_mimetypes.best == "application/json"
    upload = request.files.get("image")
    try:
        if upload is None or not upload.filename:
            raise image_service.ImageInvalid(_("Choose an image file."))
        # Read one byte past the limit: enough for prepare() to refuse an oversized file.
        with upload.stream as stream:
            content = stream.read(MAX_IMAGE_BYTES + 1)
        image = image_service.upload(content, actor_id=current_user.id, now=_now())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if wants_json:
            return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
        return render_template("admin/banks/image.html", error=exc.message), exc.status
    alt = re.sub(r"[\[\]()\\\s]+", " ", PurePath(upload.filename or "").stem).strip()
    snippet = f"![{alt}]({image.url})"
    body = {"url": image.url, "markdown": snippet, "width": image.width, "height": image.height}
    if wants_json:
        return jsonify(body), 201
    return render_template("admin/banks/image.html", image=body), 201


# Import and export -------------------------------------------------------------------------------


@bp.route("/banks/<int:bank_id>/import", methods=["GET", "POST"])
@takes_upload
def import_page(bank_id: int) -> Any:
    bank = db.get_or_404(Bank, bank_id)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = create_import(
                bank.id,
                upload.filename or "upload",
                upload.read(),
                actor_id=current_user.id,
                now=_now(),
                format_name=form.format.data or None,
                on_duplicate=form.on_duplicate.data,
                initial_status=QuestionStatus(form.status.data),
            )
        except DomainError as exc:
            form.file.errors = [exc.message]
        else:
            enqueue_import(job.id)
            return redirect(url_for("admin.import_status", import_id=job.id))
    return render_template("admin/banks/import.html", bank=bank, form=form), (
        422 if form.errors else 200
    )


@bp.route("/imports/<int:import_id>")
@reads_only
def import_status(import_id: int) -> Any:
    from contest.api.banks import import_body

    job = get_import(import_id)
    return render_template(
        "admin/banks/import_status.html",
        job=import_body(job),
        bank=db.get_or_404(Bank, job.bank_id),
    )


@bp.route("/banks/<int:bank_id>/template.<kind>")
def import_template(bank_id: int, kind: str) -> Any:
    from question_bank.formats.spreadsheet_template import template

    db.get_or_404(Bank, bank_id)
    if kind not in ("xlsx", "csv"):
        abort(404)
    fmt = get_format(kind)
    return Response(
        template(kind),
        content_type=fmt.media_type,  # the media type carries its own charset
        headers={"Content-Disposition": f'attachment; filename="question-template.{kind}"'},
    )


@bp.route("/banks/<int:bank_id>/export/<fmt>")
def export(bank_id: int, fmt: str) -> Any:
    bank = db.get_or_404(Bank, bank_id)
    if fmt not in EXPORT_FORMATS:
        abort(404)
    exported = bank_service.export_file(bank.id, fmt)
    return Response(
        exported.content,
        content_type=exported.media_type,  # the media type carries its own charset
        headers={
            "Content-Disposition": f'attachment; filename="bank-{bank.id}{exported.extension}"'
        },
    )


# Helpers -----------------------------------------------------------------------------------------


@bp.app_context_processor
def bank_labels() -> dict[str, Any]:
    return {
        "type_label": type_label,
        "difficulty_label": difficulty_label,
        "status_label": status_label,
        "render_markdown": markdown.render,
        "render_inline": markdown.render_inline,
        "format_answer": format_answer,
    }
