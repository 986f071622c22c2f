"""Naturalness: a predicted mean opinion score per utterance (DistillMOS).

Model
    DistillMOS (``distillmos==0.9.1``, MIT; Stahl and Gamper, 2025): a small
    convolutional + transformer network distilled from an XLS-R based speech
    quality model, predicting the 1-5 MOS of a listening test. Its weights
    (``distillmos/weights/distill_mos_v7.pt``) ship inside the wheel, so it
    runs offline; the file is checked against :data:`WEIGHTS_SHA256` when it
    is loaded. The package prints a "weights loaded" line on stdout when the
    model is built: it is caught here and written to the log instead, so the
    stdout of an entry point stays clean.

Input
    16 kHz mono (resampled and down-mixed by
    :func:`espnet2_cyclegan_vc.world.load_wav`); the model peak-normalises
    each file itself, pads files under 7.68 s and averages overlapping
    7.68 s windows of longer ones. Every readable file with at least one
    sample gets a score (silence too: a silent conversion should lower the
    mean, not leave it). UTMOS is not offered: its weights are not in any
    package and would have to be downloaded.
"""

import contextlib
import importlib.resources
import io
import logging
from pathlib import Path

import numpy as np

from espnet2_cyclegan_vc.scoring.intelligibility import verify_sha256

MOS_FS = 16000
MOS_PACKAGE = "distillmos==0.9.1"
WEIGHTS_SHA256 = "b18b3ac60227267cfb91e5d00ce22cc7b73716fd92f269484da1446e27031a40"


class MosPredictor:
    """DistillMOS on the CPU, loaded once.

    Args:
        threads: torch intra-op threads while predicting.

    Raises:
        ImportError: distillmos is not installed.
        espnet2_cyclegan_vc.scoring.ScoringError: its weights file is not
            the pinned one (names it).
    """

    def __init__(self, threads: int = 1):
        import distillmos
        import torch

        self._torch = torch
        self.threads = threads
        self.weights = Path(str(importlib.resources.files(distillmos) / "weights" / "distill_mos_v7.pt"))
        verify_sha256(self.weights, WEIGHTS_SHA256, f"DistillMOS v7 of {MOS_PACKAGE}")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            self._model = distillmos.ConvTransformerSQAModel()
        for line in printed.getvalue().splitlines():
            logging.info("distillmos: %s", line)
        self._model.eval()

    def predict(self, wav: np.ndarray) -> float:
        """Predicted MOS (1-5) of a mono signal at MOS_FS with at least one sample."""
        torch = self._torch
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                x = torch.from_numpy(np.asarray(wav, dtype=np.float32)).unsqueeze(0)
                return float(self._model(x).reshape(-1)[0])
        finally:
            torch.set_num_threads(previous)

    def settings(self) -> dict:
        """What fixes the scores, for summary.json."""
        return {
            "model": f"DistillMOS v7 ({MOS_PACKAGE}, weights in the wheel)",
            "weights": str(self.weights),
            "weights_sha256": WEIGHTS_SHA256,
            "input": f"{MOS_FS} Hz mono; the model peak-normalises and averages 7.68 s windows",
            "range": "1 (bad) .. 5 (excellent), predicted",
        }
