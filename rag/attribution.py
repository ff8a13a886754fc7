"""Which source supports each sentence of an LLM's answer: attribution after generation.

Small local models often ignore citation rules, and any model can state a wrong number with a
right citation. So once an answer is complete it is cut into units (sentences; a list item or
a code block stays whole), and each unit is compared with every source sentence it was given:
their embeddings (the source sentences' vectors come from ingest; the answer's units are
embedded in one batch) and their words (numbers, names and code tokens must be in the source;
a negation must agree). A small logistic model, calibrated on labelled sentences (supported
vs. wrong numbers, negated claims, facts from elsewhere: ``python -m bench.train_attribution``),
turns that into the probability that a source supports the unit.

Then: a unit the model cited nothing for gets its best source, marked "added by Docent"; a
cited source that does not support it is reported; a unit no source supports is flagged
"not found in your documents" and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from rag.citations import _MARKER, _numbers
from rag.embeddings import Embedder
from rag.lexical import tokenize
from rag.markdown import code_blocks, split_code
from rag.passage import Passage
from rag.sentences import sentence_spans

MODEL = Path(__file__).resolve().parent / "models" / "attribution.json"
FEATURES = (
    "cosine",  # the best cosine between the unit and a source sentence (or the passage)
    "words",  # share of the unit's words (stemmed, no stop words) in the passage
    "evidence_words",  # ...in the source sentence closest to it
    "numbers_missing",  # a number (digits or words) of the unit is not in the passage
    "names_missing",  # share of its names and code tokens not in the passage
    "negation_mismatch",  # it negates where its closest source sentence doesn't, or back
)
NEGATION = re.compile(
    r"\b(not|no|never|none|nothing|cannot|without|neither|nor|forbid\w*|disallow\w*)\b|n't\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])|\b(?:zero|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve|twenty|thirty|hundred|thousand|million|first|second|third|fourth|fifth|"
    r"half|twice|double|single)\b",
    re.IGNORECASE,
)
# Names a source must contain for a unit to be about it: `code`, dotted or underscored
# identifiers, calls, ALL-CAPS words, camelCase.
_NAME = re.compile(
    r"`[^`]+`|\b\w+(?:[_.:$]\w+)+\b(?:\(\))?|\b\w+\(\)|\b[A-Z][A-Z0-9_]{2,}\b|\b[a-z]+[A-Z]\w*\b"
)
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")

Kind = Literal["sentence", "item", "code"]


@dataclass
class Unit:
    """A piece of the answer checked on its own, at ``answer[start:end]``."""

    text: str
    kind: Kind
    start: int = 0
    end: int = 0


@dataclass
class Support:
    """How one unit of the answer is supported."""

    text: str  # the unit, as the model wrote it (markers included)
    kind: Kind
    start: int  # where it is in the answer
    end: int
    cited: list[int] = field(default_factory=list)  # source numbers the model put on it
    source: int | None = None  # the best supporting source (1-based); None: none supports it
    score: float = 0.0  # P(that source supports it)
    evidence: str = ""  # the source sentence that supports it best
    added: bool = False  # the model cited nothing: Docent added ``source``
    unsupported_citations: list[int] = field(default_factory=list)  # cited, not supporting

    @property
    def supported(self) -> bool:
        """A source supports it."""
        return self.source is not None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return asdict(self) | {"supported": self.supported}


@dataclass(frozen=True)
class AttributionModel:
    """Logistic weights over :data:`FEATURES` and the support threshold."""

    weights: np.ndarray
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL) -> AttributionModel:
        """Read a model written by ``python -m bench.train_attribution``."""
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was trained on other features: retrain it")
        return cls(np.array(data["weights"]), float(data["bias"]), float(data["threshold"]))

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(supported) for rows of features."""
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))


@lru_cache(maxsize=1)
def default_model() -> AttributionModel:
    """The shipped, calibrated model."""
    return AttributionModel.load()


