"""Re-embed a collection with another model, from the durable copy (no file is re-read)."""

from __future__ import annotations

import numpy as np

from rag.embeddings import Embedder, passage_text
from rag.library import Library


def reindex(library: Library, collection: str, embedder: Embedder) -> int:
    """Replace every vector of ``collection`` with ``embedder``'s; returns the chunk count.

    The chunk text kept in SQLite is re-embedded (with the heading path, as at ingest), the
    Chroma collection is dropped and rebuilt, and the collection is re-stamped.
    """
    with library.writing():
        docs = library.docs
        chunks = list(docs.chunks(collection))
        texts = [passage_text(c.text, c.meta.get("headings") or []) for c in chunks]
        vectors = embedder.encode(texts)
        with docs.transaction() as db:
            db.executemany(
                "UPDATE chunks SET vector=? WHERE collection=? AND chunk_id=?",
                [
                    (np.asarray(v, dtype=np.float32).tobytes(), collection, c.chunk_id)
                    for c, v in zip(chunks, vectors, strict=True)
                ],
            )
        docs.set_fingerprint(collection, embedder.fingerprint)
        index = library.reset_index(collection)
        for doc in docs.documents(collection, state=None):
            part = list(docs.chunks(collection, doc.doc_id))
            if part:
                index.upsert(
                    [c.chunk_id for c in part],
                    np.stack([c.vector for c in part]),
                    [c.text for c in part],
                    [c.meta for c in part],
                )
        return len(chunks)
