"""Sentences cut by a chunk boundary, made whole again from the neighbouring chunk.

Chunks are 200 tokens with a 30-token overlap, so a chunk often starts or ends inside a
sentence ("…files containing messages that should be translated, declare"). Quoted as it is,
such a fragment reads as a broken answer. Where the neighbouring chunk of the same document
overlaps this one, the document's text runs on without a gap from one into the other, so the
missing words are known exactly: the fragment is completed up to its sentence's start or
end. A neighbour that does not overlap (the next block, another page) is left alone: the
words there may not continue the sentence, and a quote cited to one page must come from it.
A sentence cut by a page break is marked with "…" where its words run on (:func:`across_pages`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.chunks import ChunkRecord, chunk_id, clip_spans
from rag.sentences import is_code, sentence_spans

# Loads chunks by id (Collection.load): neighbours are read only when a fragment needs one.
ChunkLoader = Callable[[Sequence[str]], dict[str, ChunkRecord]]
_ENDS = re.compile(r"[.!?:;)\]\"'”’…]\s*$")  # what a whole sentence (or a lead-in) ends with
_CONTINUES = re.compile(r"^[a-z,;)\]]")  # what only the middle of a sentence starts with


def starts_inside(chunk: ChunkRecord, start: int) -> bool:
    """Whether the sentence at ``start`` is the chunk's first and begins mid-sentence."""
    return not chunk.text[:start].strip() and bool(_CONTINUES.match(chunk.text[start:]))


def ends_inside(chunk: ChunkRecord, end: int) -> bool:
    """Whether the sentence ending at ``end`` is the chunk's last and stops mid-sentence."""
    text = chunk.text[:end].rstrip()
    code = text.endswith(("```", "~~~"))  # a fenced block quoted whole ends with its fence
    return not chunk.text[end:].strip() and not _ENDS.search(text) and not code


def neighbour_ids(chunk: ChunkRecord, before: bool, after: bool) -> list[str]:
    """Ids of the chunks before and/or after ``chunk`` in its document."""
    index = chunk.meta.index
    wanted = ([index - 1] if before and index > 0 else []) + ([index + 1] if after else [])
    return [chunk_id(chunk.meta.doc_id, i) for i in wanted]


def whole_span(
    chunk: ChunkRecord, start: int, end: int, neighbours: dict[str, ChunkRecord]
) -> tuple[str, int, int]:
    """The sentence ``chunk.text[start:end]``, completed from the overlapping neighbours in
    ``neighbours`` where it was cut (as it is where they do not overlap), as ``(text, start,
    end)``: the text around it (the chunk's, joined to the neighbours' it was completed from)
    and where the sentence is in it, so the lines around it can be read too."""
    meta = chunk.meta
    head = tail = ""
    previous = neighbours.get(chunk_id(meta.doc_id, meta.index - 1)) if meta.index > 0 else None
    if previous is not None and starts_inside(chunk, start) and _overlaps(previous, chunk):
        head = previous.text[: meta.char_start - previous.meta.char_start]
        if _ENDS.search(head):  # the words before end a sentence: nothing was cut after all
            head = ""
    following = neighbours.get(chunk_id(meta.doc_id, meta.index + 1))
    if following is not None and ends_inside(chunk, end) and _overlaps(chunk, following):
        tail = following.text[meta.char_end - following.meta.char_start :]
    if not head and not tail:
        return chunk.text, start, end
    # The document's text around the chunk, without a gap: the sentence is the span of it
    # that holds the fragment.
    window = head + chunk.text + tail
    middle = len(head) + (start + end) // 2
    s, e = next(((s, e) for s, e in sentence_spans(window) if s <= middle < e), (0, 0))
    return (window, s, e) if e > s else (chunk.text, start, end)


def across_pages(
    chunk: ChunkRecord, start: int, end: int, neighbours: dict[str, ChunkRecord]
) -> tuple[bool, bool]:
    """Whether the sentence ``chunk.text[start:end]`` runs on from the previous page and onto
    the next one: the chunk's neighbour there is on another page, and the text joins (this
    side of the break does not end a sentence, the other does not start one). Such a
    sentence is not completed (a quote cited to one page comes from it): it is marked."""
    meta = chunk.meta
    before = after = False
    previous = neighbours.get(chunk_id(meta.doc_id, meta.index - 1)) if meta.index > 0 else None
    if previous is not None and starts_inside(chunk, start) and _other_page(previous, chunk):
        before = not _ENDS.search(previous.text)
    following = neighbours.get(chunk_id(meta.doc_id, meta.index + 1))
    if following is not None and ends_inside(chunk, end) and _other_page(chunk, following):
        after = bool(_CONTINUES.match(following.text))
    return before, after


def marked(text: str, cut_start: bool, cut_end: bool) -> str:
    """``text`` with "…" on each side where it is cut, so a quote that stops at a page break
    reads as the excerpt it is, not as a broken sentence."""
    head = "…" if cut_start and _CONTINUES.match(text) else ""
    tail = "…" if cut_end and not _ENDS.search(text) and not is_code(text) else ""
    return f"{head}{text}{tail}"


def _other_page(first: ChunkRecord, second: ChunkRecord) -> bool:
    """Whether both chunks have pages and ``second`` is on another one."""
    a, b = first.meta.page, second.meta.page
    return a is not None and b is not None and a != b


def _overlaps(first: ChunkRecord, second: ChunkRecord) -> bool:
    """Whether ``second`` picks up inside ``first``, on the same page: their texts then join
    without a gap (the overlap is the same characters of the document in both)."""
    a, b = first.meta, second.meta
    return a.page == b.page and a.char_start < b.char_start < a.char_end <= b.char_end


def window_code(
    chunk: ChunkRecord, window: str, neighbours: dict[str, ChunkRecord]
) -> list[tuple[int, int]]:
    """Where ``window`` (:func:`whole_span`'s text around ``chunk``) holds preformatted text,
    from ``chunk``'s code spans and its neighbours' (document offsets lined up)."""
    meta = chunk.meta
    at = meta.char_start - max(window.find(chunk.text), 0)  # the window's document offset
    around = [chunk_id(meta.doc_id, meta.index + d) for d in (-1, 1)]
    parts = [chunk, *(neighbours[i] for i in around if i in neighbours)]
    return sorted(
        span
        for part in parts
        for span in clip_spans(part.meta.code_spans, at - part.meta.char_start, len(window))
    )
