"""Request and response schemas shared by the API modules."""

import marshmallow as ma
from flask_smorest.fields import Upload

from contest.input_checks import MAX_ID


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "human-readable text"})
    fields_ = ma.fields.Dict(  # "fields" names the schema's own field table in marshmallow
        data_key="fields",
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        metadata={
            "description": "422 for input the schema refuses: the messages per location "
            "(json, query, form, files …), then per field, e.g. "
            '{"json": {"seq": ["Missing data for required field."]}}'
        },
    )
    problems = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "publishContest's 422: every reason the contest cannot be published yet"
        },
    )


class ErrorEnvelopeSchema(ma.Schema):
    error = ma.fields.Nested(ErrorSchema, required=True)


class OrganizationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["admin", "organizer", "contestant"]})
    organization = ma.fields.Nested(OrganizationSchema, allow_none=True)


class SessionSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema, allow_none=True)
    csrf_token = ma.fields.String(required=True)


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class PingSchema(ma.Schema):
    ok = ma.fields.Boolean()


class OrganizationSummarySchema(OrganizationSchema):
    kind = ma.fields.String(metadata={"enum": ["district", "unit", "school"]})
    members = ma.fields.Integer(metadata={"description": "contestants in the organization"})


class OrganizationListSchema(ma.Schema):
    organizations = ma.fields.List(ma.fields.Nested(OrganizationSummarySchema))


class BankSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String()
    questions = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "question count per status"},
    )


class BankListSchema(ma.Schema):
    banks = ma.fields.List(ma.fields.Nested(BankSchema))


FORMAT_NAMES = ["xlsx", "csv", "json", "gift", "moodle-xml", "aiken"]


class ImportFormSchema(ma.Schema):
    format = ma.fields.String(
        validate=ma.validate.OneOf(FORMAT_NAMES),
        metadata={"description": "default: from the file name's extension"},
    )
    on_duplicate = ma.fields.String(
        load_default="skip", validate=ma.validate.OneOf(["skip", "update"])
    )
    status = ma.fields.String(
        load_default="draft", validate=ma.validate.OneOf(["draft", "in_review", "published"])
    )


class ImportUploadSchema(ImportFormSchema):
    """The multipart body of importQuestions: the file and the form fields."""

    file = Upload(required=True)


class ReportItemSchema(ma.Schema):
    line = ma.fields.Integer(metadata={"description": "1-based row or line; 0 = whole file"})
    message = ma.fields.String()


class SkippedFileSchema(ReportItemSchema):
    name = ma.fields.String(metadata={"description": "the file's name in the imported file"})


class ImportReportSchema(ma.Schema):
    problems = ma.fields.List(
        ma.fields.Nested(ReportItemSchema),
        metadata={"description": "the first 1,000 problems (problem_count: all of them)"},
    )
    problem_count = ma.fields.Integer(metadata={"description": "how many problems in all"})
    skipped = ma.fields.List(
        ma.fields.Nested(ReportItemSchema), metadata={"description": "the first 1,000"}
    )
    skipped_count = ma.fields.Integer()
    files_skipped = ma.fields.List(
        ma.fields.Nested(SkippedFileSchema),
        metadata={"description": "embedded files not imported (audio, video …): the first 1,000"},
    )
    files_skipped_count = ma.fields.Integer()
    duplicates = ma.fields.List(ma.fields.Dict(), metadata={"description": "the first 1,000"})
    duplicate_count = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class ImportSchema(ma.Schema):
    id = ma.fields.Integer()
    bank_id = ma.fields.Integer()
    filename = ma.fields.String()
    format = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed"]})
    done = ma.fields.Integer()
    total = ma.fields.Integer()
    report = ma.fields.Nested(ImportReportSchema, allow_none=True)


class ExportQuerySchema(ma.Schema):
    format = ma.fields.String(required=True, validate=ma.validate.OneOf(FORMAT_NAMES))
    status = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(["draft", "in_review", "published", "retired"]))
    )


class RoundSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    mode = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["scheduled", "open", "closed"]})
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    freeze_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "封榜: public boards stop counting submissions from this time"},
    )
    duration_s = ma.fields.Integer()
    attempts_allowed = ma.fields.Integer(metadata={"description": "0: unlimited"})
    attempts_used = ma.fields.Integer()
    open_attempt_id = ma.fields.Integer(allow_none=True)
    question_count = ma.fields.Integer()
    max_score = ma.fields.Integer()


class ContestSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    registration_mode = ma.fields.String(metadata={"enum": ["open", "invite", "roster"]})
    registered = ma.fields.Boolean()
    rounds = ma.fields.List(ma.fields.Nested(RoundSummarySchema))


class ContestListSchema(ma.Schema):
    contests = ma.fields.List(ma.fields.Nested(ContestSummarySchema))


class RegistrationSchema(ma.Schema):
    invite_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


class OptionSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "opaque, random per attempt"})
    text = ma.fields.String(metadata={"description": "Markdown source"})
    html = ma.fields.String(metadata={"description": "sanitized HTML"})


