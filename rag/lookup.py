"""Lookups by identifier: a question naming a code the documents hold word for word.

"Which warehouse holds SKU-04999?" over a 5,000-row inventory: the row holding SKU-04999
comes first, yet the answerability model refused it (0.05), because the question's other
words ("warehouse", "holds") are in every row or in none, and no cosine tells one row from
the next. A passage that holds the very identifier the question names, and that few other
candidates hold, answers it.
"""

from __future__ import annotations

import re

from rag.passage import Passage

# A code: letters and digits together, 4 characters or more (SKU-04999, _WIN64, E1234,
# ISO-8859-1, gcc10); words alone or numbers alone are not identifiers.
IDENTIFIER = re.compile(r"(?<![\w.-])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z])\w[\w.-]{2,}\w(?![\w-])")
SHARED = 2  # an identifier in more of the top candidates than this is a topic, not a key
TOP = 10


def identifiers(question: str) -> list[str]:
    """The codes ``question`` names."""
    return [m.group() for m in IDENTIFIER.finditer(question)]


def names_exactly(question: str, passages: list[Passage]) -> bool:
    """Whether the best passage holds, word for word, a code the question names, which at
    most :data:`SHARED` of the top candidates hold (a lookup that passage answers)."""
    if not passages:
        return False
    for code in identifiers(question):
        word = re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])", re.IGNORECASE)
        if word.search(passages[0].text):
            holding = sum(bool(word.search(p.text)) for p in passages[:TOP])
            if holding <= SHARED:
                return True
    return False
