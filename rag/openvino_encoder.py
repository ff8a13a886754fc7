"""The embedding model's transformer run by OpenVINO: exported once, about 2.5x torch on a CPU.

sentence-transformers' own ``backend="openvino"`` needs optimum, which pins an older
transformers than the one installed, so the export is done here: OpenVINO converts the torch
module directly (no ONNX step, no hub), the IR is saved under the cache dir once, and later
processes only compile it. The IR returns the token embeddings; pooling stays in
:mod:`rag.embeddings`, so passage and sentence vectors are made the same way for both backends.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

IR_NAME = "model.xml"
Precision = Literal["f32", "bf16"]


class EncoderExportError(RuntimeError):
    """The model could not be exported to, or loaded from, OpenVINO's format."""


def ir_folder(model_path: str, cache_dir: Path) -> Path:
    """Where the IR of ``model_path`` lives: keyed by the weights' config and both versions,
    so an upgraded model, torch or OpenVINO never reuses a stale export."""
    import openvino
    import torch

    config = Path(model_path) / "config.json"
    key = json.dumps(
        [
            str(Path(model_path).resolve()),
            config.read_text() if config.exists() else "",
            openvino.__version__,
            torch.__version__,
        ]
    )
    return cache_dir / f"{Path(model_path).name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def export(transformer: Any, folder: Path) -> None:
    """Convert ``transformer`` (a Hugging Face BERT-style module) and save its IR in ``folder``.

    Written to a temporary folder first and renamed: a crash or a second process exporting at
    the same time never leaves half an IR where a reader would find it.
    """
    import openvino as ov
    import torch

    class TokenEmbeddings(torch.nn.Module):
        """``(input_ids, attention_mask) -> last_hidden_state``, with zero token types."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            types = torch.zeros_like(input_ids)
            out = self.model(input_ids, attention_mask=attention_mask, token_type_ids=types)
            return out.last_hidden_state

    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    # Tracing warns that shapes seen in the example may be baked in; they are not (the inputs
    # stay dynamic, and the tests compare other shapes against torch), so keep the user's
    # first run quiet.
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # and transformers logs about attributes tracing touches
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = TokenEmbeddings(transformer).eval()
            converted = ov.convert_model(module, example_input=example)
    finally:
        hf_logging.set_verbosity(level)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    try:
        ov.save_model(converted, str(tmp / IR_NAME), compress_to_fp16=False)  # fp32: same vectors
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: its export is as good as ours
            if not (folder / IR_NAME).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class OpenVinoEncoder:
    """Token embeddings from the compiled IR; safe to call from several threads."""

    def __init__(
        self, transformer: Any, model_path: str, cache_dir: Path, precision: Precision = "f32"
    ) -> None:
        """Compile the IR for ``model_path`` from ``cache_dir``, exporting it first if missing.

        ``precision`` is what the CPU computes in: ``f32`` gives torch's vectors; ``bf16``
        (OpenVINO's own default on CPUs with AVX-512 BF16, so asked for explicitly here) is
        faster but moves vectors by up to ~2e-4 in cosine.

        Raises:
            EncoderExportError: OpenVINO could neither load nor export the model.
        """
        import openvino as ov

        self.folder = ir_folder(model_path, cache_dir)
        self.precision = precision
        core = ov.Core()
        try:
            if not (self.folder / IR_NAME).exists():
                export(transformer, self.folder)
            self._compiled = self._compile(core)
        except Exception as first:
            # A damaged IR (a disk filled up, a file edited): export once more, then give up.
            shutil.rmtree(self.folder, ignore_errors=True)
            try:
                export(transformer, self.folder)
                self._compiled = self._compile(core)
            except Exception as exc:
                raise EncoderExportError(
                    f"cannot run the embedding model with OpenVINO ({first}; then {exc}). "
                    "Set DOCENT_EMBEDDING_BACKEND=torch to use torch instead."
                ) from exc

    def _compile(self, core: Any) -> Any:
        # One stream using every core: ingest sends one batch at a time.
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": self.precision}
        return core.compile_model(str(self.folder / IR_NAME), "CPU", config)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """``[batch, tokens, hidden]`` float32 token embeddings."""
        request = self._compiled.create_infer_request()  # one per call: threads never share
        request.infer([input_ids, attention_mask])
        return np.asarray(request.get_output_tensor(0).data, dtype=np.float32).copy()