class AttemptItemSchema(ma.Schema):
    position = ma.fields.Integer()
    type = ma.fields.String(
        metadata={"enum": ["single", "multiple", "true_false", "fill_blank", "ordering"]}
    )
    stem = ma.fields.String(metadata={"description": "Markdown source"})
    stem_html = ma.fields.String(metadata={"description": "sanitized HTML"})
    options = ma.fields.List(ma.fields.Nested(OptionSchema))
    blanks = ma.fields.Integer()
    points = ma.fields.Integer()
    answer = ma.fields.Raw(allow_none=True)
    flagged = ma.fields.Boolean()
    seq = ma.fields.Integer()


class AttemptClockSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["in_progress", "submitted", "scored", "void"]})
    deadline_at = ma.fields.AwareDateTime()
    server_now = ma.fields.AwareDateTime()


class AttemptSchema(ma.Schema):
    id = ma.fields.Integer()
    round_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["in_progress", "submitted", "scored", "void"]})
    started_at = ma.fields.AwareDateTime()
    deadline_at = ma.fields.AwareDateTime()
    server_now = ma.fields.AwareDateTime()
    focus_losses = ma.fields.Integer()
    integrity_remaining = ma.fields.Integer(allow_none=True)
    held_here = ma.fields.Boolean(
        metadata={
            "description": "False when another device holds the attempt (saves from this one "
            "are refused with device_replaced until startAttempt takes it over)"
        }
    )
    items = ma.fields.List(ma.fields.Nested(AttemptItemSchema))


class SaveAnswerSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # client clocks mean nothing here: extra fields are ignored

    answer = ma.fields.Raw(required=True, allow_none=True)
    seq = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))
    flagged = ma.fields.Boolean(load_default=None, allow_none=True)


# The one instance saveAnswer validates with; the autosave lane validates with it too.
SAVE_ANSWER = SaveAnswerSchema()


class SaveResultSchema(ma.Schema):
    saved = ma.fields.Boolean()
    seq = ma.fields.Integer()
    deadline_at = ma.fields.AwareDateTime(
        metadata={"description": "The attempt's deadline now (the organizers may move it)"}
    )


class IntegrityEventInSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["hidden", "visible"]))
    duration_ms = ma.fields.Integer(
        load_default=None, validate=ma.validate.Range(min=0, max=24 * 3600 * 1000)
    )


class IntegrityResultSchema(ma.Schema):
    counted = ma.fields.Boolean()
    focus_losses = ma.fields.Integer()
    remaining = ma.fields.Integer(allow_none=True)
    action = ma.fields.String(allow_none=True, metadata={"enum": ["warn", "submit", "void"]})
    status = ma.fields.String()


class ResultItemSchema(AttemptItemSchema):
    correct_answer = ma.fields.Raw()
    correct = ma.fields.Boolean(allow_none=True)
    earned = ma.fields.Float(allow_none=True)
    explanation_html = ma.fields.String()


class AttemptResultSchema(ma.Schema):
    id = ma.fields.Integer()
    round_id = ma.fields.Integer()
    status = ma.fields.String()
    score = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "null while scoring, and while the round keeps the score until "
            "its close (score_visibility after_close; status is then scored)"
        },
    )
    max_score = ma.fields.Float()
    time_used_s = ma.fields.Integer(allow_none=True)
    review = ma.fields.Boolean(metadata={"description": "whether items carry the key"})
    items = ma.fields.List(ma.fields.Nested(ResultItemSchema))


class BlueprintRowSchema(ma.Schema):
    category = ma.fields.String(load_default="", metadata={"description": "a path; '' = any"})
    type = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["single", "multiple", "true_false", "fill_blank", "ordering"]),
    )
    difficulty = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.OneOf(["easy", "medium", "hard"]),
    )
    count = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=500))
    points = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100))


class ContestInSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="")
    schedule = ma.fields.String(load_default="")
    registration_mode = ma.fields.String(
        load_default="open", validate=ma.validate.OneOf(["open", "invite", "roster"])
    )
    invite_code = ma.fields.String(load_default=None, allow_none=True)
    board_visibility = ma.fields.String(
        load_default="public", validate=ma.validate.OneOf(["public", "organizers"])
    )
    mask_names = ma.fields.Boolean(load_default=True)


