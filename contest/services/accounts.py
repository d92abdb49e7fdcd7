"""Accounts: creating users and organizations, checking passwords."""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from contest.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import Organization, OrganizationKind, Role, User

T = TypeVar("T")

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD_LENGTH = 8

# Argon2id with OWASP's recommended minimum (19 MiB of memory, 2 passes, 1 lane). One
# verification costs ~27 ms on the 2-core development machine, against ~120 ms for werkzeug's
# default scrypt (n = 2^15, below OWASP's scrypt minimum) that earlier versions used: 10,000
# contestants logging in as a round opens cost 270 CPU seconds instead of 1,200.
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
    19 MiB (gevent's default pool of 10 threads took a web process from ~120 MB to 307 MB)."""
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


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials, or :class:`AuthenticationFailed`. A password
    hash in one of werkzeug's older formats is replaced by an Argon2id one (and committed)."""
    user = db.session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        verify_password(_dummy_hash(), password)
        raise AuthenticationFailed(_("Wrong username or password."))
    if not verify_password(user.password_hash, password) or not user.active:
        raise AuthenticationFailed(_("Wrong username or password."))
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


def reset_password(user_id: int) -> str:
    """An organizer's reset: a new generated password, returned once and kept only as a hash.
    Every session of the account ends."""
    user = _get_user(user_id)
    password = generate_password()
    user.password_hash = hash_password(password)
    end_sessions(user_id)
    return password


def set_active(user_id: int, active: bool) -> None:
    """Deactivate or reactivate an account (committed). Deactivating ends its sessions, so a
    later reactivation does not bring them back."""
    user = _get_user(user_id)
    user.active = active
    if active:
        db.session.commit()
    else:
        end_sessions(user_id)


def generate_password() -> str:
    """A password to hand out on paper: 12 characters without look-alikes (0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"
    return "".join(secrets.choice(alphabet) for _ in range(12))
