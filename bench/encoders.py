"""Embedding backends on the same texts: speed per CPU-second and per second, and agreement.

    python -m bench.encoders [--pdf bench/data/R-exts.pdf] [--limit 2000] [--repeat 2]

The texts are real chunks (Docent's loader and chunker over an R manual, heading prefix
included, as ingest embeds them). Each backend encodes them all, batch 32, with sentence
vectors (what ingest asks for) and without; the best of ``--repeat`` runs counts, since this
machine's speed drifts. Agreement is the cosine of each text's vector to torch's (min and
mean) and of its sentence vectors. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_document
from ingest.loaders import load_bytes
from rag.embeddings import Embedder
from rag.sentences import sentence_spans

REPO = Path(__file__).resolve().parent.parent


def chunks(pdf: Path, embedder: Embedder, limit: int) -> list[str]:
    """The embedded texts of ``pdf``'s chunks (200 tokens), at most ``limit``."""
    doc = load_bytes(pdf.name, pdf.read_bytes(), 10**9)
    pieces = chunk_document(doc, 200, 30, embedder.count_tokens, embedder.max_tokens)
    return [c.embed_text() for c in pieces][:limit]


def timed(run: object, repeat: int) -> tuple[float, float, object]:
    """Best wall seconds and best CPU seconds (this process, all threads) of ``run()``."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = run()  # type: ignore[operator]
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu), out


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.encoders")
    parser.add_argument("--pdf", type=Path, default=REPO / "bench/data/R-exts.pdf")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp())
    backends = {
        "torch": Embedder(backend="torch"),
        "openvino": Embedder(backend="openvino", cache_dir=cache),
        "openvino-bf16": Embedder(backend="openvino-bf16", cache_dir=cache),
    }
    texts = chunks(args.pdf, backends["torch"], args.limit)
    spans = [sentence_spans(t) for t in texts]
    print(
        f"{len(texts)} chunks of {args.pdf.name}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}\n"
    )
    print(
        "| backend | texts/s | texts per CPU-s | with sentence vectors: texts/s "
        "| cos to torch min / mean | sentence cos min |\n|---|---|---|---|---|---|"
    )
    reference: tuple[np.ndarray, list[np.ndarray]] | None = None
    for name, embedder in backends.items():
        embedder.encode(texts[:64])  # warm up
        wall, cpu, vectors = timed(lambda e=embedder: e.encode(texts), args.repeat)
        both = timed(lambda e=embedder: e.encode_with_sentences(texts, spans), 1)
        _, sentences = both[2]  # type: ignore[misc]
        if reference is None:
            reference = (np.asarray(vectors), sentences)
        cos = (np.asarray(vectors) * reference[0]).sum(axis=1)
        sentence_cos = [
            float((a.astype(np.float32) * b.astype(np.float32)).sum(axis=1)[b.any(axis=1)].min())
            for a, b in zip(sentences, reference[1], strict=True)
            if b.any()
        ]
        print(
            f"| {name} | {len(texts) / wall:.1f} | {len(texts) / cpu:.1f} | "
            f"{len(texts) / both[0]:.1f} | {cos.min():.5f} / {cos.mean():.5f} | "
            f"{min(sentence_cos):.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
