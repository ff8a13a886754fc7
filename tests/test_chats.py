"""Saved chats: kept per user, newest first, searchable, and readable after their sources go."""

from __future__ import annotations

import pytest

from rag.access import AccessDenied, User
from rag.chats import title_for
from rag.system import Docent
from tests.conftest import ingest

ANN, BOB = User("ann"), User("bob")


def _exchange(app: Docent, question: str, user: User) -> list[dict[str, object]]:
    stream = app.ask(question, user=user)
    "".join(stream)
    answer = stream.result.to_dict()
    return [
        {"role": "user", "content": question, "answer": None},
        {"role": "assistant", "content": answer["answer"], "answer": answer},
    ]


def test_chats_are_saved_per_user_and_survive_a_restart(facts: Docent) -> None:
    chats = facts.chats
    first = chats.create(ANN, "test", "How do honey bees tell direction?")
    chats.add(ANN, first.id, _exchange(facts, "How do honey bees tell direction?", User.local()))
    second = chats.create(ANN, "test", "  Which   glacier\nis largest?  ")
    assert second.title == "Which glacier is largest?"
    chats.add(ANN, second.id, _exchange(facts, "Which glacier is largest?", User.local()))
    assert [c.id for c in chats.chats(ANN)] == [second.id, first.id]  # newest first
    chats.add(ANN, first.id, _exchange(facts, "And where do they dance?", User.local()))
    assert [c.id for c in chats.chats(ANN)] == [first.id, second.id]  # touched: first again
    assert [c.id for c in chats.chats(ANN, search="GLACIER")] == [second.id]
    assert chats.chats(BOB) == []
    with pytest.raises(AccessDenied):
        chats.messages(BOB, first.id)  # another user's chat reads as no chat at all
    with pytest.raises(AccessDenied):
        chats.delete(BOB, first.id)
    chats.rename(ANN, first.id, "Bees")
    settings = facts.settings
    facts.close()
    again = Docent(settings)  # a restart: everything comes back from the database
    [bees, glacier] = again.chats.chats(ANN)
    assert (bees.title, glacier.id) == ("Bees", second.id)
    messages = again.chats.messages(ANN, bees.id)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "waggle" in messages[1]["content"]
    assert messages[1]["answer"]["sources"][0]["text"].startswith("Bees")
    again.chats.delete(ANN, glacier.id)
    assert [c.id for c in again.chats.chats(ANN)] == [bees.id]
    again.close()


def test_a_saved_answer_keeps_its_sources_after_the_document_changes(local: Docent) -> None:
    ingest(local, ("notes.md", b"# Owls\nBarn owls hunt by sound alone in the dark.\n"))
    chat = local.chats.create(ANN, "test", "owls")
    local.chats.add(ANN, chat.id, _exchange(local, "How do barn owls hunt?", User.local()))
    ingest(local, ("notes.md", b"# Bats\nBats find insects by echolocation at night.\n"))
    [_, answer] = local.chats.messages(ANN, chat.id)
    source = answer["answer"]["sources"][0]
    assert "Barn owls hunt by sound" in source["text"]  # what was shown, still readable
    assert local.chats.gone("test", [source["chunk_id"]]) == {source["chunk_id"]}  # older version
    fresh = _exchange(local, "How do bats find insects?", User.local())[1]["answer"]
    ids = [s["chunk_id"] for s in fresh["sources"]]
    assert local.chats.gone("test", ids) == set()


def test_titles_are_one_short_line() -> None:
    assert title_for("a\nb") == "a b"
    long = title_for("word " * 40)
    assert len(long) <= 60 and long.endswith("…")
