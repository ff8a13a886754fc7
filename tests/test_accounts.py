"""Accounts: passwords, sessions that expire, throttling that reveals nothing, single sign-on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.access import User
from rag.accounts import WRONG, AccountError, Accounts, SignInError
from rag.config import Settings
from rag.database import open_database


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    settings = Settings(
        data_dir=tmp_path / "data",
        auth="accounts",
        signin_failures=3,
        signin_lockout_s=30,
        _env_file=None,
    )
    return Accounts(open_database(settings), settings)


def test_users_are_added_listed_changed_and_removed(accounts: Accounts) -> None:
    assert not accounts.exists()
    accounts.add("ann", "correct horse", admin=True)
    accounts.add("bob", "battery staple")
    assert accounts.exists()
    assert [(a.name, a.admin, a.password) for a in accounts.list()] == [
        ("ann", True, True),
        ("bob", False, True),
    ]
    with pytest.raises(AccountError, match="exists already"):
        accounts.add("bob", "another one!")
    with pytest.raises(AccountError, match="too short"):
        accounts.add("cat", "short")
    with pytest.raises(AccountError, match="invalid user name"):
        accounts.add("../evil", "long enough")
    token = accounts.sign_in("bob", "battery staple")
    assert accounts.session_user(token) == User("bob")
    accounts.passwd("bob", "new battery staple")
    assert accounts.session_user(token) is None  # a new password ends open sessions
    with pytest.raises(SignInError):
        accounts.sign_in("bob", "battery staple")
    assert accounts.session_user(accounts.sign_in("bob", "new battery staple")) == User("bob")
    accounts.remove("bob")
    assert [a.name for a in accounts.list()] == ["ann"] and accounts.user("bob") is None
    with pytest.raises(AccountError, match="no user"):
        accounts.remove("bob")


def test_the_password_is_stored_hashed_and_the_token_too(accounts: Accounts) -> None:
    accounts.add("ann", "correct horse")
    token = accounts.sign_in("ann", "correct horse")
    folder = accounts.settings.data_dir
    raw = b"".join(p.read_bytes() for p in folder.glob("docent.sqlite*"))  # with the WAL
    assert b"$argon2id$" in raw  # the hash is there...
    assert b"correct horse" not in raw and token.encode() not in raw  # ...the secrets are not


def test_wrong_name_and_wrong_password_read_the_same_and_are_throttled(
    accounts: Accounts,
) -> None:
    accounts.add("ann", "correct horse")
    messages = []
    for name in ("ann", "nobody"):
        start = time.perf_counter()
        with pytest.raises(SignInError) as err:
            accounts.sign_in(name, "wrong password", client="10.0.0.9")
        messages.append((str(err.value), time.perf_counter() - start))
    assert messages[0][0] == messages[1][0] == WRONG
    assert messages[1][1] > 0.3 * messages[0][1]  # an unknown name is hashed too
    with pytest.raises(SignInError, match=WRONG):  # the third failure from this client...
        accounts.sign_in("cat", "still wrong", client="10.0.0.9")
    with pytest.raises(SignInError, match="Too many failed sign-ins"):  # ...locks it out,
        accounts.sign_in("ann", "correct horse", client="10.0.0.9")  # even the right password
    assert accounts.sign_in("ann", "correct horse", client="10.0.0.10")  # not others
    for client in ("10.0.0.21", "10.0.0.22", "10.0.0.23"):  # three failures for one name...
        with pytest.raises(SignInError, match=WRONG):
            accounts.sign_in("ann", "wrong again", client=client)
    with pytest.raises(SignInError, match="Too many"):  # ...lock the name, from anywhere
        accounts.sign_in("ann", "correct horse", client="10.0.0.24")
    for client in ("10.0.0.31", "10.0.0.32", "10.0.0.33"):  # an unknown name: the same
        with pytest.raises(SignInError, match=WRONG):
            accounts.sign_in("no-one", "x", client=client)
    with pytest.raises(SignInError, match="Too many"):
        accounts.sign_in("no-one", "x", client="10.0.0.34")
    accounts.settings = accounts.settings.model_copy(update={"signin_lockout_s": 0})
    accounts._clear(["name:ann", "client:10.0.0.9"])  # as when the lockout is over
    assert accounts.session_user(accounts.sign_in("ann", "correct horse", client="10.0.0.9"))


def test_sessions_expire_and_end(accounts: Accounts) -> None:
    accounts.add("ann", "correct horse")
    accounts.settings = accounts.settings.model_copy(update={"session_hours": 1 / 3600})
    token = accounts.sign_in("ann", "correct horse")
    assert accounts.session_user(token) == User("ann")
    time.sleep(1.1)
    assert accounts.session_user(token) is None  # expired
    accounts.settings = accounts.settings.model_copy(update={"session_hours": 12})
    token = accounts.sign_in("ann", "correct horse")
    accounts.sign_out(token)
    assert accounts.session_user(token) is None
    assert accounts.session_user("forged-token") is None and accounts.session_user(None) is None


def test_single_sign_on_maps_an_identity_to_one_user(accounts: Accounts) -> None:
    accounts.add("ann@example.org", "correct horse")  # a password user with the same address
    first = accounts.sso_user("https://idp.example", "sub-123", "ann@example.org")
    assert first.name == "ann@example.org-2" and not first.admin  # never an existing account
    again = accounts.sso_user("https://idp.example", "sub-123", "ann.new@example.org")
    assert again == first  # the identity, not the (changeable) address, is the key
    other = accounts.sso_user("https://other-idp", "sub-123", None)
    assert other.name == "sub-123" and other != first
    with pytest.raises(SignInError):  # no password to guess for an SSO-only user
        accounts.sign_in("sub-123", "")
    closed = Accounts(accounts.db, accounts.settings.model_copy(update={"sso_auto_create": False}))
    with pytest.raises(SignInError, match="not a Docent user"):
        closed.sso_user("https://idp.example", "sub-999", "new@example.org", True)
    assert closed.sso_user("https://idp.example", "sub-123", None) == first
    # an admin makes an SSO-only user; the identity with that verified address links to it
    closed.add("dan@example.org", None, admin=True)
    with pytest.raises(SignInError):  # an unverified address links nothing
        closed.sso_user("https://idp.example", "sub-dan", "dan@example.org", False)
    dan = closed.sso_user("https://idp.example", "sub-dan", "dan@example.org", True)
    assert dan == User("dan@example.org", admin=True)
    with pytest.raises(SignInError):  # linked once: another identity can't take it over
        closed.sso_user("https://evil.example", "sub-x", "dan@example.org", True)
    # a password user is never linked by address: that would hand the account to the IdP
    with pytest.raises(SignInError):
        closed.sso_user("https://idp.example", "sub-ann", "ann@example.org", True)
