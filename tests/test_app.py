"""The Streamlit app through ``AppTest``: upload, index, ask, sources, not-found, delete."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest
import streamlit as st
from streamlit.runtime.media_file_storage import MediaFileKind
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from rag.config import get_settings
from tests.conftest import REPO
from tests.helpers import FACTS, make_pdf
from ui.library import ICONS

APP = str(REPO / "app.py")


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> Iterator[Path]:
    """A fresh data dir for the app; cached resources are rebuilt for it."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    for var in ("DOCENT_LLM_BASE_URL", "OPENAI_API_KEY", "DOCENT_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    st.cache_resource.clear()
    yield tmp_path
    get_settings.cache_clear()
    st.cache_resource.clear()


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, files: list[tuple[str, bytes, str]]) -> None:
    """Upload, press Index, and wait for the background job to report every file."""
    at.sidebar.file_uploader[0].set_value(files)
    at.run()
    next(b for b in at.sidebar.button if b.label == "Index").click()
    at.run()
    deadline = time.monotonic() + 300
    while len(_results(at)) < len(files) and not at.sidebar.error:
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.2)
        at.run()
    assert not at.exception, at.exception


def _results(at: AppTest) -> list[str]:
    """The sidebar lines that say how each file of the last upload ended."""
    return [c.value for c in at.sidebar.caption if c.value.split(" ", 1)[0] in ICONS.values()]


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def _labels(at: AppTest) -> list[str]:
    """Expander labels as a reader sees them (Markdown escapes removed)."""
    import re

    return [re.sub(r"\\(.)", r"\1", e.label) for e in at.expander]


def _ask(at: AppTest, question: str) -> None:
    at.chat_input[0].set_value(question)
    at.run()
    assert not at.exception, at.exception


def test_upload_ask_cite_not_found_and_delete(app_env: Path) -> None:
    at = _app()
    assert "Welcome to Docent" in at.info[0].value
    assert at.chat_input[0].disabled  # nothing to ask about yet
    assert "No LLM configured" in "\n".join(c.value for c in at.sidebar.caption)
    _upload(
        at, [("facts.pdf", make_pdf(FACTS), "application/pdf"), ("empty.txt", b"", "text/plain")]
    )
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "**indexed**: facts\\.pdf" in sidebar
    assert "**failed**: empty\\.txt — the file is empty" in sidebar
    assert not at.chat_input[0].disabled

    _ask(at, "How do honey bees tell direction?")
    answer = at.chat_message[-1]
    assert answer.name == "assistant"
    text = answer.markdown[0].value
    # its citation links to the answer's sources and names its own
    assert "waggle dance" in text
    assert '[\\[1\\]](#docent-sources-1 "facts.pdf, p. 2, Bees")' in text
    assert any("[1] facts.pdf, p. 2, Bees" in label for label in _labels(at))
    # The PDF source reads as on its page, line by line, its wrapped sentence in one piece
    source = next(e for e in at.expander if "Bees" in e.label).markdown[0].value
    assert "dark hive on vertical comb\\." in source and "  \n" in source, source
    assert "mode extractive" in _captions(at) and "reranker learned" in _captions(at)
    # no cross-encoder and no LLM here: only the rerankers that can run are offered
    offered = at.sidebar.selectbox(key="reranker").options
    assert offered == ["auto", "learned", "maxsim", "none"]

    _ask(at, "Which football club won the 1974 cup final?")
    assert "don't cover this" in at.chat_message[-1].markdown[0].value
    assert "did not guess" in _captions(at)

    next(b for b in at.sidebar.button if b.help == "Delete facts\\.pdf").click()
    at.run()  # asks first
    assert "1 document" in "\n".join(h.value for h in at.sidebar.subheader)
    assert "Delete **facts\\.pdf** from this collection?" in at.sidebar.warning[0].value
    next(b for b in at.sidebar.button if b.label == "Delete").click()
    at.run()
    assert "0 documents" in "\n".join(h.value for h in at.sidebar.subheader)
    assert at.sidebar.success[0].value == "Deleted facts\\.pdf\\."


