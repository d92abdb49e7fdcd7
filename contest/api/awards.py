"""Awards (organizers): getAwards, setAwardRules, adjustAward, lockAwards, unlockAwards,
confirmAwards, publishWinners, and the public getWinnersList (see :mod:`contest.services.awards`).

Every organizer change is recorded in the audit log; unlocking, confirming and adjusting need a
reason. getWinnersList needs no login: masked names (per the contest), no scores, 404 until
published.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from contest.api.blueprint import blp
from contest.auth.throttle import now_s
from contest.errors import NotFound
from contest.extensions import db
from contest.main import winners as winner_pages
from contest.security import organizer_required
from contest.services import award_results, award_rules, awards

NUMBER = r"^-?\d{1,7}(\.\d{1,4})?$"  # a decimal as text: "10", "12.5"


def _actor() -> Any:
    return current_user._get_current_object()


# Schemas ---------------------------------------------------------------------------------------


class AwardTierSchema(ma.Schema):
    key = ma.fields.String(load_default="", validate=ma.validate.Length(max=20))
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    mode = ma.fields.String(required=True, validate=ma.validate.OneOf(award_rules.MODES))
    value = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(NUMBER),
        metadata={"description": "a count, or a percentage of the participants (decimal text)"},
    )
    per_unit = ma.fields.Boolean(load_default=False)
    min_score = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Regexp(NUMBER)
    )


class AwardUnitRuleSchema(ma.Schema):
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    metric = ma.fields.String(required=True, validate=ma.validate.OneOf(award_rules.UNIT_METRICS))
    top = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=100_000))
    min_enrolled = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0))


class AwardRulesSchema(ma.Schema):
    tiers = ma.fields.List(
        ma.fields.Nested(AwardTierSchema), required=True, validate=ma.validate.Length(max=10)
    )
    unit_rule = ma.fields.Nested(AwardUnitRuleSchema, load_default=None, allow_none=True)


class AwardRowSchema(ma.Schema):
    rank = ma.fields.Integer()
    user_id = ma.fields.Integer()
    full_name = ma.fields.String()
    username = ma.fields.String()
    organization = ma.fields.String()
    score = ma.fields.String(metadata={"description": "decimal text"})
    tier_key = ma.fields.String(allow_none=True)
    tier_label = ma.fields.String()
    computed_key = ma.fields.String(
        allow_none=True, metadata={"description": "what the rules give (null when locked)"}
    )
    adjustment_reason = ma.fields.String()


class AwardUnitSchema(ma.Schema):
    organization_id = ma.fields.Integer()
    organization = ma.fields.String()
    label = ma.fields.String()
    value = ma.fields.String(
        metadata={"description": "participation rate (0–1) or mean score, as decimal text"}
    )


class AwardsSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    locked = ma.fields.Boolean()
    locked_at = ma.fields.AwareDateTime(allow_none=True)
    published = ma.fields.Boolean()
    needs_review = ma.fields.Boolean(
        metadata={"description": "scores changed after locking: the awards need a second look"}
    )
    review_reason = ma.fields.String()
    tiers = ma.fields.List(ma.fields.Nested(AwardTierSchema))
    unit_rule = ma.fields.Nested(AwardUnitRuleSchema, allow_none=True)
    participants = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    rows = ma.fields.List(
        ma.fields.Nested(AwardRowSchema),
        metadata={"description": "the locked result (awardees) or the preview (everyone ranked)"},
    )
    units = ma.fields.List(ma.fields.Nested(AwardUnitSchema))
    publish_from = ma.fields.Date(allow_none=True)
    publish_until = ma.fields.Date(allow_none=True)
    objection_contact = ma.fields.String()


class AwardAdjustSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    tier = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.Length(max=20),
        metadata={"description": 'a tier key; "" or null: no award; "auto": as the rules give'},
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class AwardReasonSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))


class WinnersPublishSchema(ma.Schema):
    publish_from = ma.fields.Date(load_default=None, allow_none=True)
    publish_until = ma.fields.Date(load_default=None, allow_none=True)
    objection_contact = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class WinnersRowSchema(ma.Schema):
    name = ma.fields.String(metadata={"description": "masked unless the contest shows names"})
    organization = ma.fields.String()


class WinnersTierSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    winners = ma.fields.List(ma.fields.Nested(WinnersRowSchema))


class WinnersUnitSchema(ma.Schema):
    organization = ma.fields.String()
    label = ma.fields.String()


class WinnersListSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    title = ma.fields.String()
    masked = ma.fields.Boolean()
    tiers = ma.fields.List(ma.fields.Nested(WinnersTierSchema))
    units = ma.fields.List(ma.fields.Nested(WinnersUnitSchema))
    publish_from = ma.fields.Date(allow_none=True)
    publish_until = ma.fields.Date(allow_none=True)
    objection_contact = ma.fields.String()
    published_at = ma.fields.AwareDateTime()


# Operations ------------------------------------------------------------------------------------


def awards_out(contest_id: int) -> dict[str, Any]:
    state = awards.state(contest_id)
    plan = state.plan
    return {
        "contest_id": contest_id,
        "locked": state.locked,
        "locked_at": plan.locked_at,
        "published": state.published,
        "needs_review": state.needs_review,
        "review_reason": state.review_reason,
        "tiers": plan.tiers or [],
        "unit_rule": plan.unit_rule,
        "participants": state.preview.participants,
        "counts": state.preview.counts,
        "rows": state.preview.rows,
        "units": state.preview.units,
        "publish_from": plan.publish_from,
        "publish_until": plan.publish_until,
        "objection_contact": plan.objection_contact or "",
    }


def _contest_exists(contest_id: int) -> None:
    awards.get_plan(contest_id)  # NotFound for an unknown contest


@blp.route("/contests/<int:contest_id>/awards", methods=["GET"])
@blp.doc(
    operationId="getAwards",
    summary="The awards: rules, status and the locked result or a preview (organizers)",
    description="Unlocked: the preview is recomputed from the current scores. Locked: the "
    "result as locked, `needs_review` set when scores changed since.",
)
@organizer_required
@blp.response(200, AwardsSchema)
def get_awards(contest_id: int) -> Any:
    _contest_exists(contest_id)
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/rules", methods=["PUT"])
@blp.doc(
    operationId="setAwardRules",
    summary="Replace the tier rules and the unit award rule (organizers; while unlocked)",
)
@organizer_required
@blp.arguments(AwardRulesSchema)
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="The awards are locked")
def set_award_rules(body: dict[str, Any], contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.set_rules(contest_id, body["tiers"], body.get("unit_rule"), actor=_actor())
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/adjustments", methods=["POST"])
@blp.doc(
    operationId="adjustAward",
    summary="Move a participant to another tier or remove them, with a reason (organizers)",
)
@organizer_required
@blp.arguments(AwardAdjustSchema)
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="The awards are locked")
def adjust_award(body: dict[str, Any], contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.adjust(contest_id, body["user_id"], body["tier"], body["reason"], actor=_actor())
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/lock", methods=["POST"])
@blp.doc(operationId="lockAwards", summary="Lock the awards as the preview shows them")
@organizer_required
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="Already locked, or a draft contest")
def lock_awards(contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.lock(contest_id, actor=_actor())
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/unlock", methods=["POST"])
@blp.doc(
    operationId="unlockAwards",
    summary="Unlock for a second look, with a reason (withdraws the winners list)",
)
@organizer_required
@blp.arguments(AwardReasonSchema)
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="Not locked")
def unlock_awards(body: dict[str, Any], contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.unlock(contest_id, body["reason"], actor=_actor())
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/confirm", methods=["POST"])
@blp.doc(
    operationId="confirmAwards",
    summary="Keep the locked awards after scores changed (clears needs_review), with a reason",
)
@organizer_required
@blp.arguments(AwardReasonSchema)
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="Nothing to confirm")
def confirm_awards(body: dict[str, Any], contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.confirm_review(contest_id, body["reason"], actor=_actor())
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/awards/publication", methods=["PUT"])
@blp.doc(
    operationId="publishWinners",
    summary="Publish the winners list (公示) with its period and objection contact",
)
@organizer_required
@blp.arguments(WinnersPublishSchema)
@blp.response(200, AwardsSchema)
@blp.alt_response(409, description="The awards are not locked")
def publish_winners(body: dict[str, Any], contest_id: int) -> Any:
    _contest_exists(contest_id)
    awards.publish(contest_id, actor=_actor(), **body)
    db.session.commit()
    return awards_out(contest_id)


@blp.route("/contests/<int:contest_id>/winners", methods=["GET"])
@blp.doc(
    operationId="getWinnersList",
    summary="The public winners list (公示): masked names, no scores; no login",
    description="404 for an unknown or draft contest and until the organizers publish the list.",
)
@blp.response(200, WinnersListSchema)
def get_winners_list(contest_id: int) -> Any:
    winner_pages.check_rate(request.remote_addr or "", now_s())
    listing = award_results.winners_list(contest_id)
    if listing is None:
        raise NotFound(_("No published winners list."))
    return listing
