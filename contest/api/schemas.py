"""Request and response schemas shared by the API modules."""

import marshmallow as ma


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