def test_hostile_names_and_text_are_inert(app_env: Path) -> None:
    at = _app()
    evil = (
        b"# <script>alert(1)</script>\nThe secret word is swordfish. ![x](http://127.0.0.1:9/t.png)"
    )
    _upload(at, [("<img src=x onerror=alert(1)>.md", evil, "text/markdown")])
    _ask(at, "What is the secret word?")
    shown = "\n".join(m.value for m in at.markdown)
    assert "swordfish" in shown
    assert "![x](" not in shown and "127.0.0.1:9" not in shown and "\\[image: x\\]" in shown
    assert "\\<img src=x onerror=alert\\(1\\)\\>\\.md" in "\n".join(
        m.value for m in at.sidebar.markdown
    )


def test_sources_of_one_file_and_section_show_how_they_begin(app_env: Path) -> None:
    # A text file has no pages or headings: every passage of it has the same label.
    hive = [
        "Foragers leave the hive at dawn and visit hundreds of flowers on each trip.",
        "Nurse bees feed the larvae with royal jelly during their first days.",
        "Guard bees stand at the entrance and turn away wasps and robber bees.",
        "In winter the colony clusters around the queen and shivers to make heat.",
    ]
    text = "\n\n".join(" ".join([line] * 12) for line in hive)
    at = _app()
    _upload(at, [("hive.txt", text.encode(), "text/plain")])
    _ask(at, "What do the bees of a hive do?")
    labels = [label for label in _labels(at) if "hive.txt" in label]
    assert len(labels) >= 2, _labels(at)
    assert all(" — “" in label for label in labels)  # the opening of each passage...
    assert len({label.split("] ", 1)[1] for label in labels}) == len(labels)  # ...tells them apart


