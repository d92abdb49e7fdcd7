"""Request and response schemas shared by the API modules."""

import marshmallow as ma
from flask_smorest.fields import Upload


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "human-readable text"})


class ErrorEnvelopeSchema(ma.Schema):
    error = ma.fields.Nested(ErrorSchema, required=True)


class OrganizationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["organizer", "contestant"]})
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


class ImportReportSchema(ma.Schema):
    problems = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    skipped = ma.fields.List(ma.fields.Nested(ReportItemSchema))
    duplicates = ma.fields.List(ma.fields.Dict())
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
