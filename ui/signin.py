"""Who is at the browser: the local user (accounts off), or a signed-in account.

With ``DOCENT_AUTH=none`` Docent is one person's tool and serves only the machine it runs on:
a page reached from elsewhere, or a server bound to another address, is refused. With
``DOCENT_AUTH=accounts`` every session signs in (a password, or single sign-on through
Streamlit's ``st.login`` when ``[auth]`` is configured in ``.streamlit/secrets.toml``).
"""

from __future__ import annotations

from typing import Any, Protocol

import streamlit as st

from rag.access import User
from rag.accounts import Accounts, SignInError
from rag.config import Settings
from rag.render import plain
from ui.state import show_chat_in_address, state

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
COOKIE = "docent_session"  # the browser keeps the session token, so a reload stays signed in


class HasAccounts(Protocol):
    """What signing in needs: Docent, or the database alone while the model loads
    (:class:`ui.boot.Front`)."""

    settings: Settings
    accounts: Accounts


def guard_local(settings: Settings) -> None:
    """Stop the page unless accounts are on or this is the machine's own browser."""
    if settings.auth != "none":
        return
    address = st.get_option("server.address")
    client = _client()
    if address in LOOPBACK and client is None:
        return
    st.error(
        "Docent is running without sign-in (DOCENT_AUTH=none), so it serves only this "
        f"machine, but it is listening on {plain(str(address or 'every interface'))}"
        + (f" and this page came from {plain(client)}" if client else "")
        + ". Bind it to 127.0.0.1 (`make run` does), or turn accounts on: "
        "`DOCENT_AUTH=accounts`. See the README's section on sharing Docent."
    )
    st.stop()


def current_user(app: HasAccounts) -> User:
    """The acting user; with accounts on, the sign-in page until someone signs in."""
    if app.settings.auth == "none":
        return User.local()
    s = state()
    cookie = st.context.cookies.get(COOKIE)
    for token in (s.token, cookie if isinstance(cookie, str) else None):
        user = app.accounts.session_user(token)
        if user is not None:
            if token != s.token:
                s.token, s.remembered = token, True  # came back with the cookie
            _remember(app, s.token)
            return user
    s.token = None
    if _sso_providers() is not None and st.user.get("is_logged_in", False):
        try:
            user = app.accounts.sso_user(
                str(st.user.get("iss", "")),
                str(st.user.get("sub", "")),
                _claim("email"),
                st.user.get("email_verified") is True,
            )
            s.token = app.accounts.open_session(user.name)
            return user
        except SignInError as exc:
            st.error(plain(str(exc)))
    signin_page(app)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run


def signin_page(app: HasAccounts) -> None:
    """The sign-in form (and single sign-on buttons when configured)."""
    forget_cookie_if_asked()
    st.title("Docent")
    st.caption("Sign in to your documents.")
    if not app.accounts.exists():
        st.info(
            "No accounts yet. Create the first administrator on the server:  \n"
            "`python -m rag users add NAME --admin --password-stdin`"
        )
    with st.form("signin"):
        name = st.text_input("Name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            state().token = app.accounts.sign_in(name, password, _client() or "")
            st.rerun()
        except SignInError as exc:
            st.error(plain(str(exc)))
    providers = _sso_providers()
    for provider in providers or []:
        label = f"Sign in with {provider}" if provider else "Sign in with single sign-on"
        if st.button(label, key=f"sso-{provider}"):
            if provider:
                st.login(provider)
            else:
                st.login()


def account_box(app: HasAccounts, user: User) -> None:
    """Who is signed in, and the way out (accounts only)."""
    if app.settings.auth == "none":
        return
    cols = st.columns([3, 2])
    cols[0].caption(f"Signed in as **{plain(user.name)}**" + (" (admin)" if user.admin else ""))
    if cols[1].button("Sign out", key="signout"):
        s = state()
        if s.token:
            app.accounts.sign_out(s.token)  # the token is dead, in any browser that kept it
        s.clear()
        s.forget_cookie = True
        show_chat_in_address(None)  # the next person to sign in here starts afresh
        if _sso_providers() is not None and st.user.get("is_logged_in", False):
            st.logout()
        st.rerun()


def _remember(app: HasAccounts, token: str | None) -> None:
    """Once per session: let the browser keep the token (a cookie for this site only)."""
    s = state()
    if s.get("remembered") or not token:
        return
    secure = "; Secure" if (st.context.url or "").startswith("https:") else ""
    age = int(app.settings.session_hours * 3600)
    _set_cookie(f"{COOKIE}={token}; Path=/; Max-Age={age}; SameSite=Strict{secure}")
    s.remembered = True


def forget_cookie_if_asked() -> None:
    """After sign-out (on the sign-in page): make the browser drop the token."""
    if state().pop("forget_cookie", False):
        _set_cookie(f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict")


def _set_cookie(cookie: str) -> None:
    # The token is URL-safe base64 made here, never user text: the script is ours alone.
    st.html(f"<script>document.cookie = {cookie!r};</script>", unsafe_allow_javascript=True)


def _sso_providers() -> list[str | None] | None:
    """Single sign-on providers from ``[auth]`` in secrets.toml (None: not configured)."""
    try:
        auth: Any = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return None
    if not auth:
        return None
    named = [str(k) for k, v in auth.items() if hasattr(v, "items")]
    return named or ([None] if "client_id" in auth else None)


def _client() -> str | None:
    """The browser's address; None for this machine's own (Streamlit reports no address for
    loopback, and its test harness no real one)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def _claim(name: str) -> str | None:
    value = st.user.get(name)
    return str(value) if value else None
