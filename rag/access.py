"""Who may do what to a collection: roles, actions and the one table that joins them.

Every library and answer operation asks :func:`require` with the acting user's role; the UI
only hides what this refuses anyway. A collection has an owner and is private until it is
shared with named users or with everyone (signed in), as reader or writer. Admins manage all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "owner", "writer", "reader", "none"]
Action = Literal["read", "write", "manage"]
Grant = Literal["reader", "writer"]
EVERYONE = "*"  # a grant to every signed-in user

# read: list documents, search, ask. write: upload, replace, delete documents.
# manage: share, unshare, delete the collection.
POLICY: dict[Role, frozenset[Action]] = {
    "admin": frozenset({"read", "write", "manage"}),
    "owner": frozenset({"read", "write", "manage"}),
    "writer": frozenset({"read", "write"}),
    "reader": frozenset({"read"}),
    "none": frozenset(),
}
_RANK: dict[Role, int] = {"none": 0, "reader": 1, "writer": 2, "owner": 3, "admin": 4}


@dataclass(frozen=True)
class User:
    """Who acts: a signed-in account, or the local administrator of a single-user install."""

    name: str
    admin: bool = False

    @classmethod
    def local(cls) -> User:
        """The person at the machine when accounts are off (and the CLI without ``--user``)."""
        return cls("local", admin=True)


MAINTENANCE = User("docent", admin=True)  # Docent itself, finishing a crashed writer's work


class AccessDenied(PermissionError):
    """The acting user may not do this; ``str()`` says what and why, without leaking more."""


def role_of(user: User, owner: str | None, grants: dict[str, Grant]) -> Role:
    """A user's role on a collection owned by ``owner`` with ``grants`` (grantee -> grant)."""
    if user.admin:
        return "admin"
    if owner is not None and owner == user.name:
        return "owner"
    best: Role = "none"
    for grantee in (user.name, EVERYONE):
        grant = grants.get(grantee)
        if grant is not None and _RANK[grant] > _RANK[best]:
            best = grant
    return best


def allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may do ``action``."""
    return action in POLICY[role]


def require(user: User, role: Role, action: Action, collection: str) -> None:
    """Raise :class:`AccessDenied` unless ``role`` allows ``action`` on ``collection``."""
    if allowed(role, action):
        return
    if role == "none":  # the same words whether or not the collection exists
        raise AccessDenied(f"{user.name} has no access to a collection named {collection!r}")
    what = {"write": "add or delete documents in", "manage": "share or delete"}.get(action, action)
    raise AccessDenied(f"{user.name} is a {role} of {collection!r} and may not {what} it")
