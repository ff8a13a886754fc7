"""The offline answer: the most relevant sentences of the top passages, quoted and cited.

Sentence vectors were computed at ingest (see ``Embedder.encode_with_sentences``), so picking
sentences costs a few dot products, not a model call.
"""

from __future__ import annotations

import numpy as np

from rag.passage import Passage
from rag.sentences import clean, sentence_spans

MAX_SENTENCES = 4
MAX_CHARS = 400  # a "sentence" longer than this (a table, a code block) is cut
RELATIVE_FLOOR = 0.75  # keep sentences scoring at least this share of the best one

EXTRACTIVE_NOTE = (
    "*Extractive answer — no LLM is configured, so these are the most relevant "
    "sentences quoted from your documents.*"
)


def extractive_answer(query_vector: np.ndarray, sources: list[Passage]) -> str:
    """Markdown: a note saying what this is, then quoted sentences each cited as ``[n]``."""
    picked = pick_sentences(query_vector, sources)
    # Brackets in quoted text (R prints "[1] 3.14") are escaped so they never read as citations.
    lines = [f"> {_escape(sentence)} [{n}]" for n, sentence in picked]
    return EXTRACTIVE_NOTE + "\n\n" + "\n>\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def pick_sentences(query_vector: np.ndarray, sources: list[Passage]) -> list[tuple[int, str]]:
    """``(source number, sentence)`` pairs, in source order then text order."""
    q = np.asarray(query_vector, dtype=np.float32)
    scored: list[tuple[float, int, int, str]] = []
    for n, passage in enumerate(sources, start=1):
        spans = list(passage.chunk.meta.sentence_spans) or sentence_spans(passage.text)
        vectors = passage.chunk.sentence_vectors
        if vectors is None or len(vectors) != len(spans):
            # no sentence vectors: rank by the passage's own score, in text order
            sims = np.full(len(spans), passage.scores.rerank or 0.0) - np.arange(len(spans)) * 1e-3
        else:
            sims = vectors.astype(np.float32) @ q
        for i, (s, e) in enumerate(spans):
            text = clean(passage.text[s:e])
            if text:
                scored.append(
                    (
                        float(sims[i]),
                        n,
                        s,
                        text[:MAX_CHARS] + ("…" if len(text) > MAX_CHARS else ""),
                    )
                )
    if not scored:
        return [(n, clean(p.text)[:MAX_CHARS]) for n, p in enumerate(sources[:1], start=1)]
    scored.sort(key=lambda x: -x[0])
    best = scored[0][0]
    chosen, seen = [], set()
    for score, n, start, text in scored:
        if len(chosen) >= MAX_SENTENCES or (chosen and score < best * RELATIVE_FLOOR):
            break
        if text.lower() not in seen:  # overlapping chunks repeat sentences
            seen.add(text.lower())
            chosen.append((n, start, text))
    return [(n, text) for n, _, text in sorted(chosen)]
