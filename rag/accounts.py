"""Accounts: users with argon2-hashed passwords, sign-in sessions that expire, throttling.

Sign-in never says whether a name exists: a wrong name and a wrong password get the same
words, take the same time (an unknown name is checked against a dummy hash), and count
against the same throttle. Repeated failures lock the name and the client address for a
while, doubling each time. A session is a random token held by the browser session; only its
hash is stored, so reading the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, select

from rag.access import User
from rag.config import Settings
from rag.database import (
    Database,
    chats_table,
    collections_table,
    failures_table,
    grants_table,
    sessions_table,
    users_table,
)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MIN_PASSWORD = 8
MAX_LOCKOUT_S = 3600.0
WRONG = "Wrong name or password."


class AccountError(ValueError):
    """A request about accounts that can't be done (a name taken, a password too short...)."""


class SignInError(PermissionError):
    """Sign-in refused; ``str()`` is safe to show (it never says whether the name exists)."""


@dataclass(frozen=True)
class Account:
    """A user as listed by the admin CLI."""

    name: str
    admin: bool
    created_at: float
    password: bool  # False: signs in only through single sign-on
    sso: bool


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def removed_owner(name: str) -> str:
    """Who owns a removed user's collections: not a valid user name (it has a space), so
    no account, old or new, is ever their owner."""
    return f"{name} (removed)"


def check_user_name(name: str) -> None:
    """Raise :class:`AccountError` unless ``name`` is a usable user name."""
    if not NAME.match(name) or name == "*":
        raise AccountError(
            f"invalid user name {name!r}: use 1-64 letters, digits or . _ @ + -, "
            "starting with a letter or digit"
        )