def split_units(answer: str) -> list[Unit]:
    """Sentences of the prose, list items whole, code blocks (fenced or indented) whole,
    with their offsets."""
    units: list[Unit] = []
    lines = answer.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    blocks = dict(code_blocks(answer))  # start -> end
    paragraph: int | None = None  # where the prose being gathered starts

    def flush(upto: int) -> None:
        nonlocal paragraph
        if paragraph is not None:
            for s, e in sentence_spans(answer[paragraph:upto]):
                units.append(
                    Unit(
                        answer[paragraph + s : paragraph + e],
                        "sentence",
                        paragraph + s,
                        paragraph + e,
                    )
                )
        paragraph = None

    i = 0
    while i < len(lines):
        line, at = lines[i], offsets[i]
        if at in blocks:
            flush(at)
            code = answer[at : blocks[at]].rstrip()
            units.append(Unit(code, "code", at, at + len(code)))
            while i < len(lines) and offsets[i] < blocks[at]:
                i += 1
            continue
        item = _ITEM.match(line)
        if item:
            flush(at)
            text = line.rstrip()
            units.append(Unit(text[item.end() :], "item", at + item.end(), at + len(text)))
        elif not line.strip():
            flush(at)
        elif paragraph is None:
            paragraph = at
        i += 1
    flush(len(answer))
    return [u for u in units if len(_words(u.text)) >= 2]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _MARKER.sub(" ", text))


def _cited(text: str) -> list[int]:
    """Citation markers in the unit's prose ("[1] 42" in code is R's output, not a marker)."""
    numbers: list[int] = []
    for code, part in split_code(text):
        for match in [] if code else _MARKER.finditer(part):
            numbers += [n for n in _numbers(match.group(1)) if n not in numbers]
    return numbers


def _plain(text: str) -> str:
    """The unit without citation markers, code fences or Markdown emphasis."""
    text = _MARKER.sub(" ", text)
    text = re.sub(r"^ {0,3}(`{3,}|~{3,}).*$", " ", text, flags=re.M)
    return " ".join(text.replace("**", "").replace("__", "").split())


@dataclass
class _Source:
    """A source passage prepared for comparison (each of its parts tokenised once)."""

    text: str
    lowered: str
    sentences: list[str]
    vectors: np.ndarray  # unit rows: one per sentence, and the passage itself last
    words: set[str]
    numbers: set[str]
    names: set[str]
    evidence_words: list[set[str]]  # per sentence, then for the passage's opening

    def evidence(self, row: int) -> tuple[str, set[str]]:
        """The text the vector ``row`` stands for (a sentence, or the passage's opening) and
        its words."""
        if row < len(self.sentences):
            return self.sentences[row], self.evidence_words[row]
        return self.text[:300], self.evidence_words[-1]


def _figures(text: str) -> set[str]:
    return {n.lower() for n in _NUMBER.findall(text)}


def _names(text: str) -> set[str]:
    return {n.strip("`").lower() for n in _NAME.findall(text)}


def _source(passage: Passage) -> _Source:
    text = passage.text
    spans = list(passage.chunk.meta.sentence_spans) or sentence_spans(text)
    sentences = [" ".join(text[s:e].split()) for s, e in spans]
    rows = [passage.vector.astype(np.float32)]
    vectors = passage.chunk.sentence_vectors
    if vectors is not None and len(vectors) == len(sentences):
        rows = [*vectors.astype(np.float32), *rows]
    else:
        sentences = []
    lowered = text.lower()
    words, *evidence = tokenize([text, *sentences, text[:300]])  # one call for all parts
    return _Source(
        text,
        lowered,
        sentences,
        np.vstack(rows),
        set(words),
        _figures(text),
        _names(text) | set(re.findall(r"\w+", lowered)),
        [set(w) for w in evidence],
    )


@dataclass(frozen=True)
class Given:
    """What the question itself says: its words, numbers and names."""

    words: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, question: str) -> Given:
        """The words, numbers and names of ``question``."""
        words = tokenize([question])[0] if question.strip() else []
        return cls(frozenset(words), frozenset(_figures(question)), frozenset(_names(question)))


@dataclass(frozen=True)
class Claim:
    """What one unit of an answer states, computed once and compared with every source.

    Words, numbers and names the question already gave are not claims of the answer ("The
    longest line you can type is 4095 bytes": only "4095 bytes" needs a source), so they are
    left out (all words are kept if the unit only restates the question).
    """

    words: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]
    negations: int  # parity of negation words

    @classmethod
    def of(cls, unit: str, given: Given | None = None) -> Claim:
        """The claim of ``unit`` (plain text) beyond what ``given`` says."""
        given = given or Given()
        words = frozenset(tokenize([unit])[0])
        return cls(
            words - given.words or words,
            frozenset(_figures(unit)) - given.numbers,
            frozenset(_names(unit)) - given.names,
            len(NEGATION.findall(unit)) % 2,
        )


