"""Citation markers in an answer: keep the ones that point at a source that was given."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.markdown import map_prose
from rag.passage import Passage

# [1], [1, 2], [1,2,3] and [1-3]; [n][m] is two markers. Numbers of one or two digits only
# (an answer has at most 50 sources): "released in [2023]" is a year, not a citation.
_MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,;\u2013-]\s*\d{1,2})*)\]")


@dataclass
class Citation:
    """A source the answer cites: its number in the answer and the passage."""

    number: int
    passage: Passage
    added: bool = False  # the model did not cite it; Docent found it supports a sentence

    def to_dict(self) -> dict[str, object]:
        """JSON form: the passage's fields under its number."""
        return self.passage.to_dict(self.number) | {"added_by_docent": self.added}


@dataclass
class CheckedAnswer:
    """The answer with invalid markers removed, what it cites and how many were dropped."""

    text: str
    citations: list[Citation]
    removed: int


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group):
        if re.search(r"[\u2013-]", part):
            lo, hi = (int(x) for x in re.split(r"\s*[\u2013-]\s*", part))
            out += list(range(lo, hi + 1)) if 0 < hi - lo < 50 else [lo, hi]
        else:
            out.append(int(part))
    return out


def check_citations(answer: str, sources: list[Passage]) -> CheckedAnswer:
    """Drop markers citing numbers outside ``1..len(sources)``; map the rest to sources.

    Code is not prose: ``[1]`` in inline code or a fenced block (R prints ``[1] 42``) is
    neither a citation nor removed.
    """
    removed = 0
    cited: list[int] = []

    def keep(match: re.Match[str]) -> str:
        nonlocal removed
        numbers = _numbers(match.group(1))
        valid = [n for n in numbers if 1 <= n <= len(sources)]
        removed += len(numbers) - len(valid)
        cited.extend(n for n in valid if n not in cited)
        return "".join(f"[{n}]" for n in valid)

    def prose(part: str) -> str:
        before = removed
        part = _MARKER.sub(keep, part)
        return re.sub(r"[ \t]+([.,;:!?])", r"\1", part) if removed > before else part

    text = map_prose(answer, prose)
    citations = [Citation(n, sources[n - 1]) for n in sorted(cited)]
    return CheckedAnswer(text, citations, removed)


# Docent's quiet notes (":gray[*([1] does not say this; [2] does)*]") name sources in words:
# a link inside Streamlit's colour directive would break it, so they are left as they are.
_NOTE = re.compile(r":gray\[\*\(.*?\)\*\]")


def linked(markdown: str, titles: dict[int, str], anchor: str) -> str:
    """``markdown`` with each citation marker a link to ``#anchor`` (where the answer's sources
    are listed) whose tooltip names its source (``titles``, by number).

    Markers in code, in Docent's notes, or naming a number not in ``titles`` stay as written.
    """

    def link(match: re.Match[str]) -> str:
        numbers = _numbers(match.group(1))
        if not all(n in titles for n in numbers):
            return match.group()
        return "".join(f'[\\[{n}\\]](#{anchor} "{_title(titles[n])}")' for n in numbers)

    def prose(part: str) -> str:
        notes = _NOTE.findall(part)
        pieces = [_MARKER.sub(link, piece) for piece in _NOTE.split(part)]
        return "".join(p + n for p, n in zip(pieces, [*notes, ""], strict=True))

    return map_prose(markdown, prose)


def _title(label: str) -> str:
    """``label`` as a link's title: one line, no quote or backslash to end or escape it."""
    return " ".join(label.split()).replace("\\", "/").replace('"', "'")[:200]