def test_sessions_keep_their_own_chat(app_env: Path) -> None:
    # AppTest is not thread-safe, so this checks isolation; the browser test checks concurrency.
    first, second = _app(), _app()
    _upload(first, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    second.run()
    _ask(first, "How do honey bees tell direction?")
    _ask(second, "What is the largest glacier in the Alps?")
    first.run()
    assert [m.name for m in first.chat_message] == ["user", "assistant"]
    assert [m.name for m in second.chat_message] == ["user", "assistant"]
    assert "waggle" in first.chat_message[-1].markdown[0].value
    assert "Aletsch" in second.chat_message[-1].markdown[0].value
    assert "honey bees" in first.chat_message[0].markdown[0].value
    assert "glacier" in second.chat_message[0].markdown[0].value


def test_a_new_chat_is_listed_at_once_and_its_address_reopens_it(app_env: Path) -> None:
    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    _ask(at, "How do honey bees tell direction?")
    listed = [b.label for b in at.sidebar.button if (b.key or "").startswith("chat-")]
    assert len(listed) == 1 and "How do honey bees tell direction?" in listed[0]
    chat_id = at.query_params["chat"]
    assert chat_id and isinstance(chat_id, str)
    reloaded = AppTest.from_file(APP, default_timeout=300)
    reloaded.query_params["chat"] = chat_id  # a reload, or the address bookmarked
    reloaded.run()
    assert [m.name for m in reloaded.chat_message] == ["user", "assistant"]
    assert "waggle" in reloaded.chat_message[-1].markdown[0].value
    stranger = AppTest.from_file(APP, default_timeout=300)
    stranger.query_params["chat"] = "no-such-chat"
    stranger.run()
    assert not stranger.chat_message and "chat" not in stranger.query_params
    next(b for b in at.sidebar.button if b.key == "new-chat").click()
    at.run()
    assert not at.chat_message and "chat" not in at.query_params


def test_the_collection_on_screen_survives_a_reload_through_the_address(app_env: Path) -> None:
    # A reload went back to the default collection: "my documents are gone".
    at = _app()
    assert "collection" not in at.query_params  # the default: a clean address
    at.sidebar.text_input(key="new_collection").set_value("manuals")
    next(b for b in at.sidebar.button if b.label == "Create").click()
    at.run()
    assert at.session_state["collection"] == "manuals"
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    assert at.query_params["collection"] == "manuals"
    reloaded = AppTest.from_file(APP, default_timeout=300)
    reloaded.query_params["collection"] = "manuals"
    reloaded.run()
    assert reloaded.session_state["collection"] == "manuals"
    assert "Collection: **manuals**" in _captions(reloaded)
    unknown = AppTest.from_file(APP, default_timeout=300)
    unknown.query_params["collection"] = "no-such-collection"  # not made on a whim
    unknown.run()
    assert unknown.session_state["collection"] == get_settings().collection
    assert "collection" not in unknown.query_params


def test_a_question_sent_as_the_documents_went_is_not_dropped_silently(app_env: Path) -> None:
    # The box used to turn disabled once the collection emptied: a question sent as the last
    # document went (deleted in another tab or process) vanished without a word.
    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    _ask(at, "How do honey bees tell direction?")
    next(b for b in at.sidebar.button if (b.key or "").startswith("del-")).click()
    at.run()
    next(b for b in at.sidebar.button if (b.key or "").startswith("del-yes-")).click()
    at.run()
    assert not at.chat_input[0].disabled  # mid-chat: still open
    _ask(at, "What is the largest glacier in the Alps?")
    assert "has no documents any more, so this was not asked" in at.warning[-1].value
    assert "largest glacier" in at.warning[-1].value
    assert len(at.chat_message) == 2  # the earlier question and answer, nothing new


def test_retrieval_settings_survive_a_reload_through_the_address(app_env: Path) -> None:
    at = _app()
    assert not {"top_k", "hybrid", "reranker"} & set(at.query_params)  # defaults: clean address
    at.sidebar.slider(key="top_k").set_value(8)
    at.sidebar.toggle(key="hybrid").set_value(False)
    at.sidebar.selectbox(key="reranker").set_value("maxsim")
    at.run()
    assert (at.query_params["top_k"], at.query_params["hybrid"]) == ("8", "off")
    assert at.query_params["reranker"] == "maxsim"
    reloaded = AppTest.from_file(APP, default_timeout=300)
    for key in ("top_k", "hybrid", "reranker"):
        reloaded.query_params[key] = at.query_params[key]
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert reloaded.sidebar.slider(key="top_k").value == 8
    assert reloaded.sidebar.toggle(key="hybrid").value is False
    assert reloaded.sidebar.selectbox(key="reranker").value == "maxsim"
    reloaded.sidebar.slider(key="top_k").set_value(get_settings().top_k)  # back to the default
    reloaded.run()
    assert "top_k" not in reloaded.query_params and reloaded.query_params["reranker"] == "maxsim"
    # a hand-edited address: what cannot run here, or is out of range, is ignored
    for top_k in ("99", "\u00b2", "9" * 5000):  # out of range; a digit int() refuses; too long
        edited = AppTest.from_file(APP, default_timeout=300)
        edited.query_params.update({"top_k": top_k, "hybrid": "maybe", "reranker": "llm"})
        edited.run()
        assert not edited.exception and not edited.warning
        assert edited.sidebar.slider(key="top_k").value == get_settings().top_k
        assert edited.sidebar.selectbox(key="reranker").value == get_settings().reranker
        assert not {"top_k", "hybrid", "reranker"} & set(edited.query_params)


def test_a_chat_whose_collection_was_deleted_opens_read_only(app_env: Path) -> None:
    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    _ask(at, "How do honey bees tell direction?")
    next(c for c in at.sidebar.checkbox if c.label.startswith("Yes, delete “")).check()
    at.run()
    next(b for b in at.sidebar.button if b.label == "Delete collection").click()
    at.run()
    next(b for b in at.sidebar.button if (b.key or "").startswith("chat-")).click()
    at.run()
    assert not at.exception, at.exception
    assert "waggle" in at.chat_message[-1].markdown[0].value  # shown as it was
    assert "has been deleted" in at.info[0].value and at.chat_input[0].disabled


def test_upload_limit_follows_settings(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCENT_MAX_FILE_MB", "7")
    get_settings.cache_clear()
    at = _app()
    assert at.sidebar.file_uploader[0].proto.max_upload_size_mb == 7


def test_llm_errors_are_friendly_and_the_chat_goes_on(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.llm_stub import LLMStub, Reply

    with LLMStub([Reply(status=429), Reply("Bees dance to show direction [1].")]) as stub:
        monkeypatch.setenv("DOCENT_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("DOCENT_LLM_MAX_RETRIES", "0")
        get_settings.cache_clear()
        at = _app()
        assert "LLM: gpt\\-4o\\-mini" in "\n".join(c.value for c in at.sidebar.caption)
        _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
        _ask(at, "How do honey bees tell direction?")
        assert "rate-limiting" in at.chat_message[-1].markdown[0].value
        assert "The LLM endpoint failed" in _captions(at)
        _ask(at, "How do honey bees tell direction?")
        shown = at.chat_message[-1].markdown[0].value
        link = r'\[\\\[1\\\]\]\(#docent-sources-\d+ "facts\.pdf, p\. 2, Bees"\)'
        assert re.fullmatch(f"Bees dance to show direction {link}\\.", shown), shown
        assert "mode llm" in _captions(at) and "📌 [1] facts.pdf, p. 2" in "\n".join(_labels(at))
        # the failed answer's message is not passed on as something the model said
        assert not any("rate-limiting" in str(r["messages"]) for r in stub.requests)


def test_the_servers_key_never_goes_to_a_sessions_own_endpoint(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # H1: a session pointing "its" endpoint at an attacker's URL got the server's key.
    from tests.llm_stub import LLMStub, Reply

    with (
        LLMStub([Reply("Operator answer [1].")]) as operator,
        LLMStub([Reply("Attacker answer [1].")]) as attacker,
    ):
        monkeypatch.setenv("DOCENT_LLM_BASE_URL", operator.base_url)
        monkeypatch.setenv("DOCENT_LLM_API_KEY", "sk-operator-secret")
        get_settings.cache_clear()
        at = _app()
        _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
        at.sidebar.toggle(key="use_own_endpoint").set_value(True).run()
        at.sidebar.text_input(key="own_base_url").set_value(attacker.base_url).run()
        _ask(at, "How do honey bees tell direction?")
        assert at.chat_message[-1].markdown[0].value.startswith("Attacker answer [\\[1\\]]")
        assert operator.requests == [] and len(attacker.requests) == 1
        sent = attacker.headers[0].get("authorization", "")
        assert "sk-operator-secret" not in sent  # the session gave no key, so none of ours
        # Back on the server's endpoint, only the models it offers can be picked
        at.sidebar.toggle(key="use_own_endpoint").set_value(False).run()
        assert at.sidebar.selectbox(key="llm_model").options == ["gpt-4o-mini"]
        assert "llm" in at.sidebar.selectbox(key="reranker").options  # an LLM can grade
        _ask(at, "How do honey bees tell direction?")
        assert operator.headers[0]["authorization"] == "Bearer sk-operator-secret"
        assert operator.requests[0]["model"] == "gpt-4o-mini"


def _shown_strings(at: AppTest) -> list[str]:
    """Every string any element of the page carries (bodies, labels, help texts, captions)."""
    from google.protobuf.json_format import MessageToDict

    out: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "DESCRIPTOR"):
            stack: list[object] = [MessageToDict(proto)]
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    stack += list(item.values())
                elif isinstance(item, list):
                    stack += item
                elif isinstance(item, str):
                    out.append(item)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def test_remote_images_in_headings_and_file_names_are_never_rendered(app_env: Path) -> None:
    # H3: headings (Markdown, HTML, DOCX, PDF bookmark) and a file name holding image Markdown
    # were rendered as images, so the reader's browser fetched them.
    from markdown_it import MarkdownIt

    from tests.helpers import make_docx

    img = "![x](http://127.0.0.1:9/track.png)"
    body = "The secret word is swordfish, kept in the vault."
    files = [
        ("headings.md", f"# Vault {img}\n{body}\n".encode(), "text/markdown"),
        ("page.html", f"<h1>Vault {img}</h1><p>{body}</p>".encode(), "text/html"),
        ("notes.docx", make_docx([(f"Vault {img}", [body])]), "application/octet-stream"),
        ("book.pdf", make_pdf([(f"Vault {img}", body)]), "application/pdf"),
        ("![fn](https:127.0.0.1:9?x) x.md", f"{body}\n".encode(), "text/markdown"),
    ]
    at = _app()
    _upload(at, files)
    assert "5 documents" in "\n".join(h.value for h in at.sidebar.subheader)
    _ask(at, "What is the secret word in the vault?")
    assert "swordfish" in at.chat_message[-1].markdown[0].value
    md = MarkdownIt("commonmark")
    strings = _shown_strings(at)
    assert any("track" in s for s in strings)  # the hostile text is on the page, as text
    for text in strings:
        html = md.render(text)
        assert "<img" not in html and 'href="https:127' not in html, text


def test_a_nul_or_a_bidi_override_in_a_file_name_is_refused_and_shown_safely(
    app_env: Path,
) -> None:
    # H9: such names were accepted; a NUL replaced the page with a traceback until reload.
    at = _app()
    _upload(at, [("invoice\u202efdp.md", b"# B\nOther text.\n", "text/markdown")])
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "invoice\u241afdp" in sidebar and "invisible characters" in sidebar
    _upload(
        at,
        [
            ("evil\x00name.md", b"# A\nText.\n", "text/markdown"),
            ("virus.exe", b"MZ\x90\x00", "application/octet-stream"),
        ],
    )
    assert not at.exception  # the page still works, and says what happened to each file
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "evil\u241aname" in sidebar and "contains control characters" in sidebar
    assert "virus\\.exe — unsupported file type" in sidebar
    assert "0 documents" in "\n".join(h.value for h in at.sidebar.subheader)


class _Kept(MemoryMediaFileStorage):
    """Streamlit's in-memory media storage, keeping every file it is given: AppTest drops
    its storage after each run, and a download button's data lives there."""

    files: ClassVar[dict[str, bytes]] = {}

    def load_and_get_id(
        self,
        path_or_data: str | bytes,
        mimetype: str,
        kind: MediaFileKind,
        filename: str | None = None,
    ) -> str:
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
        _Kept.files[self.get_url(file_id)] = self.get_file(file_id).content
        return file_id


def test_a_downloaded_chat_holds_the_chat_and_its_own_date(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit.testing.v1.app_test as app_test

    import rag.chats

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", _Kept)
    asked = datetime(2024, 3, 5, 14, 30)  # the chat's last message: not the download's time
    monkeypatch.setattr(rag.chats, "time", SimpleNamespace(time=asked.timestamp))
    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    _ask(at, "How do honey bees tell direction?")
    at.run()  # the sidebar lists the new chat, with its download button
    button = next(b for b in at.get("download_button") if "Markdown" in b.label)
    text = _Kept.files[button.proto.url].decode()
    assert text.startswith("# How do honey bees tell direction? — 2024-03-05 14:30\n")
    assert "## Q: How do honey bees tell direction?" in text
    assert "**Sources**" in text and "facts\\.pdf" in text


def test_a_setting_that_is_not_valid_is_named_on_the_page(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_TOP_K", "five")
    get_settings.cache_clear()
    at = _app()  # no exception: the page says what is wrong instead of a traceback
    assert "DOCENT_TOP_K: Input should be a valid integer" in at.error[0].value


def test_a_chroma_server_gone_mid_session_is_named_not_a_traceback(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped Chroma server replaced the chat with httpx's ConnectError and a traceback.
    import sys

    from tests.servers import free_port, serve

    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    cmd = [str(chroma), "run", "--path", str(app_env / "chroma"), "--host", "127.0.0.1"]
    with serve([*cmd, "--port", str(port)], port, app_env / "chroma.log", timeout=60):
        monkeypatch.setenv("DOCENT_CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("DOCENT_CHROMA_PORT", str(port))
        get_settings.cache_clear()
        at = _app()
        _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
        _ask(at, "How do honey bees tell direction?")
        assert "waggle" in at.chat_message[-1].markdown[0].value
    _ask(at, "What is the largest glacier in the Alps?")  # the server is gone now
    assert "cannot reach its vector index (Chroma) just now" in at.error[0].value
    assert "cannot reach the Chroma server" in at.error[0].value  # the operator is told how
    assert any(b.label == "Try again" for b in at.button)


def test_a_question_is_saved_before_its_answer_is_written(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reload mid-answer lost the question and the chat: both were saved after the answer.
    from rag.system import Docent

    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])

    def dies(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the session ended mid-answer")  # as a reload would end it

    with monkeypatch.context() as patched:
        patched.setattr(Docent, "ask", dies)
        at.chat_input[0].set_value("How do honey bees tell direction?")
        at.run()
    chat_id = at.query_params["chat"]  # named in the address before the answer
    reopened = AppTest.from_file(APP, default_timeout=300)
    reopened.query_params["chat"] = chat_id
    reopened.run()
    assert not reopened.exception, reopened.exception
    assert reopened.chat_message[0].markdown[0].value == "How do honey bees tell direction?"
    assert "No answer was saved" in reopened.chat_message[0].caption[0].value
    _ask(reopened, "How do honey bees tell direction?")  # and the chat goes on
    assert "waggle" in reopened.chat_message[-1].markdown[0].value


def test_a_collection_deleted_elsewhere_is_said_and_left(app_env: Path) -> None:
    # Another tab (or instance) deleted the collection on screen: the page kept showing it,
    # empty, and an upload silently made it anew.
    at = _app()
    _upload(at, [("facts.pdf", make_pdf(FACTS), "application/pdf")])
    other = _app()  # another tab: delete the collection there
    other.sidebar.checkbox[0].check().run()
    next(b for b in other.sidebar.button if b.label == "Delete collection").click().run()
    at.run()
    assert "was deleted, or is no longer shared with you" in at.sidebar.warning[0].value
    assert not at.chat_message


def test_an_outage_tells_a_signed_in_user_only_that_it_is_unreachable() -> None:
    def shown() -> None:
        from rag.database import DatabaseUnavailableError
        from ui.page import outage

        secret = "cannot reach the database at postgresql://docent:***@db.internal:5432/docent"
        outage(DatabaseUnavailableError(secret), operator=False)

    at = AppTest.from_function(shown)
    at.run()
    assert "Docent cannot reach its database just now" in at.error[0].value
    shown_text = at.error[0].value
    assert "internal" not in shown_text and "5432" not in shown_text  # the operator's business
    assert any(b.label == "Try again" for b in at.button)


def test_a_streamed_draft_is_drawn_at_once_then_at_most_ten_times_a_second() -> None:
    from ui.chat import draw_draft

    now = [0.0]
    drawn: list[str] = []

    def tokens() -> Iterator[str]:
        yield "<b>Bees</b> dance"
        for i in range(999):  # one a millisecond: a second of streaming
            now[0] += 0.001
            yield f" w{i}"

    slot = SimpleNamespace(markdown=drawn.append)
    text = draw_draft(slot, tokens(), clock=lambda: now[0])
    assert text.startswith("<b>Bees</b> dance w0 w1") and text.endswith(" w998")
    assert drawn[0].endswith("dance ▌")  # the first words show at once, with a cursor
    assert 9 <= len(drawn) <= 11  # not 1,000 redraws of an ever longer text
    assert all("<b>" not in d for d in drawn)  # each draw is made safe


def test_an_upload_lost_with_its_server_is_reported_after_a_restart(app_env: Path) -> None:
    # Before: files being indexed when the server was killed vanished without a word.
    from sqlalchemy import update

    from ingest.job_log import JobLog
    from ingest.jobs import IngestJob
    from ingest.pipeline import Progress
    from rag.database import ingest_jobs_table, open_database

    settings = get_settings()
    db = open_database(settings)
    job = IngestJob("j-lost", settings.collection, "local", ["notes.pdf", "plan.pdf"])
    job.progress = Progress(0, 2, "notes.pdf", "embedding", 64, 512)
    JobLog(db).save(job)  # what the killed server last wrote
    with db.write() as conn:
        conn.execute(update(ingest_jobs_table).values(heartbeat_at=time.time() - 3600))
    db.close()
    at = _app()
    errors = "\n".join(e.value for e in at.sidebar.error)
    assert "Indexing of 2 file\\(s\\) stopped at notes\\.pdf, file 1 of 2" in errors, errors
    assert "upload the others again" in errors
