"""Saved chats: each user's conversations, kept as they were shown.

A message is ``{"role", "content", "answer"}``; an assistant message's ``answer`` is the
answer's JSON form (``AnswerResult.to_dict()``), which holds the text of every source shown.
So a chat reads the same after its documents were replaced or deleted; :meth:`ChatStore.gone`
tells which of those sources are no longer in the collection (an older version).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from rag.access import AccessDenied, User
from rag.database import Database, chat_messages_table, chats_table, chunks_table

TITLE_CHARS = 60
Message = dict[str, Any]
_c = chats_table.c
_CHATS = select(_c.id, _c.user_name, _c.collection, _c.title, _c.created_at, _c.updated_at)


@dataclass(frozen=True)
class Chat:
    """One saved chat (without its messages)."""

    id: str
    user: str
    collection: str
    title: str
    created_at: float
    updated_at: float


def title_for(question: str) -> str:
    """A chat's first title: its first question, on one line, cut short."""
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


class ChatStore:
    """The chats of every user of one Docent database; each user sees only their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user: User, collection: str, title: str) -> Chat:
        """A new, empty chat about ``collection``."""
        now = time.time()
        chat = Chat(
            uuid.uuid4().hex, user.name, collection, title_for(title) or "New chat", now, now
        )
        with self.db.write() as conn:
            conn.execute(
                chats_table.insert().values(
                    id=chat.id,
                    user_name=chat.user,
                    collection=chat.collection,
                    title=chat.title,
                    created_at=now,
                    updated_at=now,
                )
            )
        return chat

    def chats(self, user: User, search: str = "") -> list[Chat]:
        """The user's chats, newest first; ``search`` filters titles (case-insensitive)."""
        query = _CHATS.where(chats_table.c.user_name == user.name)
        c = chats_table.c
        if search.strip():
            query = query.where(
                func.lower(c.title).contains(search.strip().lower(), autoescape=True)
            )
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(c.updated_at.desc())).all()
        return [Chat(*row) for row in rows]

    def get(self, user: User, chat_id: str) -> Chat:
        """One of the user's chats.

        Raises:
            AccessDenied: there is no such chat of this user's (another's looks the same).
        """
        c = chats_table.c
        with self.db.read() as conn:
            row = conn.execute(_CHATS.where(c.id == chat_id, c.user_name == user.name)).first()
        if row is None:
            raise AccessDenied(f"{user.name} has no chat {chat_id!r}")
        return Chat(*row)

    def messages(self, user: User, chat_id: str) -> list[Message]:
        """The chat's messages, in order."""
        self.get(user, chat_id)
        m = chat_messages_table.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(m.role, m.content, m.answer).where(m.chat_id == chat_id).order_by(m.idx)
            ).all()
        return [
            {
                "role": r.role,
                "content": r.content,
                "answer": json.loads(r.answer) if r.answer else None,
            }
            for r in rows
        ]

    def add(self, user: User, chat_id: str, messages: Sequence[Message]) -> None:
        """Append messages (a question and its answer) to one of the user's chats."""
        self.get(user, chat_id)
        m, c = chat_messages_table.c, chats_table.c
        now = time.time()
        with self.db.write() as conn:
            start = conn.execute(
                select(func.count()).select_from(chat_messages_table).where(m.chat_id == chat_id)
            ).scalar_one()
            conn.execute(
                chat_messages_table.insert(),
                [
                    {
                        "chat_id": chat_id,
                        "idx": start + i,
                        "role": message["role"],
                        "content": message["content"],
                        "answer": json.dumps(message["answer"], default=str)
                        if message.get("answer")
                        else None,
                        "created_at": now,
                    }
                    for i, message in enumerate(messages)
                ],
            )
            conn.execute(chats_table.update().where(c.id == chat_id).values(updated_at=now))

    def rename(self, user: User, chat_id: str, title: str) -> None:
        """Give one of the user's chats a new title."""
        self.get(user, chat_id)
        if not title.strip():
            raise ValueError("a chat needs a title")
        with self.db.write() as conn:
            conn.execute(
                chats_table.update()
                .where(chats_table.c.id == chat_id)
                .values(title=" ".join(title.split())[:200])
            )

    def delete(self, user: User, chat_id: str) -> None:
        """Delete one of the user's chats and its messages."""
        self.get(user, chat_id)
        with self.db.write() as conn:
            conn.execute(
                chat_messages_table.delete().where(chat_messages_table.c.chat_id == chat_id)
            )
            conn.execute(chats_table.delete().where(chats_table.c.id == chat_id))

    def gone(self, collection: str, chunk_ids: Sequence[str]) -> set[str]:
        """Which of ``chunk_ids`` are no longer in ``collection`` (replaced or deleted since)."""
        if not chunk_ids:
            return set()
        c = chunks_table.c
        with self.db.read() as conn:
            present = set(
                conn.execute(
                    select(c.chunk_id).where(
                        c.collection == collection, c.chunk_id.in_(list(chunk_ids))
                    )
                ).scalars()
            )
        return set(chunk_ids) - present
