"""Re-embed a collection with another model, from the durable copy (no file is re-read)."""

from __future__ import annotations

import numpy as np

from rag.embeddings import Embedder, passage_text
from rag.library import Library

STEP = 256


def reindex(library: Library, collection: str, embedder: Embedder) -> int:
    """Replace every vector of ``collection`` with ``embedder``'s; returns the chunk count.

    The chunk text kept in SQLite is re-embedded (with the heading path, as at ingest), the
    new vectors and the new fingerprint are committed together, then Chroma's collection is
    rebuilt from them under the dirty mark, so a crash part-way is finished by recovery.
    """
    with library.writing():
        docs = library.docs
        chunks = list(docs.chunks(collection))
        rows = []
        for start in range(0, len(chunks), STEP):
            part = chunks[start : start + STEP]
            texts = [passage_text(c.text, c.meta.get("headings") or []) for c in part]
            shifts = [len(t) - len(c.text) for t, c in zip(texts, part, strict=True)]
            spans = [
                [(s + d, e + d) for s, e in c.meta.get("sentence_spans", [])]
                for c, d in zip(part, shifts, strict=True)
            ]
            vectors, sentences = embedder.encode_with_sentences(texts, spans)
            rows += [
                (
                    v.astype(np.float32).tobytes(),
                    s.astype(np.float16).tobytes(),
                    collection,
                    c.chunk_id,
                )
                for c, v, s in zip(part, vectors, sentences, strict=True)
            ]
        with docs.transaction() as db:
            db.executemany(
                "UPDATE chunks SET vector=?, sentences=? WHERE collection=? AND chunk_id=?", rows
            )
            docs.set_fingerprint(collection, embedder.fingerprint)
            docs.bump_generation(collection)
        with library.chroma_writing():
            library.reset_index(collection)
            library.refill(collection)
        return len(chunks)
