"""The offline answer: the sentences of the top passages that answer, quoted and cited.

Each sentence of the best sources is scored by its own vector's similarity to the question
(sentence vectors come from ingest, so this costs dot products, not a model call), by how
many of the question's words it holds, and by how well its passage ranked. The best one is
quoted with the sentence after it when it only leads in (it ends with a colon, or is short),
or with the whole list it opens, and so is any other chosen sentence ending with a colon; a
fenced code block is one "sentence", quoted as code, and so are table rows (one a line); a
quoted sentence keeps the line ends that mean something (a line of R typed at the prompt in a
PDF, a line of an HTML page's synopsis) and joins those that only wrap prose; a line of a table
of contents (dot leaders) is quoted only when nothing else is there; then
the next ones, up to :data:`MAX_SENTENCES` from at most :data:`MAX_SOURCES` sources, each
chosen for its score less its likeness to what is already quoted (maximal marginal
relevance), so that four sentences say four things rather than one thing four ways. A
sentence cut by its chunk's start or end is quoted whole, from the overlapping neighbour
chunk (:mod:`rag.fragments`), or marked with "…" where it runs on to another page. Weights
were chosen on the tuning splits (``python -m bench.extractive``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunks import ChunkRecord, Span
from rag.fragments import (
    ChunkLoader,
    across_pages,
    ends_inside,
    marked,
    neighbour_ids,
    starts_inside,
    whole_span,
    window_code,
)
from rag.lexical import tokenize
from rag.passage import Passage
from rag.render import fenced, images_as_text, inside, wrapped
from rag.sentences import clean, is_code, is_table, sentence_spans

MAX_SENTENCES = 4
MAX_SOURCES = 3
MAX_CHARS = 400  # a "sentence" longer than this (a table, say) is cut
MAX_CODE_CHARS = 1200  # a fenced code block is quoted whole up to this, then cut at a line
LEAD_IN_CHARS = 60  # a best sentence shorter than this is quoted with the one after it
MAX_LIST_ITEMS = 8  # a list a best sentence introduces ("...as follows:") is quoted whole
_LIST_ITEM = re.compile(r"^(?:[•*\-–]|\d{1,2}[.)])\s")
# Dot leaders (". . . . . 186"): a line of a table of contents, which holds the words of the
# question (a section's title) and so ranks high, but answers nothing. The leaders are
# followed by a page number or end the sentence (one ends before ". 26": a stop, a number).
_LEADERS = re.compile(r"\.(?:\s?\.){4,}\s*(?:\d|[ivxlc]+\b|$)")
_LABEL = re.compile(r"^[^\W_][\w .+#/()-]{0,30}:$")  # "Python:", "C++:", "Output (R):"

EXTRACTIVE_NOTE = (
    "*Extractive answer — no LLM is configured, so these are the most relevant "
    "sentences quoted from your documents.*"
)


@dataclass(frozen=True)
class Weights:
    """How a sentence is scored: similarity + words * overlap + source * 1/rank."""

    words: float = 0.3
    source: float = 0.2
    floor: float = 0.7  # keep sentences scoring at least this share of the best one
    novelty: float = 0.3  # weight of a sentence's likeness to those already chosen (MMR)


WEIGHTS = Weights()


@dataclass(eq=False)  # compared by identity: a sentence is chosen once
class _Sentence:
    number: int  # its source's number (1-based)
    start: int  # where it starts in the passage
    end: int  # where it ends
    index: int  # its position among the passage's sentences
    text: str
    score: float
    vector: np.ndarray | None = None  # its sentence vector, when the store has them
    label: str = ""  # a code block's label line ("Python:"), too short to be a sentence


def extractive_answer(
    query: str,
    query_vector: np.ndarray,
    sources: list[Passage],
    weights: Weights = WEIGHTS,
    load: ChunkLoader | None = None,
) -> str:
    """Markdown: a note saying what this is, then quoted sentences each cited as ``[n]``.

    With ``load`` (the collection's chunk reader), a sentence cut by its chunk's start or end
    is quoted whole, completed from the neighbouring chunk (:mod:`rag.fragments`).
    """
    picked = pick_sentences(query, query_vector, sources, weights, load)
    parts: list[str] = []
    after_quote = False
    for n, sentence in picked:
        label, body = _labelled(sentence)
        if is_code(body) or is_table(body):  # shown as code, its citation after it
            block = _code_block(body) if is_code(body) else fenced("", body)
            lead = f"> {_escape(label)}\n\n" if label else ""
            parts.append(("\n\n" if parts else "") + f"{lead}{block}\n\n[{n}]")
            after_quote = False
            continue
        # Brackets in quoted text (R prints "[1] 3.14") are escaped so they never read as
        # citations. Images are replaced by "[image: alt]" first, as in the sources: once
        # escaped, an image's Markdown would show its address as a clickable link. Each line
        # ends in a hard break: a line of code or a list's entry stays a line.
        quote = "\n".join(f"> {line}" if line else ">" for line in _quote_lines(sentence, n))
        parts.append(("\n>\n" if after_quote else "\n\n" if parts else "") + quote)
        after_quote = True
    return EXTRACTIVE_NOTE + "\n\n" + "".join(parts)


def _quote_lines(sentence: str, number: int) -> list[str]:
    """The lines of a sentence's quote, cited ``[number]``: each line of prose escaped
    (:func:`_line`) and ending in a hard break, and each run of preformatted lines
    (:data:`CODE_LINE`) in a code block of its own inside the quote, the citation after it."""
    out: list[str] = []
    code: list[str] = []
    for line in sentence.split("\n") + [""]:  # "": the end, where a run of code closes
        if line.startswith(CODE_LINE):
            code.append(line[len(CODE_LINE) :])
            continue
        if code:
            out += fenced("", "\n".join(code)).split("\n")
            code = []
        if line:
            out.append(_line(images_as_text(line)) + "  ")
    if out and not out[-1].startswith("`"):
        return [*out[:-1], f"{out[-1].rstrip()} [{number}]"]
    return [*out, f"[{number}]"]


def _labelled(sentence: str) -> tuple[str, str]:
    """``(label, code)`` for a code block quoted with its label line (see :func:`_label`),
    else ``("", sentence)``."""
    first, _, rest = sentence.partition("\n")
    if _LABEL.match(first) and is_code(rest):
        return first, rest
    return "", sentence


def _label(text: str, start: int, before: int) -> str:
    """The label of the code block starting at ``start``: all the text since the previous
    sentence (which ends at ``before``), if it is one short line ending with a colon
    ("Python:", "Output:"). Too short to be a sentence, it would otherwise be lost, and
    with it which of several blocks is which."""
    gap = text[before:start].strip()
    return gap if _LABEL.match(gap) else ""


def _escape(text: str) -> str:
    """A quote shown as written: brackets, asterisks, tildes and underscores that would start
    emphasis or strike-through ("*/ /*" in a C comment) escaped; an underscore inside a word
    (``R_LIBS_USER``) starts nothing and is left alone, so identifiers stay readable."""
    text = re.sub(r"([\\\[\]*~])", r"\\\1", text)
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _line(text: str) -> str:
    """One line of a quote, escaped (:func:`_escape`), and so is a start that would make it
    a heading, a list item, a nested quote or a fence ("# a comment", "> x <- 1", "1. ")."""
    text = _escape(text)
    number = _NUMBERED.match(text)
    if number:
        return text[: number.end()] + "\\" + text[number.end() :]
    return "\\" + text if text[:1] in _BLOCK_MARKS else text


_NUMBERED = re.compile(r"\d{1,9}(?=[.)](?:\s|$))")
# What starts a heading, a quote, a list, a setext underline, a fence or a table's delimiter
# row (":---") at a line's start. Not "<": the answer's sanitising shows it as text anyway,
# and "\<" would then read "\&lt;".
_BLOCK_MARKS = set("#>+-=`|:")


def _code_block(sentence: str) -> str:
    """A fenced block quoted again: its info string and lines, under a fence longer than any
    run of backticks inside (so the code cannot close it), closed even if the chunk was not."""
    lines = sentence.strip().splitlines()
    info = lines[0].strip().lstrip("`~").strip()
    body = lines[1:]
    if body and body[-1].strip() and set(body[-1].strip()) <= set("`~"):
        body = body[:-1]
    return fenced(info, "\n".join(body))


def pick_sentences(
    query: str,
    query_vector: np.ndarray,
    sources: list[Passage],
    weights: Weights = WEIGHTS,
    load: ChunkLoader | None = None,
) -> list[tuple[int, str]]:
    """``(source number, sentence)`` pairs: the best sentence's source first, then the
    others in the order they were chosen; each source's sentences in text order. With
    ``load``, sentences cut by a chunk boundary are completed from the neighbouring chunk."""
    sentences = _scored(query, query_vector, sources, weights)
    if not sentences:
        return [(n, clean(p.text)[:MAX_CHARS]) for n, p in enumerate(sources[:1], start=1)]
    ranked = sorted(sentences, key=lambda s: -s.score)
    best = ranked[0]
    chosen = [best]
    if best.text.endswith(":") or len(best.text) < LEAD_IN_CHARS:
        chosen += _led_in(best, sentences)
    pool = [s for s in ranked[1:] if s.score >= best.score * weights.floor and s not in chosen]
    while pool and len(chosen) < MAX_SENTENCES:
        numbers = {c.number for c in chosen}
        open_ = [s for s in pool if s.number in numbers or len(numbers) < MAX_SOURCES]
        if not open_:
            break
        pick = max(open_, key=lambda s: _marginal(s, chosen, weights.novelty))
        chosen.append(pick)
        pool.remove(pick)
        if pick.text.endswith(":"):  # "...by typing the command:" alone says nothing
            led = [s for s in _led_in(pick, sentences) if s not in chosen]
            chosen += led
            pool = [s for s in pool if s not in led]
    # Each source's sentences stay together in text order, and the sources come in the order
    # their first sentence was chosen: the best sentence leads, wherever its source ranked.
    first: dict[int, int] = {}
    for i, c in enumerate(chosen):
        first.setdefault(c.number, i)
    chosen.sort(key=lambda s: (first[s.number], s.start))
    texts = (
        _whole(chosen, sources, load)
        if load is not None
        else [_shown(s, sources[s.number - 1].chunk) for s in chosen]
    )
    texts = [
        f"{s.label}\n{t}" if s.label and is_code(t) else t
        for s, t in zip(chosen, texts, strict=True)
    ]
    return _distinct([s.number for s in chosen], texts)


def _distinct(numbers: list[int], texts: list[str]) -> list[tuple[int, str]]:
    """``(number, text)`` pairs without repeats: overlapping chunks hold the same sentence,
    whole in one and cut in the other, so a text inside one already quoted is dropped, and
    one that holds an earlier quote takes its place."""
    out: list[tuple[int, str]] = []
    keys: list[str] = []
    for number, text in zip(numbers, texts, strict=True):
        key = " ".join(text.lower().strip("…").split())
        if any(key in k for k in keys):
            continue
        inside = next((i for i, k in enumerate(keys) if k in key), None)
        if inside is None:
            out.append((number, text))
            keys.append(key)
        else:
            out[inside], keys[inside] = (number, text), key
    return out


def _whole(chosen: list[_Sentence], sources: list[Passage], load: ChunkLoader) -> list[str]:
    """The chosen sentences' texts, those cut by their chunk's start or end completed from
    the neighbouring chunks (read in one go, and only if a sentence needs them)."""
    chunks = [sources[s.number - 1].chunk for s in chosen]
    cuts = [
        (starts_inside(c, s.start), ends_inside(c, s.end))
        for s, c in zip(chosen, chunks, strict=True)
    ]
    wanted = [i for c, cut in zip(chunks, cuts, strict=True) for i in neighbour_ids(c, *cut)]
    neighbours = load(wanted) if wanted else {}
    texts = []
    for s, chunk, cut in zip(chosen, chunks, cuts, strict=True):
        if not any(cut):
            texts.append(_shown(s, chunk))
            continue
        text, start, end = whole_span(chunk, s.start, s.end, neighbours)
        if len(clean(text[start:end])) > MAX_CHARS:  # completed, it would be cut again:
            texts.append(marked(_shown(s, chunk), *cut))  # the fragment, marked
            continue
        whole = _quoted(text, start, end, chunk.meta.kind, window_code(chunk, text, neighbours))
        texts.append(marked(whole, *across_pages(chunk, s.start, s.end, neighbours)))
    return texts


def _led_in(best: _Sentence, sentences: list[_Sentence]) -> list[_Sentence]:
    """What a lead-in sentence introduces: the next sentence, or the whole list it opens (a
    list is quoted whole, up to :data:`MAX_LIST_ITEMS` items)."""
    after = [s for s in sentences if s.number == best.number and s.index > best.index]
    after.sort(key=lambda s: s.index)
    if not after or after[0].index != best.index + 1 or _LEADERS.search(after[0].text):
        return []  # nothing follows it, or a line of a table of contents
    items: list[_Sentence] = []
    if best.text.endswith(":"):  # the items that follow, each right after the one before
        for s in after[:MAX_LIST_ITEMS]:
            if not _LIST_ITEM.match(s.text) or s.index != best.index + 1 + len(items):
                break
            items.append(s)
    return items or after[:1]


def _marginal(sentence: _Sentence, chosen: list[_Sentence], novelty: float) -> float:
    """The sentence's score, less ``novelty`` times its likeness to the closest one chosen."""
    v = sentence.vector
    likeness = max(
        (float(v @ c.vector) for c in chosen if v is not None and c.vector is not None),
        default=0.0,
    )
    return (1 - novelty) * sentence.score - novelty * likeness


def _scored(
    query: str, query_vector: np.ndarray, sources: list[Passage], weights: Weights
) -> list[_Sentence]:
    q = np.asarray(query_vector, dtype=np.float32)
    sentences: list[_Sentence] = []
    for n, passage in enumerate(sources, start=1):
        spans = list(passage.chunk.meta.sentence_spans) or sentence_spans(passage.text)
        vectors = passage.chunk.sentence_vectors
        if vectors is None or len(vectors) != len(spans):
            # no sentence vectors: rank by the passage's own score, in text order
            vectors = None
            sims = np.full(len(spans), passage.scores.rerank or 0.0) - np.arange(len(spans)) * 1e-3
        else:
            vectors = vectors.astype(np.float32)
            sims = vectors @ q
        before = 0
        for i, (s, e) in enumerate(spans):
            text = clean(passage.text[s:e])
            if text:
                score = float(sims[i]) + weights.source / n
                vector = None if vectors is None else vectors[i]
                code = is_code(text) or is_table(text)
                if not code and _LEADERS.search(text):  # a table of contents' line
                    score -= 1.0  # quoted only if nothing else is there
                label = _label(passage.text, s, before) if is_code(text) else ""
                sentences.append(_Sentence(n, s, e, i, _cut(text), score, vector, label))
            before = e
    words = set(tokenize([query])[0])
    if words and weights.words:
        for s, tokens in zip(sentences, tokenize([s.text for s in sentences]), strict=True):
            s.score += weights.words * len(words.intersection(tokens)) / len(words)
    return sentences


def _shown(sentence: _Sentence, chunk: ChunkRecord) -> str:
    """A chosen sentence as quoted (its text was cleaned into one line for scoring)."""
    meta = chunk.meta
    return _cut(_quoted(chunk.text, sentence.start, sentence.end, meta.kind, meta.code_spans))


def _quoted(text: str, start: int, end: int, kind: str, code: Sequence[Span] = ()) -> str:
    """``text[start:end]`` as quoted: a code block or table rows as :func:`clean` keeps them,
    prose with the line ends of a ``kind`` of file that mean something (:func:`_joins`);
    the lines that start inside ``code`` (code the loader found) marked with
    :data:`CODE_LINE`."""
    sentence = clean(text[start:end])
    if is_code(sentence) or is_table(sentence):
        return sentence
    return _lines(text, start, end, _joins(text, kind, code), code)


def _joins(text: str, kind: str, code: Sequence[Span] = ()) -> set[int]:
    """The newlines of a passage that a quote joins: those wrapping prose in a PDF or a text
    file; Markdown's (a soft break there) but those between lines of an indented code block;
    none of HTML's, Word's or CSV's, where each line is a block of its own (a paragraph, a
    list's entry, a line of code)."""
    if kind in ("pdf", "text"):
        return wrapped(text, code=code)
    if kind == "markdown":
        lines = text.split("\n")
        ends = list(itertools.accumulate(len(line) + 1 for line in lines[:-1]))
        return {
            end - 1
            for end, before, after in zip(ends, lines, lines[1:], strict=False)
            if not (_INDENTED_CODE.match(before) and _INDENTED_CODE.match(after))
        }
    return set()


_INDENTED_CODE = re.compile(r"(?: {4}|\t)")  # a line of a Markdown indented code block


def _lines(text: str, start: int, end: int, joins: set[int], code: Sequence[Span] = ()) -> str:
    """``text[start:end]`` cleaned as :func:`rag.sentences.clean` cleans prose, but with a
    line break kept at each newline not in ``joins``, and the lines' indentation (relative
    to the least indented) kept as no-break spaces, which Markdown does not drop. A line
    starting inside ``code`` is kept as written, marked with :data:`CODE_LINE`, its
    indentation (relative to the least indented line of code) as spaces: it is shown in a
    code block. Lines of code before the first line of prose are left out."""
    pieces: list[tuple[int, int, str]] = []
    line_start = text.rfind("\n", 0, start) + 1
    indent = _indent(text[line_start:])  # its line's, where the sentence starts mid-line too
    at = start
    for i in range(start, end):
        if text[i] == "\n" and i not in joins:
            pieces.append((at, indent, text[at:i]))
            indent = _indent(text[i + 1 : end])
            at = i + 1
    pieces.append((at, indent, text[at:end]))
    marked = [(inside(a, code), n, p) for a, n, p in pieces if p.strip()]
    while len(marked) > 1 and marked[0][0] and not all(c for c, _, _ in marked):
        # Code before the sentence's prose is the tail of the example above it (a session's
        # last output line, "''"): only the sentence segmenter joined them.
        marked.pop(0)
    least = {c: min((n for k, n, _ in marked if k == c), default=0) for c in (False, True)}
    return "\n".join(
        CODE_LINE + " " * (n - least[True]) + piece.strip().replace("\t", "    ")
        if coded
        else "\u00a0" * (n - least[False]) + clean(piece)
        for coded, n, piece in marked
    )


CODE_LINE = "\x1f"  # starts a quoted line of preformatted text (never in a document's text)


def _indent(text: str) -> int:
    """The width of the whitespace ``text`` starts with (a tab counts as four)."""
    head = text[: len(text) - len(text.lstrip(" \t"))]
    return len(head.replace("\t", "    "))


def _cut(text: str) -> str:
    """``text`` within its size limit: prose cut with "…", code cut after a whole line."""
    if not is_code(text) and not is_table(text):
        # cut, not inside a line's indentation ("\n\u00a0\u00a0…")
        return text[:MAX_CHARS].rstrip() + "…" if len(text) > MAX_CHARS else text
    if len(text) <= MAX_CODE_CHARS:
        return text
    kept = text[:MAX_CODE_CHARS].rsplit("\n", 1)[0]
    return kept + "\n…"
