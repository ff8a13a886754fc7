"""Bytes to text: BOMs first, then UTF-8, then a detected legacy encoding; binary is refused."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from ingest.errors import IngestError

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
# Control characters other than tab/newline/CR/form feed are a sign of binary data.
_CONTROL = {c for c in range(32) if c not in (9, 10, 12, 13)} | {127}


def decode_text(name: str, data: bytes) -> str:
    """Decode ``data`` (the file ``name``) to text or raise :class:`IngestError`."""
    text = _decode(name, data)
    if "\x00" in text:
        raise IngestError(name, "contains NUL bytes: this looks like a binary file, not text")
    sample = text[:20000]
    if sample and sum(ord(ch) in _CONTROL for ch in sample) / len(sample) > 0.01:
        raise IngestError(name, "contains control characters: this looks like a binary file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(name: str, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(name, f"invalid {encoding} text ({exc.reason})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:8192]:
        raise IngestError(name, "contains NUL bytes: this looks like a binary file, not text")
    best = _guess(data)
    if best is None:
        raise IngestError(name, "is not readable text in any known encoding (a binary file?)")
    try:
        return data.decode(best)
    except (UnicodeDecodeError, LookupError) as exc:
        raise IngestError(name, f"cannot be decoded as {best} ({exc})") from exc


def _guess(data: bytes) -> str | None:
    """The likeliest legacy encoding. charset-normalizer ranks Baltic/Central European code pages
    above Windows-1252 on short Western text, so 1252 wins when it reads nearly as cleanly."""
    matches = list(from_bytes(data[:200_000]))
    if not matches:
        return None
    best = min(m.chaos for m in matches)
    western = [m for m in matches if m.encoding == "cp1252" and m.chaos <= best + 0.2]
    return (western or matches)[0].encoding
