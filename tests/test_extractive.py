"""The offline answer's sentence choice, with the real packaged model's sentence vectors."""

from __future__ import annotations

from rag.chunks import ChunkMeta, ChunkRecord
from rag.embeddings import Embedder
from rag.extractive import WEIGHTS, Weights, pick_sentences
from rag.passage import Passage

SENTENCES = [
    "The nightly backup job starts at 02:00 and copies every database to the storage server.",
    "Every night at two in the morning the backup job starts copying all databases to storage.",
    "At 2 a.m. each night, the backup job begins and copies each database to the storage server.",
    "The nightly backup job starts at 2:00 and copies the databases to the storage server.",
    "Each night the backup job starts at 02:00, copying every database to the storage server.",
    "The backup job starts nightly at 02:00 and copies all the databases to storage.",
    "Backup copies are kept for thirty days before the storage server deletes them.",
    "The cafeteria on the ground floor serves lunch from noon.",
]
QUESTION = "When does the backup job start, and how long are the backup copies kept?"


def _passage(embedder: Embedder, sentences: list[str]) -> Passage:
    text, spans = "", []
    for sentence in sentences:
        start = len(text)
        text += sentence + " "
        spans.append((start, start + len(sentence)))
    meta = ChunkMeta("ops.txt", "d1", 0, sentence_spans=tuple(spans))
    vectors = embedder.encode(sentences)
    record = ChunkRecord("d1:0", text.strip(), meta, embedder.encode([text])[0], vectors)
    return Passage(record)


def test_quoted_sentences_say_different_things(embedder: Embedder) -> None:
    passage = _passage(embedder, SENTENCES)
    query = embedder.encode([QUESTION])[0]
    plain = [s for _, s in pick_sentences(QUESTION, query, [passage], Weights(novelty=0.0))]
    varied = [s for _, s in pick_sentences(QUESTION, query, [passage], WEIGHTS)]
    # without the novelty term, restatements of the start time crowd out how long copies are kept
    assert SENTENCES[6] not in plain
    assert SENTENCES[6] in varied
    assert SENTENCES[7] not in varied
