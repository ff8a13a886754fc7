"""Re-embed a collection with another model, from the durable copy (no file is re-read)."""

from __future__ import annotations

from dataclasses import replace

from rag.access import User, require
from rag.embeddings import Embedder
from rag.library import Library

STEP = 256


def reindex(library: Library, name: str, embedder: Embedder, user: User | None = None) -> int:
    """Replace every vector of collection ``name`` with ``embedder``'s; returns the chunk count.

    The chunk text kept in the durable store is re-embedded (with its heading prefix, as at
    ingest); the new vectors and fingerprint are committed together, then Chroma's collection is
    rebuilt from them under the dirty mark, so a crash part-way is finished by recovery.
    """
    user = user or User.local()
    require(user, library.open(name, user, verify=False).role, "manage", name)
    with library.writing(name):  # on a shared store, this collection's lock
        old = library.open(name, user, verify=False)
        chunks = list(old.rows.chunks())
        fresh = []
        for start in range(0, len(chunks), STEP):
            part = chunks[start : start + STEP]
            vectors, sentences = embedder.encode_with_sentences(
                [c.meta.embed_text(c.text) for c in part], [c.meta.embedded_spans() for c in part]
            )
            fresh += [
                replace(c, vector=v, sentence_vectors=s)
                for c, v, s in zip(part, vectors, sentences, strict=True)
            ]
        old.rows.replace_vectors(fresh, embedder.fingerprint)
        with library.store.chroma_writing(name):
            library.vectors.drop(name)
            library.open(name, user).refill()
        return len(chunks)
