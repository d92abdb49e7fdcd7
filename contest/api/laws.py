"""The review queue after a law is amended (organizers): listAmendmentReviews and
applyAmendmentUpdate (see :mod:`contest.services.amendments`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_login import current_user

from contest.api.blueprint import blp
from contest.extensions import db
from contest.i18n import local_day
from contest.security import organizer_required
from contest.services import amendments


class _ArticleSchema(ma.Schema):
    number = ma.fields.Integer()
    text = ma.fields.String()


class _ChangeSchema(ma.Schema):
    op = ma.fields.String(metadata={"description": "equal, delete or insert"})
    text = ma.fields.String()


class AmendmentReviewSchema(ma.Schema):
    question_id = ma.fields.Integer()
    bank_id = ma.fields.Integer()
    law = ma.fields.String(metadata={"description": "the law as the citation names it"})
    cited_version = ma.fields.String(allow_none=True)
    cited_article = ma.fields.Integer(allow_none=True)
    quote = ma.fields.String(allow_none=True)
    version_in_force = ma.fields.String()
    old_article = ma.fields.Nested(_ArticleSchema, allow_none=True)
    proposed_article = ma.fields.Nested(_ArticleSchema, allow_none=True)
    similarity = ma.fields.Float(allow_none=True, metadata={"description": "0…1"})
    identical = ma.fields.Boolean()
    quote_found = ma.fields.Boolean(allow_none=True)
    one_click = ma.fields.Boolean(
        metadata={"description": "applyAmendmentUpdate may move the citation"}
    )
    changes = ma.fields.List(ma.fields.Nested(_ChangeSchema))


class AmendmentReviewListSchema(ma.Schema):
    reviews = ma.fields.List(ma.fields.Nested(AmendmentReviewSchema))


class AppliedSchema(ma.Schema):
    question_id = ma.fields.Integer()
    version_number = ma.fields.Integer(metadata={"description": "the new question version"})
    old = ma.fields.String()
    new = ma.fields.String()
    rewritten = ma.fields.Integer(
        metadata={"description": "article numbers rewritten in the stem and explanation"}
    )
    left = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "fields still naming the old article number (left alone)"},
    )


def review_body(row: amendments.ReviewRow) -> dict[str, Any]:
    proposal = row.proposal
    return {
        "question_id": row.question.id,
        "bank_id": row.question.bank_id,
        "law": row.cited.citation_law,
        "cited_version": row.cited.citation_version,
        "cited_article": row.cited.citation_article,
        "quote": row.cited.citation_quote,
        "version_in_force": row.current.version,
        "old_article": {"number": row.old.number, "text": row.old.text} if row.old else None,
        "proposed_article": (
            {"number": proposal.new.number, "text": proposal.new.text} if proposal else None
        ),
        "similarity": proposal.similarity if proposal else None,
        "identical": bool(proposal and proposal.identical),
        "quote_found": proposal.quote_found if proposal else None,
        "one_click": row.one_click,
        "changes": [{"op": op, "text": text} for op, text in row.changes],
    }


@blp.route("/law-reviews", methods=["GET"])
@blp.doc(
    operationId="listAmendmentReviews",
    summary="Questions citing a superseded law version, with the proposed article (organizers)",
    description="Every question whose current version cites a version of a law that a newer "
    "version in force today has superseded (they are flagged for review as they are listed), "
    "with the cited article, the proposed article of the version in force, their similarity and "
    "a diff in runs of characters.",
)
@organizer_required
@blp.response(200, AmendmentReviewListSchema)
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
def list_amendment_reviews() -> dict[str, Any]:
    rows = amendments.review_queue(local_day(datetime.now(UTC)))
    db.session.commit()
    return {"reviews": [review_body(row) for row in rows]}


@blp.route("/law-reviews/<int:question_id>/apply", methods=["POST"])
@blp.doc(
    operationId="applyAmendmentUpdate",
    summary="Cite the version in force: a new question version (organizers)",
    description="Only where the wording of the article is unchanged or the question's quote is "
    "found verbatim in the proposed article (409 `wording_changed` otherwise: edit the "
    "question); 404 when the question cites no superseded version.",
)
@organizer_required
@blp.response(200, AppliedSchema)
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
@blp.alt_response(404, description="Not in the review queue")
@blp.alt_response(409, description="The wording changed")
def apply_amendment_update(question_id: int) -> dict[str, Any]:
    applied = amendments.apply_update(
        question_id,
        today=local_day(datetime.now(UTC)),
        actor=current_user._get_current_object(),
        now=datetime.now(UTC),
    )
    db.session.commit()
    return {
        "question_id": applied.question_id,
        "version_number": applied.version_number,
        "old": applied.old,
        "new": applied.new,
        "rewritten": applied.rewritten,
        "left": applied.left,
    }