class RoundInSchema(ma.Schema):
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    bank_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID))
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    freeze_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "封榜: public boards stop counting submissions from this time"},
    )
    duration_s = ma.fields.Integer(validate=ma.validate.Range(min=10, max=24 * 3600))
    attempts_allowed = ma.fields.Integer(validate=ma.validate.Range(min=0, max=1000))
    score_policy = ma.fields.String(validate=ma.validate.OneOf(["best", "last"]))
    blueprint = ma.fields.List(ma.fields.Nested(BlueprintRowSchema))
    shuffle_questions = ma.fields.Boolean()
    shuffle_options = ma.fields.Boolean()
    multiple_rule = ma.fields.String(
        validate=ma.validate.OneOf(["all_or_nothing", "half_for_subset", "proportional"])
    )
    review_policy = ma.fields.String(
        validate=ma.validate.OneOf(["after_submit", "after_close", "never"])
    )
    score_visibility = ma.fields.String(
        validate=ma.validate.OneOf(["after_submit", "after_close"]),
        metadata={
            "description": "When contestants see their score: after_close needs closes_at and "
            "answers not shown after submit (unlimited attempts would otherwise tell, one "
            "changed answer at a time, which answers are right)"
        },
    )
    integrity_threshold = ma.fields.Integer(validate=ma.validate.Range(min=0, max=1000))
    integrity_action = ma.fields.String(validate=ma.validate.OneOf(["warn", "submit", "void"]))
    focus_grace_s = ma.fields.Integer(validate=ma.validate.Range(min=0, max=600))
    grace_s = ma.fields.Integer(validate=ma.validate.Range(min=0, max=600))
    appeal_window_h = ma.fields.Integer(
        validate=ma.validate.Range(min=0, max=24 * 30),
        metadata={
            "description": "申诉: hours after review opens (the close plus grace) during which "
            "contestants may appeal an item; 0: no appeals (default 72)"
        },
    )
    qualification = ma.fields.Dict(allow_none=True)


class RoundOutSchema(RoundInSchema):
    id = ma.fields.Integer()
    contest_id = ma.fields.Integer()
    position = ma.fields.Integer()


class ContestOutSchema(ContestInSchema):
    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["draft", "published", "finished", "archived"]})
    published_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    archived_at = ma.fields.AwareDateTime(allow_none=True)
    rounds = ma.fields.List(ma.fields.Nested(RoundOutSchema))


# Leaderboards ----------------------------------------------------------------------------------


MAX_BOARD_OFFSET = 1_000_000


class BoardQuerySchema(ma.Schema):
    offset = ma.fields.Integer(
        load_default=0, validate=ma.validate.Range(min=0, max=MAX_BOARD_OFFSET)
    )
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100))


class RoundBoardQuerySchema(BoardQuerySchema):
    view = ma.fields.String(
        load_default="public",
        validate=ma.validate.OneOf(["public", "live"]),
        metadata={"description": "live: organizers only, standings without the freeze"},
    )


class BoardEntrySchema(ma.Schema):
    id = ma.fields.String(
        metadata={"description": "opaque, stable per contestant within a contest (animations)"}
    )
    rank = ma.fields.Integer()
    name = ma.fields.String(
        metadata={"description": "masked (张*三) unless the contest shows names"}
    )
    organization = ma.fields.String(allow_none=True)
    score = ma.fields.Float()
    time_used_s = ma.fields.Integer()


class BoardStatsSchema(ma.Schema):
    contestants = ma.fields.Integer(allow_none=True, metadata={"description": "who started"})
    submissions = ma.fields.Integer(metadata={"description": "ranked (scored) contestants"})
    average_score = ma.fields.Float(allow_none=True)


class RoundBoardSchema(ma.Schema):
    round_id = ma.fields.Integer()
    version = ma.fields.Integer(metadata={"description": "rises with every change"})
    frozen = ma.fields.Boolean(metadata={"description": "封榜: the public sees the freeze"})
    total = ma.fields.Integer()
    offset = ma.fields.Integer()
    limit = ma.fields.Integer()
    stats = ma.fields.Nested(BoardStatsSchema)
    entries = ma.fields.List(ma.fields.Nested(BoardEntrySchema))


class ContestBoardSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    version = ma.fields.Integer()
    frozen = ma.fields.Boolean()
    total = ma.fields.Integer()
    offset = ma.fields.Integer()
    limit = ma.fields.Integer()
    entries = ma.fields.List(ma.fields.Nested(BoardEntrySchema))


class OrganizationStandingSchema(ma.Schema):
    rank = ma.fields.Integer()
    name = ma.fields.String()
    enrolled = ma.fields.Integer(metadata={"description": "members enrolled in the contest"})
    started = ma.fields.Integer(metadata={"description": "members who started"})
    submitted = ma.fields.Integer(metadata={"description": "members ranked (submitted, scored)"})
    participants = ma.fields.Integer(metadata={"description": "the same as submitted"})
    registered = ma.fields.Integer(metadata={"description": "the same as enrolled"})
    participation_rate = ma.fields.Float(
        allow_none=True, metadata={"description": "submitted / enrolled"}
    )
    mean_score = ma.fields.Float(allow_none=True)
    top_score = ma.fields.Float(allow_none=True)


class OrganizationBoardSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    version = ma.fields.Integer()
    frozen = ma.fields.Boolean()
    organizations = ma.fields.List(ma.fields.Nested(OrganizationStandingSchema))


class RevealSchema(ma.Schema):
    round_id = ma.fields.Integer()
    revealed_at = ma.fields.DateTime(allow_none=True)
