"""espnet2_cyclegan_vc.scoring.naturalness: the real DistillMOS model on VCC2016 speech."""

import logging

import numpy as np
import pytest

from conftest import needs_vcc2016, vcc2016_root
from espnet2_cyclegan_vc.world import load_wav

pytest.importorskip("distillmos")

from espnet2_cyclegan_vc.scoring.intelligibility import sha256_of  # noqa: E402
from espnet2_cyclegan_vc.scoring.naturalness import MOS_FS, WEIGHTS_SHA256, MosPredictor  # noqa: E402

EVAL = vcc2016_root() / "evaluation_all"


@pytest.fixture(scope="module")
def predictor():
    return MosPredictor(threads=1)


def at_snr(speech: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """speech plus white noise at snr_db (signal power over noise power)."""
    noise = np.random.default_rng(seed).standard_normal(len(speech))
    noise *= np.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return speech + noise


def test_weights_are_the_pinned_file_and_stdout_stays_clean(capfd, caplog):
    with caplog.at_level(logging.INFO):
        model = MosPredictor(threads=1)
    assert sha256_of(model.weights) == WEIGHTS_SHA256
    # distillmos prints "weights loaded" when built: it must reach the log, not stdout.
    assert capfd.readouterr().out == ""
    assert "weights loaded" in caplog.text


@needs_vcc2016
@pytest.mark.parametrize("spk, sent", [("TM3", "200001"), ("SF1", "200003")])
def test_natural_speech_scores_above_the_same_speech_in_noise(predictor, spk, sent):
    speech = load_wav(str(EVAL / spk / f"{sent}.wav"), MOS_FS)
    clean, noisy = predictor.predict(speech), predictor.predict(at_snr(speech, 0.0))
    assert 1.0 <= noisy < clean <= 5.0
    assert clean - noisy > 1.0  # measured 4.5 vs 2.0 and 4.2 vs 1.9


@needs_vcc2016
def test_same_file_same_score(predictor):
    speech = load_wav(str(EVAL / "TM3/200006.wav"), MOS_FS)
    assert predictor.predict(speech) == predictor.predict(speech.copy())


def test_silence_and_a_short_file_get_a_finite_score(predictor):
    for wav in (np.zeros(2 * MOS_FS), 0.1 * np.sin(np.arange(MOS_FS // 10) * 0.2)):
        score = predictor.predict(wav)
        assert np.isfinite(score) and 1.0 <= score <= 5.0
