"""Accounts: creating users and organizations, checking passwords."""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import EllipsisType
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash

from contest.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import Organization, OrganizationKind, Role, SiteSetting, User
from contest.services import audit

T = TypeVar("T")

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD_LENGTH = 8

# Argon2id with OWASP's recommended minimum (19 MiB of memory, 2 passes, 1 lane): a verification
# costs a fraction of werkzeug's default scrypt (n = 2^15, below OWASP's scrypt minimum) that
# earlier versions used, which matters when 10,000 contestants log in as a round opens
# (bench/HISTORY.md).
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
ARGON2ID = "$argon2id$"


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps a failed login for an unknown user as slow as for a known
    one, so response times do not reveal which usernames exist."""
    return HASHER.hash("not-a-real-password")


def _off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """Run a CPU-heavy call (a password hash) on a real thread when the process serves requests
    on gevent greenlets, so the other requests of the process keep being served meanwhile (argon2
    and hashlib.scrypt release the GIL: the hash runs on the other core). Elsewhere (threads, the
    CLI, tests) it simply runs."""
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            return cast(T, _hashing_pool().apply(function, args))
    return function(*args)


@cache
def _hashing_pool() -> Any:
    """As many threads as cores: more hashes at once would not finish sooner, and each holds its
    19 MiB (gevent's default pool of 10 threads more than doubled a web process's memory:
    bench/HISTORY.md)."""
    from gevent.threadpool import ThreadPool

    return ThreadPool(os.cpu_count() or 2)


def _verify(password_hash: str, password: str) -> bool:
    if not password_hash.startswith("$argon2"):
        return check_password_hash(password_hash, password)  # werkzeug's scrypt or pbkdf2
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str, password: str) -> bool:
    """Check ``password`` against an Argon2 hash or one of werkzeug's (accounts created before
    Argon2id was adopted)."""
    return _off_the_loop(_verify, password_hash, password)


def hash_password(password: str) -> str:
    """Hash with Argon2id (:data:`HASHER`, salted)."""
    return _off_the_loop(HASHER.hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a login should replace this hash: werkzeug's older formats are upgraded to
    Argon2id. Argon2id hashes stay as they are, whatever their parameters (the tests seed cheap
    ones); raising :data:`HASHER`'s parameters later needs a rule here too."""
    return not password_hash.startswith(ARGON2ID)


def check_username(username: str) -> str | None:
    """Return a reason why ``username`` is not acceptable, or None."""
    if not USERNAME_RE.match(username):
        return _("A username has 2-64 letters, digits, '_', '.' or '-'.")
    return None