class Accounts:
    """The users of one Docent database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    # -- managing users (admin CLI) ------------------------------------------------------------
    def add(self, name: str, password: str | None, admin: bool = False) -> None:
        """Create a user (``password`` None: single sign-on only).

        Raises:
            AccountError: a bad or taken name, or a password that is too short.
        """
        check_user_name(name)
        hashed = None if password is None else _hasher().hash(_checked(password))
        with self.db.write() as conn:
            if conn.execute(select(users_table.c.name).where(users_table.c.name == name)).first():
                raise AccountError(f"a user named {name!r} exists already")
            conn.execute(
                users_table.insert().values(
                    name=name, password_hash=hashed, admin=int(admin), created_at=time.time()
                )
            )

    def passwd(self, name: str, password: str) -> None:
        """Set a new password; the user's open sessions end."""
        hashed = _hasher().hash(_checked(password))
        with self.db.write() as conn:
            done = conn.execute(
                users_table.update().where(users_table.c.name == name).values(password_hash=hashed)
            )
            if not done.rowcount:
                raise AccountError(f"no user named {name!r}")
            conn.execute(sessions_table.delete().where(sessions_table.c.user_name == name))

    def remove(self, name: str) -> None:
        """Delete a user, their sessions, grants and saved chats. Their collections stay,
        owned by ``removed_owner(name)``, a name no one can sign in as (admins manage them):
        a new account that reuses the name must not inherit them."""
        with self.db.write() as conn:
            done = conn.execute(users_table.delete().where(users_table.c.name == name))
            if not done.rowcount:
                raise AccountError(f"no user named {name!r}")
            conn.execute(sessions_table.delete().where(sessions_table.c.user_name == name))
            conn.execute(grants_table.delete().where(grants_table.c.grantee == name))
            conn.execute(chats_table.delete().where(chats_table.c.user_name == name))
            c = collections_table.c
            conn.execute(
                collections_table.update().where(c.owner == name).values(owner=removed_owner(name))
            )

    def list(self) -> list[Account]:
        """Every user, by name."""
        u = users_table.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(u.name, u.admin, u.created_at, u.password_hash, u.sso_key).order_by(u.name)
            ).all()
        return [_account(r) for r in rows]

    def user(self, name: str) -> User | None:
        """The user called ``name``, if there is one."""
        with self.db.read() as conn:
            row = conn.execute(
                select(users_table.c.admin).where(users_table.c.name == name)
            ).first()
        return User(name, bool(row.admin)) if row else None

    def exists(self) -> bool:
        """Whether any user exists (the first one must be made with the CLI)."""
        with self.db.read() as conn:
            return conn.execute(select(users_table.c.name).limit(1)).first() is not None

    # -- signing in ----------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, client: str = "") -> str:
        """Check a name and password; a new session token if they match.

        Raises:
            SignInError: wrong name or password (same words either way), or throttled.
        """
        keys = [f"name:{name.strip().lower()}"] + ([f"client:{client}"] if client else [])
        self._check_throttle(keys)
        with self.db.read() as conn:
            row = conn.execute(
                select(users_table.c.password_hash).where(users_table.c.name == name)
            ).first()
        stored = row.password_hash if row is not None and row.password_hash else _dummy_hash()
        try:
            ok = _hasher().verify(stored, password) and row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._fail(keys)
            raise SignInError(WRONG)
        self._clear(keys)
        return self.open_session(name)

    def open_session(self, name: str) -> str:
        """A new session token for ``name`` (after a password or a single sign-on)."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.write() as conn:
            conn.execute(
                sessions_table.insert().values(
                    token_hash=_token_hash(token),
                    user_name=name,
                    created_at=now,
                    expires_at=now + self.settings.session_hours * 3600,
                )
            )
        return token

    def session_user(self, token: str | None) -> User | None:
        """The user a session token stands for, or None (unknown, ended, or expired)."""
        if not isinstance(token, str) or not token:
            return None
        s, u = sessions_table.c, users_table.c
        with self.db.read() as conn:
            row = conn.execute(
                select(u.name, u.admin, s.expires_at)
                .join(users_table, u.name == s.user_name)
                .where(s.token_hash == _token_hash(token))
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return User(row.name, bool(row.admin))

    def sign_out(self, token: str) -> None:
        """End a session."""
        with self.db.write() as conn:
            conn.execute(
                sessions_table.delete().where(sessions_table.c.token_hash == _token_hash(token))
            )

    def sso_user(
        self, issuer: str, subject: str, email: str | None, email_verified: bool = False
    ) -> User:
        """The Docent user a single-sign-on identity maps to.

        The identity (issuer and subject) is the key, not the e-mail address, which a provider
        may let a user change. An identity seen for the first time is linked to a user an
        admin made for single sign-on (``users add NAME --sso``) whose name is its verified
        e-mail address; otherwise a new user is made (named after the address, or the
        subject), unless ``DOCENT_SSO_AUTO_CREATE`` is off.

        Raises:
            SignInError: the identity is unknown and no user may be made for it.
        """
        key = f"{issuer}|{subject}"
        u = users_table.c
        with self.db.read() as conn:
            row = conn.execute(select(u.name, u.admin).where(u.sso_key == key)).first()
        if row is not None:
            return User(row.name, bool(row.admin))
        if email and email_verified:
            with self.db.write() as conn:
                linked = conn.execute(
                    users_table.update()
                    .where(u.name == email, u.password_hash.is_(None), u.sso_key.is_(None))
                    .values(sso_key=key)
                )
            if linked.rowcount:
                return self.user(email) or User(email)
        if not self.settings.sso_auto_create:
            raise SignInError("This account is not a Docent user yet; ask an administrator.")
        name = self._free_name(_sso_name(email or subject))
        with self.db.write() as conn:
            conn.execute(
                users_table.insert().values(
                    name=name, password_hash=None, admin=0, created_at=time.time(), sso_key=key
                )
            )
        return User(name)

    def _free_name(self, base: str) -> str:
        taken = {a.name for a in self.list()}
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        return name

    # -- throttling ----------------------------------------------------------------------------
    def _check_throttle(self, keys: list[str]) -> None:
        f = failures_table.c
        with self.db.read() as conn:
            until = conn.execute(
                select(f.locked_until).where(f.key.in_(keys)).order_by(f.locked_until.desc())
            ).scalar()
        wait = (until or 0) - time.time()
        if wait > 0:
            raise SignInError(
                f"Too many failed sign-ins. Try again in {max(1, round(wait))} seconds."
            )

    def _fail(self, keys: list[str]) -> None:
        f, now, limit = failures_table.c, time.time(), self.settings.signin_failures
        with self.db.write() as conn:
            for key in keys:
                row = conn.execute(select(f.failures).where(f.key == key)).first()
                failures = (row.failures if row else 0) + 1
                over = failures - limit
                lock = 0.0
                if over >= 0:
                    lock = now + min(self.settings.signin_lockout_s * 2**over, MAX_LOCKOUT_S)
                values = {"failures": failures, "last_at": now, "locked_until": lock}
                if row:
                    conn.execute(failures_table.update().where(f.key == key).values(values))
                else:
                    conn.execute(failures_table.insert().values(key=key, **values))

    def _clear(self, keys: list[str]) -> None:
        with self.db.write() as conn:
            conn.execute(failures_table.delete().where(failures_table.c.key.in_(keys)))


def _account(row: Row[Any]) -> Account:
    has_password, sso = row.password_hash is not None, row.sso_key is not None
    return Account(row.name, bool(row.admin), row.created_at, has_password, sso)


def _checked(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    return password


def _sso_name(email: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._@+-]", "-", email.strip())[:64].lstrip("._@+-")
    return name or "user"
