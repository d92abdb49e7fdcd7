"""The forms of the organizer's contest and round pages: a contest's settings, a round's
settings with its blueprint rows, and enrolling organizations.

Times: the round form's ``datetime-local`` inputs are read as Beijing time (see
:mod:`contest.admin.contests`, which converts them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtf_translations
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from contest.admin.contest_labels import (
    integrity_action_label,
    multiple_rule_label,
    qualification_label,
    registration_mode_label,
    review_policy_label,
    score_visibility_label,
)
from contest.admin.forms import _difficulty_choices as difficulty_choices
from contest.admin.forms import _type_choices as type_choices
from contest.models import (
    BoardVisibility,
    IntegrityAction,
    RegistrationMode,
    ReviewPolicy,
    ScorePolicy,
    ScoreVisibility,
)
from question_bank.grading import MultipleRule

BLUEPRINT_ROWS = 8  # row inputs shown at least; more when a round already has more rows
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
QUALIFICATION_RULES = ("top_n", "top_n_per_organization", "min_score")


def _mode_choices() -> list[tuple[str, str]]:
    return [(m.value, registration_mode_label(m)) for m in RegistrationMode]


def _visibility_choices() -> list[tuple[str, str]]:
    return [
        (BoardVisibility.PUBLIC.value, str(_l("Public"))),
        (BoardVisibility.ORGANIZERS.value, str(_l("Organizers only"))),
    ]


class ContestForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    schedule = TextAreaField(_l("Schedule"), validators=[Length(max=2000)])
    registration_mode = SelectField(_l("Registration"), choices=_mode_choices, default="open")
    invite_code = StringField(_l("Invite code"), validators=[Length(max=64)])
    board_visibility = SelectField(
        _l("Leaderboard visible to"), choices=_visibility_choices, default="public"
    )
    mask_names = BooleanField(_l("Mask names on public boards (张*三)"), default=True)
    organizations = SelectMultipleField(_l("Organizations taking part"), coerce=int)


def _row_type_choices() -> list[tuple[str, str]]:
    return [("", str(_l("(empty row)"))), *type_choices()]


def _row_difficulty_choices() -> list[tuple[str, str]]:
    return [("", str(_l("Any difficulty"))), *difficulty_choices()]


class BlueprintRowForm(Form):
    """One blueprint row; a row without type, count and points is ignored."""

    class Meta:
        # A plain Form (rows carry no CSRF token of their own) speaking the page's language
        # as FlaskForm does: WTForms' own messages ("Number must be between…") in Chinese.
        def get_translations(self, form: Any) -> Any:
            return wtf_translations

    # Choices of the category are the bank's paths, set by the view; "" is every category.
    category = SelectField(
        _l("Category"), choices=[], default="", validate_choice=False, validators=[Length(max=500)]
    )
    type = SelectField(_l("Type"), choices=_row_type_choices, default="")
    difficulty = SelectField(_l("Difficulty"), choices=_row_difficulty_choices, default="")
    count = IntegerField(_l("Count"), validators=[Optional(), NumberRange(min=1, max=500)])
    points = IntegerField(_l("Points"), validators=[Optional(), NumberRange(min=1, max=100)])

    def is_empty(self) -> bool:
        return not self.type.data and self.count.data is None and self.points.data is None


def _score_policy_choices() -> list[tuple[str, str]]:
    return [
        (ScorePolicy.BEST.value, str(_l("The best attempt counts"))),
        (ScorePolicy.LAST.value, str(_l("The last attempt counts"))),
    ]


def _multiple_rule_choices() -> list[tuple[str, str]]:
    return [(rule.value, multiple_rule_label(rule.value)) for rule in MultipleRule]


def _review_choices() -> list[tuple[str, str]]:
    return [(p.value, review_policy_label(p)) for p in ReviewPolicy]


def _score_visibility_choices() -> list[tuple[str, str]]:
    return [(v.value, score_visibility_label(v)) for v in ScoreVisibility]


def _integrity_action_choices() -> list[tuple[str, str]]:
    return [(a.value, integrity_action_label(a)) for a in IntegrityAction]


def _qualification_choices() -> list[tuple[str, str]]:
    return [("", str(_l("None"))), *((r, qualification_label(r)) for r in QUALIFICATION_RULES)]


class RoundForm(FlaskForm):
    title = StringField(
        _l("Title (初赛, 复赛, 决赛 …)"), validators=[DataRequired(), Length(max=200)]
    )
    bank_id = SelectField(_l("Question bank"), coerce=int, choices=[])
    opens_at = DateTimeLocalField(
        _l("Opens at (Beijing time)"), format=DATETIME_FORMATS, validators=[Optional()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes at (Beijing time)"), format=DATETIME_FORMATS, validators=[Optional()]
    )
    freeze_at = DateTimeLocalField(
        _l("Freeze the public board at (封榜, Beijing time)"),
        format=DATETIME_FORMATS,
        validators=[Optional()],
    )
    # Minutes, decimals allowed (1.5 = 90 s) so rounds set up in seconds survive an edit.
    duration_min = DecimalField(
        _l("Duration per attempt (minutes)"),
        places=None,
        validators=[InputRequired(), NumberRange(min=Decimal("0.2"), max=24 * 60)],
        default=30,
    )
    attempts_allowed = IntegerField(
        _l("Attempts allowed (0: unlimited)"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
        default=1,
    )
    score_policy = SelectField(_l("Which attempt counts"), choices=_score_policy_choices)
    blueprint = FieldList(FormField(BlueprintRowForm), min_entries=BLUEPRINT_ROWS, max_entries=100)
    shuffle_questions = BooleanField(_l("Shuffle questions"), default=True)
    shuffle_options = BooleanField(_l("Shuffle options"), default=True)
    multiple_rule = SelectField(_l("Multiple-choice scoring"), choices=_multiple_rule_choices)
    review_policy = SelectField(_l("Review opens"), choices=_review_choices, default="after_close")
    score_visibility = SelectField(
        _l("Score shown"), choices=_score_visibility_choices, default="after_submit"
    )
    integrity_threshold = IntegerField(
        _l("Focus losses allowed (0: not enforced)"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
        default=0,
    )
    integrity_action = SelectField(
        _l("Action when the limit is exceeded"), choices=_integrity_action_choices
    )
    focus_grace_s = IntegerField(
        _l("Focus losses shorter than this are not counted (seconds)"),
        validators=[InputRequired(), NumberRange(min=0, max=600)],
        default=3,
    )
    grace_s = IntegerField(
        _l("Grace for answers in flight after the deadline (seconds)"),
        validators=[InputRequired(), NumberRange(min=0, max=600)],
        default=10,
    )
    appeal_window_h = IntegerField(
        _l("Appeals accepted for (hours after the answers are shown; 0: no appeals)"),
        validators=[Optional(), NumberRange(min=0, max=24 * 30)],
        default=72,
    )
    qualification_rule = SelectField(_l("Qualification rule"), choices=_qualification_choices)
    qualification_value = DecimalField(
        _l("N or minimum score"), places=2, validators=[Optional(), NumberRange(min=0)]
    )


class EnrolForm(FlaskForm):
    organizations = SelectMultipleField(
        _l("Organizations"), coerce=int, validators=[DataRequired()]
    )
