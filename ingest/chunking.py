"""Blocks to chunks: token-sized (tiktoken), split at headings, paragraphs, sentences, tokens.

Every chunk also fits the embedding model's own window (its tokenizer, not tiktoken's): MiniLM
silently drops word pieces past 256, so an oversize chunk would be indexed without its tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.document import LoadedDocument
from rag.chunks import ChunkMeta, clip_spans, heading_prefix
from rag.sentences import sentence_spans
from rag.tokens import count_tokens

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass
class Chunk:
    """A piece of a document, with where it came from."""

    text: str
    index: int
    page: int | None
    headings: list[str] = field(default_factory=list)
    char_start: int = 0  # offsets into the document's text (blocks joined by blank lines)
    char_end: int = 0
    code: list[tuple[int, int]] = field(default_factory=list)  # preformatted spans of text

    def meta(self, source: str, doc_id: str, kind: str) -> ChunkMeta:
        """The chunk's stored metadata, sentence spans included."""
        return ChunkMeta(
            source=source,
            doc_id=doc_id,
            index=self.index,
            page=self.page,
            headings=tuple(self.headings),
            char_start=self.char_start,
            char_end=self.char_end,
            kind=kind,
            sentence_spans=tuple(sentence_spans(self.text)),
            code_spans=tuple(self.code),
        )

    def embed_text(self) -> str:
        """What gets embedded: the heading path gives a short passage its context."""
        return heading_prefix(self.headings) + self.text


def chunk_document(
    doc: LoadedDocument,
    chunk_size: int,
    overlap: int,
    model_tokens: Callable[[str], int],
    model_max: int,
) -> list[Chunk]:
    """Split a loaded document into chunks.

    Args:
        doc: blocks from a loader; chunks never cross a block (page or heading) boundary.
        chunk_size: target size in tiktoken tokens.
        overlap: tokens repeated between neighbouring chunks of one block.
        model_tokens: counts tokens in the embedding model's own tokenizer.
        model_max: the embedding model's limit (without special tokens).
    """
    overlap = min(overlap, chunk_size // 2)
    splitter = _splitter(count_tokens, chunk_size, overlap)
    chunks: list[Chunk] = []
    offset = 0
    for block in doc.blocks:
        prefix = heading_prefix(block.headings)

        def fits(text: str, prefix: str = prefix) -> int:
            return model_tokens(prefix + text)

        for piece, start in _split(splitter, block.text):
            pieces = [(piece, 0)]
            if fits(piece) > model_max:  # dense text (code, numbers) takes more word pieces
                pieces = _split(_splitter(fits, model_max, min(overlap, model_max // 8)), piece)
            for text, sub in pieces:
                begin = offset + start + sub
                code = clip_spans(block.code, start + sub, len(text))
                chunks.append(
                    Chunk(
                        text,
                        len(chunks),
                        block.page,
                        list(block.headings),
                        begin,
                        begin + len(text),
                        code,
                    )
                )
        offset += len(block.text) + 2
    return chunks


def _splitter(
    length: Callable[[str], int], size: int, overlap: int
) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=length,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def _split(splitter: RecursiveCharacterTextSplitter, text: str) -> list[tuple[str, int]]:
    """Pieces of ``text`` with their start offsets.

    Offsets are found here, in order, rather than taken from the splitter's ``start_index``,
    which lands on an earlier copy when text repeats (tables of contents, dot leaders).
    """
    pieces: list[tuple[str, int]] = []
    cursor = 0
    for piece in splitter.split_text(text):
        at = text.find(piece, cursor)
        if at < 0:
            at = text.find(piece)
        pieces.append((piece, at))
        cursor = at + 1
    return [(p, at) for p, at in pieces if p.strip()]