def unit_features(claim: Claim, vector: np.ndarray, source: _Source) -> tuple[np.ndarray, str]:
    """The :data:`FEATURES` of (a unit's claim and vector, source) and the source text
    closest to the unit."""
    sims = source.vectors @ vector
    evidence, evidence_words = source.evidence(int(np.argmax(sims)))
    words, names = claim.words, claim.names
    missing_names = {n for n in names if n not in source.names and n not in source.lowered}
    evidence_negations = len(NEGATION.findall(evidence)) % 2
    return (
        np.array(
            [
                float(sims.max()),
                len(words & source.words) / len(words) if words else 1.0,
                len(words & evidence_words) / len(words) if words else 1.0,
                float(bool(claim.numbers - source.numbers)),
                len(missing_names) / len(names) if names else 0.0,
                float(claim.negations != evidence_negations),
            ]
        ),
        evidence,
    )


def attribute(
    answer: str,
    sources: list[Passage],
    embedder: Embedder,
    model: AttributionModel | None = None,
    question: str = "",
) -> list[Support]:
    """Support for every unit of ``answer`` among ``sources`` (numbered from 1); what
    ``question`` already says is not counted as the answer's claim."""
    model = model or default_model()
    units = split_units(answer)
    if not units or not sources:
        return [Support(u.text, u.kind, u.start, u.end, _cited(u.text)) for u in units]
    prepared = [_source(p) for p in sources]
    given = Given.of(question)
    vectors = embedder.encode([_plain(u.text) for u in units])
    out = []
    for unit, vector in zip(units, vectors, strict=True):
        claim = Claim.of(_plain(unit.text), given)
        pairs = (unit_features(claim, vector, s) for s in prepared)
        rows, evidence = zip(*pairs, strict=True)
        probs = model.probability(np.vstack(rows))
        cited = [n for n in _cited(unit.text) if 1 <= n <= len(sources)]
        support = Support(unit.text, unit.kind, unit.start, unit.end, cited)
        best = int(np.argmax(probs))
        if cited and max(probs[n - 1] for n in cited) >= model.threshold:
            best = max(cited, key=lambda n: probs[n - 1]) - 1  # the model's own, if it holds
        support.unsupported_citations = [n for n in cited if probs[n - 1] < model.threshold]
        if probs[best] >= model.threshold:
            support.source, support.score = best + 1, float(probs[best])
            support.evidence = evidence[best]
            support.added = not cited
        else:
            support.score = float(probs[best])
        out.append(support)
    return out


Style = Literal["markdown", "streamlit"]
ADDED = "⁺"  # after a citation Docent added (the model cited nothing there)


def annotate(answer: str, supports: list[dict[str, object]], style: Style = "markdown") -> str:
    """The answer with what attribution found: citations Docent added (``[n]⁺``) and a quiet
    note after each sentence no source supports. ``supports`` in their JSON form."""

    def quiet(text: str, gap: str = " ") -> str:
        return gap + (f"*({text})*" if style == "markdown" else f":gray[*({text})*]")

    out, cursor = [], 0
    for s in sorted(supports, key=lambda s: int(s["end"])):  # type: ignore[call-overload]
        end = int(s["end"])  # type: ignore[call-overload]
        if end < cursor:
            continue
        code = s["kind"] == "code"
        cut = end - 1 if answer[end - 1 : end] in ".!?:" and not code else end
        out.append(answer[cursor:cut])
        # After code, on a line of its own: on the closing fence's line it would keep the
        # fence from closing, and the rest of the answer would turn into code.
        gap = "\n\n" if code else " "
        wrong = [f"[{n}]" for n in s.get("unsupported_citations") or []]  # type: ignore[union-attr]
        if s["added"]:
            out.append(f"{gap}[{s['source']}]{ADDED}")
        elif s["supported"] and wrong:
            out.append(quiet(f"{', '.join(wrong)} does not say this; [{s['source']}] does", gap))
        elif not s["supported"] and not code:  # code is shown, never judged aloud
            out.append(quiet("not found in your documents"))
        cursor = cut
    out.append(answer[cursor:])
    return "".join(out)
