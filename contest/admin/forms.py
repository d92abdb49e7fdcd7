"""Organizer forms. Answers use the template notation (A / ABD / 对 / a|b;c / CABD)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from question_bank.domain import OPTION_LETTERS


class BankForm(FlaskForm):
    name = StringField(_l("Bank name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])


def _type_choices() -> list[tuple[str, str]]:
    return [
        ("single", str(_l("Single choice"))),
        ("multiple", str(_l("Multiple choice"))),
        ("true_false", str(_l("True/false"))),
        ("fill_blank", str(_l("Fill in the blank"))),
        ("ordering", str(_l("Ordering"))),
    ]


def _difficulty_choices() -> list[tuple[str, str]]:
    return [("easy", str(_l("Easy"))), ("medium", str(_l("Medium"))), ("hard", str(_l("Hard")))]


class QuestionForm(FlaskForm):
    type = SelectField(_l("Type"), choices=_type_choices)
    stem = TextAreaField(_l("Stem (Markdown)"), validators=[DataRequired(), Length(max=20000)])
    option_a = StringField("A", validators=[Length(max=2000)])
    option_b = StringField("B", validators=[Length(max=2000)])
    option_c = StringField("C", validators=[Length(max=2000)])
    option_d = StringField("D", validators=[Length(max=2000)])
    option_e = StringField("E", validators=[Length(max=2000)])
    option_f = StringField("F", validators=[Length(max=2000)])
    option_g = StringField("G", validators=[Length(max=2000)])
    option_h = StringField("H", validators=[Length(max=2000)])
    answer = StringField(_l("Answer"), validators=[DataRequired(), Length(max=2000)])
    explanation = TextAreaField(_l("Explanation"), validators=[Length(max=20000)])
    difficulty = SelectField(_l("Difficulty"), choices=_difficulty_choices, default="medium")
    category = StringField(_l("Category"), validators=[Length(max=500)])
    tags = StringField(_l("Tags"), validators=[Length(max=500)])
    law = StringField(_l("Law"), validators=[Length(max=120)])
    law_version = StringField(_l("Law version (adoption date)"), validators=[Length(max=10)])
    article = IntegerField(_l("Article"), validators=[Optional(), NumberRange(min=1, max=9999)])
    quote = TextAreaField(_l("Quote (verbatim)"), validators=[Length(max=2000)])

    def option_fields(self) -> list[StringField]:
        return [getattr(self, f"option_{letter.lower()}") for letter in OPTION_LETTERS]


class ImportForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired()])
    format = SelectField(
        _l("Format"),
        choices=lambda: [
            ("", str(_l("From the file name"))),
            ("xlsx", "XLSX"),
            ("csv", "CSV"),
            ("json", "JSON"),
            ("gift", "Moodle GIFT"),
            ("moodle-xml", "Moodle XML"),
            ("aiken", "Aiken"),
        ],
        default="",
    )
    on_duplicate = SelectField(
        _l("Duplicates"),
        choices=lambda: [("skip", str(_l("Skip them"))), ("update", str(_l("Update them")))],
    )
    status = SelectField(
        _l("Status of imported questions"),
        choices=lambda: [
            ("draft", str(_l("Draft"))),
            ("in_review", str(_l("In review"))),
            ("published", str(_l("Published"))),
        ],
    )