def check_password(password: str) -> str | None:
    """Return a reason why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("A password has at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    return None


def get_or_create_organization(
    name: str, kind: OrganizationKind = OrganizationKind.UNIT
) -> Organization:
    """The organization called ``name``, created (not committed) when missing."""
    org = db.session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind)
        db.session.add(org)
        db.session.flush()
    return org


def create_user(
    username: str,
    password: str,
    *,
    role: Role = Role.CONTESTANT,
    display_name: str | None = None,
    organization: Organization | None = None,
    password_hash: str | None = None,
) -> User:
    """Add a user (not committed). ``password_hash`` skips hashing for precomputed seeds.

    Usernames are stored in lower case: phones capitalise the first letter of a field.
    """
    username = normalize_username(username)
    for problem in (check_username(username), password_hash is None and check_password(password)):
        if problem:
            raise InvalidInput(problem)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("Username %(name)s is taken.", name=username), code="username_taken")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=password_hash or hash_password(password),
        role=role,
        organization=organization,
    )
    db.session.add(user)
    return user


def normalize_username(username: str) -> str:
    return username.strip().lower()


class AccountInactive(AuthenticationFailed):
    """The password is right but the account is deactivated."""

    status = 403
    code = "account_inactive"


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials, or :class:`AuthenticationFailed` (its subclass
    :class:`AccountInactive` when the password is right but the account deactivated). A password
    hash in one of werkzeug's older formats is replaced by an Argon2id one (and committed)."""
    user = db.session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        verify_password(_dummy_hash(), password)
        raise AuthenticationFailed(_("Wrong username or password."))
    if not verify_password(user.password_hash, password):
        raise AuthenticationFailed(_("Wrong username or password."))
    if not user.active:  # told only to whoever knows the password: a guesser learns nothing
        raise AccountInactive(_("This account is deactivated: ask the organizers."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


# Sessions and passwords ------------------------------------------------------------------------
# A session remembers the account's session generation it was signed in (``User.get_id``); the
# full request path compares it when it loads the user, and the save and submit statements in
# their WHERE clause, so raising it ends every earlier session without a read per request.


def end_sessions(user_id: int) -> None:
    """End every session of the account signed in so far (committed): logout, a password change
    or reset and deactivation call it."""
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No account %(id)s.", id=user_id))
    return user


def change_password(user_id: int, current: str, new: str) -> None:
    """The owner's change of their own password: ``current`` must be right, ``new`` acceptable.
    Every session of the account ends (the caller signs the current one in again)."""
    user = _get_user(user_id)
    if not verify_password(user.password_hash, current):
        raise AuthenticationFailed(_("The current password is wrong."))
    problem = check_password(new)
    if problem:
        raise InvalidInput(problem)
    user.password_hash = hash_password(new)
    end_sessions(user_id)


def reset_password(user_id: int, *, actor_id: int | None = None) -> str:
    """An organizer's reset: a new generated password, returned once and kept only as a hash.
    Every session of the account ends; recorded as ``user.reset_password`` (without the
    password). ``actor_id``: the admin resetting, who must use the change of their own password
    for their own account."""
    user = _get_user(user_id)
    if actor_id is not None and actor_id == user_id:
        raise Conflict(
            _("Change your own password on your account page instead."), code="own_account"
        )
    password = generate_password()
    user.password_hash = hash_password(password)
    audit.record("user.reset_password", target_type="user", target_id=user_id)
    end_sessions(user_id)
    return password


def set_active(user_id: int, active: bool, *, actor_id: int | None = None) -> None:
    """Deactivate or reactivate an account (committed). Deactivating ends its sessions, so a
    later reactivation does not bring them back. Recorded as ``user.deactivate`` or
    ``user.reactivate``; an admin (``actor_id``) cannot deactivate their own account."""
    user = _get_user(user_id)
    if not active and actor_id is not None and actor_id == user_id:
        raise Conflict(_("You cannot deactivate your own account."), code="own_account")
    if user.active != active:
        audit.record(
            "user.reactivate" if active else "user.deactivate",
            target_type="user",
            target_id=user_id,
            before={"active": user.active},
            after={"active": active},
        )
    user.active = active
    if active:
        db.session.commit()
    else:
        end_sessions(user_id)


def generate_password() -> str:
    """A password to hand out on paper: 12 characters without look-alikes (0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


# Account administration ------------------------------------------------------------------------

# The SiteSetting key of the text saying whom to ask for a forgotten password.
PASSWORD_HELP = "password_help"  # noqa: S105
PASSWORD_HELP_MAX = 2000


def _organization_id(organization_id: int | None) -> int | None:
    if organization_id is not None and db.session.get(Organization, organization_id) is None:
        raise InvalidInput(_("No organization %(id)s.", id=organization_id), code="no_organization")
    return organization_id


def _account_fields(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "role": user.role.value,
        "organization_id": user.organization_id,
        "active": user.active,
    }


def create_account(
    username: str,
    display_name: str,
    *,
    role: Role,
    organization_id: int | None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """An admin's new account (committed) and its generated password (None when ``password``
    was given). Recorded as ``user.create`` (without the password)."""
    generated = None if password else generate_password()
    user = create_user(
        username,
        password or cast(str, generated),
        role=role,
        display_name=display_name.strip() or None,
        organization=db.session.get(Organization, _organization_id(organization_id))
        if organization_id is not None
        else None,
    )
    db.session.flush()
    audit.record(
        "user.create",
        target_type="user",
        target_id=user.id,
        after={"username": user.username, **_account_fields(user)},
    )
    db.session.commit()
    return user, generated


def update_account(
    user_id: int,
    *,
    actor_id: int | None,
    display_name: str | None = None,
    organization_id: int | EllipsisType | None = ...,
    role: Role | None = None,
) -> User:
    """Change an account's name, organization or role (committed; what is not given stays).
    Recorded as ``user.update`` with the fields before and after. An admin cannot change their
    own role (no one is left without an admin by mistake)."""
    user = _get_user(user_id)
    before = _account_fields(user)
    if display_name is not None:
        if not display_name.strip():
            raise InvalidInput(_("The name is empty."), code="empty_name")
        user.display_name = display_name.strip()[:120]
    if organization_id is not ...:
        user.organization_id = _organization_id(organization_id)
    if role is not None and role is not user.role:
        if actor_id is not None and actor_id == user_id:
            raise Conflict(_("You cannot change your own role."), code="own_account")
        user.role = role
    after = _account_fields(user)
    if after != before:
        changed = [key for key in after if after[key] != before[key]]
        audit.record(
            "user.update",
            target_type="user",
            target_id=user_id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    db.session.commit()
    return user


@dataclass(frozen=True)
class AccountQuery:
    """The accounts list's filters: ``q`` matches the start of a username, or a part of a name
    or of an organization's name."""

    q: str = ""
    role: Role | None = None
    organization_id: int | None = None
    active: bool | None = None
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class AccountPage:
    items: list[User]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_accounts(query: AccountQuery) -> AccountPage:
    """One page of accounts in username order, and how many match: two queries on the account
    table (its username index orders them) and one for the page's organizations."""
    conditions = []
    q = query.q.strip()
    if q:
        pattern = _like(q.lower())
        units = select(Organization.id).where(Organization.name.like(f"%{_like(q)}%", escape="\\"))
        conditions.append(
            or_(
                User.username.like(f"{pattern}%", escape="\\"),
                User.display_name.like(f"%{_like(q)}%", escape="\\"),
                User.organization_id.in_(units),
            )
        )
    if query.role is not None:
        conditions.append(User.role == query.role)
    if query.organization_id is not None:
        conditions.append(User.organization_id == query.organization_id)
    if query.active is not None:
        conditions.append(User.active.is_(query.active))
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    per_page = max(1, min(query.per_page, 200))
    page = max(1, query.page)
    items = db.session.scalars(
        select(User)
        .where(*conditions)
        .options(selectinload(User.organization))
        .order_by(User.username)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return AccountPage(list(items), total, page, per_page)


def get_account(user_id: int) -> User:
    """The account ``user_id`` or :class:`NotFound`."""
    return _get_user(user_id)


def password_help() -> str:
    """The site's text on whom to ask for a forgotten password ("" when none is set)."""
    setting = db.session.get(SiteSetting, PASSWORD_HELP)
    return setting.value if setting is not None else ""


def set_password_help(text: str, *, now: datetime) -> None:
    """Set (or clear, with "") the forgotten-password text (committed; ``site.update``)."""
    text = text.strip()
    if len(text) > PASSWORD_HELP_MAX:
        raise InvalidInput(_("At most %(n)d characters.", n=PASSWORD_HELP_MAX))
    setting = db.session.get(SiteSetting, PASSWORD_HELP)
    before = setting.value if setting is not None else ""
    if before == text:
        return
    if setting is None:
        setting = SiteSetting(key=PASSWORD_HELP, value=text, updated_at=now)
        db.session.add(setting)
    setting.value, setting.updated_at = text, now
    audit.record(
        "site.update",
        target_type="site",
        before={PASSWORD_HELP: before},
        after={PASSWORD_HELP: text},
    )
    db.session.commit()
