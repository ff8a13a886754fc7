"""The plain baseline Docent is measured against, built independently of Docent's pipeline.

bm25s (Snowball stemming, English stop words) and all-MiniLM-L6-v2 over whole documents
(SciFact: title + abstract) or over 150-word windows (each PDF page, each HTML file), fused by
reciprocal rank with k = 60 over the top 100 of each. No chunking rules, no heading prefixes,
no second pass: what a competent first attempt would do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

import numpy as np

from bench.sets import DevSet
from rag.embeddings import Embedder

WINDOW = 150
DEPTH = 100
RRF_K = 60
Mode = Literal["fused", "bm25", "dense"]


@dataclass
class Unit:
    """A passage of the baseline and the unit it counts for."""

    unit: str
    text: str


def units_of(dev: DevSet) -> list[Unit]:
    """The baseline's passages for a set."""
    out: list[Unit] = []
    for source in dev.sources():
        data = source.read()
        if dev.beir:
            row_text = data.decode()
            title, _, body = row_text.partition("\n\n")
            out.append(Unit(PurePath(source.name).stem, f"{title.lstrip('# ')} {body}".strip()))
        elif source.name.endswith(".pdf"):
            for page, text in enumerate(_pdf_pages(data), start=1):
                out += [Unit(f"{source.name}#{page}", w) for w in _windows(text)]
        else:
            out += [Unit(source.name, w) for w in _windows(_html_text(data))]
    return out


def _pdf_pages(data: bytes) -> list[str]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for i in range(len(pdf)):
            textpage = pdf[i].get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
        return pages
    finally:
        pdf.close()


def _html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data.decode("utf-8", "replace"), "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    return soup.get_text(" ")


def _windows(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[i : i + WINDOW]) for i in range(0, len(words), WINDOW)] or []


class Baseline:
    """The baseline index of one set (vectors cached in ``cache``)."""

    def __init__(self, dev: DevSet, embedder: Embedder, cache: Path) -> None:
        import bm25s
        import Stemmer

        self.units = units_of(dev)
        texts = [u.text for u in self.units]
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25 = bm25s.BM25()
        self.bm25.index(
            bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False),
            show_progress=False,
        )
        cache.mkdir(parents=True, exist_ok=True)
        vectors = cache / f"{dev.name}.npy"
        meta = cache / f"{dev.name}.json"
        if vectors.exists() and meta.exists() and json.loads(meta.read_text()) == len(texts):
            self.vectors = np.load(vectors)
        else:
            self.vectors = embedder.encode(texts)
            np.save(vectors, self.vectors)
            meta.write_text(json.dumps(len(texts)))
        self.embedder = embedder

    def ranked(self, query: str, mode: Mode = "fused") -> list[str]:
        """Units for ``query``, best first: RRF of BM25 and dense (k = 60), or one of the two."""
        import bm25s

        n = min(DEPTH, len(self.units))
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        bm25_ids: list[int] = []
        if tokens.vocab:
            found, scores = self.bm25.retrieve(tokens, k=n, show_progress=False)
            bm25_ids = [int(i) for i, s in zip(found[0], scores[0], strict=True) if s > 0]
        sims = self.vectors @ self.embedder.encode([query])[0]
        dense_ids = [int(i) for i in np.argsort(-sims)[:n]]
        rankings = {"fused": (bm25_ids, dense_ids), "bm25": (bm25_ids,), "dense": (dense_ids,)}
        fused: dict[int, float] = {}
        for ranking in rankings[mode]:
            for rank, i in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        order = sorted(fused, key=fused.__getitem__, reverse=True)
        return list(dict.fromkeys(self.units[i].unit for i in order))
