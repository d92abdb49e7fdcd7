"""Organizations (organizer only): the districts, units and schools contestants belong to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from contest.api.blueprint import blp
from contest.api.schemas import OrganizationListSchema
from contest.extensions import db
from contest.models import Organization, Role, User
from contest.security import organizer_required


@blp.route("/organizations", methods=["GET"])
@blp.doc(operationId="listOrganizations", summary="Organizations with their contestant counts")
@blp.response(200, OrganizationListSchema)
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
@organizer_required
def list_organizations() -> dict[str, Any]:
    members = (
        select(User.organization_id, func.count().label("members"))
        .where(User.role == Role.CONTESTANT)
        .group_by(User.organization_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Organization, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.organization_id == Organization.id)
        .order_by(Organization.name)
    ).all()
    return {
        "organizations": [
            {"id": org.id, "name": org.name, "kind": org.kind.value, "members": count}
            for org, count in rows
        ]
    }
