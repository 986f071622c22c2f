"""Alignment and per-utterance scores (the settings are stated in :mod:`espnet2_cyclegan_vc.scoring`)."""

import math
from typing import Dict, NamedTuple, Optional, Tuple, Union

import numpy as np
from scipy.spatial.distance import cdist

from espnet2_cyclegan_vc.world import WorldConfig, analyze_envelope, load_wav

# 10 / ln(10) * sqrt(2): converts a Euclidean cepstral distance to MCD in dB.
_MCD_CONST = 10.0 / math.log(10.0) * math.sqrt(2.0)

# Mel-cepstral order of the MCD (c0..c24, c0 then left out), as sprocket and
# the CycleGAN-VC papers use.
MCD_ORDER = 24

# SPTK's usual all-pass constants, which approximate the mel scale at each
# sampling rate.
ALPHA_BY_FS = {
    8000: 0.31, 10000: 0.35, 12000: 0.37, 16000: 0.42, 22050: 0.455,
    24000: 0.466, 32000: 0.50, 44100: 0.53, 48000: 0.55,
}

# Metrics written per utterance, in this order (each with _converted/_baseline).
METRICS = ("mcd", "mcd_speech", "logf0_rmse", "f0corr")

# A reference frame is speech when its power is within this many dB of the
# loudest frame of its utterance (VCC2016 pauses sit 45-70 dB below it).
SPEECH_THRESHOLD_DB = 40.0


def mcd_alpha(fs: int) -> float:
    """The all-pass constant of the mel-cepstrum at sampling rate fs (SPTK's table)."""
    if fs not in ALPHA_BY_FS:
        raise ValueError(
            f"world_conf fs={fs}: no standard all-pass constant for the mel-cepstral "
            f"distortion; score at one of {sorted(ALPHA_BY_FS)} Hz"
        )
    return ALPHA_BY_FS[fs]


def mel_cepstrum(sp: np.ndarray, fs: int) -> np.ndarray:
    """SPTK mel-cepstrum (T, MCD_ORDER + 1), c0 included, of a (T, F) power envelope.

    The real cepstrum of the log envelope, frequency-warped by the all-pass
    constant of fs (pysptk.sp2mc, i.e. SPTK's freqt).
    """
    import pysptk

    sp = np.ascontiguousarray(sp, dtype=np.float64)
    return pysptk.sp2mc(np.maximum(sp, 1e-30), order=MCD_ORDER, alpha=mcd_alpha(fs))


def envelope_from_mel_cepstrum(mcep: np.ndarray, config: WorldConfig) -> np.ndarray:
    """Power envelope (T, fft_size // 2 + 1) decoded from :func:`mel_cepstrum` (for pictures)."""
    import pysptk

    return pysptk.mc2sp(
        np.ascontiguousarray(mcep, dtype=np.float64), alpha=mcd_alpha(config.fs),
        fftlen=config.resolved_fft_size,
    )


class ScoringFeatures(NamedTuple):
    """The part of WORLD's analysis that scoring needs.

    Attributes:
        f0: (T,) F0 in Hz, 0 on unvoiced frames.
        mcep: (T, MCD_ORDER + 1) SPTK mel-cepstrum of the WORLD envelope, c0 included.
        power_db: (T,) frame power of the spectral envelope in dB.
    """

    f0: np.ndarray
    mcep: np.ndarray
    power_db: np.ndarray


class F0Scores(NamedTuple):
    """F0 scores of one aligned pair; metrics are None when undefined."""

    rmse: Optional[float]
    corr: Optional[float]
    num_voiced_pairs: int


def dtw_path(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Exact dynamic time warping alignment of two feature sequences (librosa).

    Euclidean frame distance, steps (i-1, j), (i, j-1), (i-1, j-1) with unit
    weights, path from (0, 0) to (T1-1, T2-1), no band.

    Args:
        x: (T1, D) first sequence.
        y: (T2, D) second sequence.

    Returns:
        (ix, iy): two (N,) int arrays, max(T1, T2) <= N <= T1 + T2 - 1, non
        decreasing, each step advancing at least one of them by exactly one;
        frame ix[k] of x is aligned with frame iy[k] of y.
    """
    import librosa

    x = _as_2d(x, "x")
    y = _as_2d(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"dtw_path: feature dims differ ({x.shape[1]} vs {y.shape[1]})")
    # cdist computes exact differences (no |x|^2 + |y|^2 - 2xy cancellation),
    # so identical frames cost exactly 0.
    _, path = librosa.sequence.dtw(C=cdist(x, y, metric="euclidean"), backtrack=True)
    path = path[::-1].astype(np.int64)
    return np.ascontiguousarray(path[:, 0]), np.ascontiguousarray(path[:, 1])


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be (T, D) with T >= 1, got shape {a.shape}")
    return a


def mel_cepstral_distortion(c_ref: np.ndarray, c_conv: np.ndarray) -> float:
    """Mean mel-cepstral distortion of time-aligned frames, c0 excluded.

    Args:
        c_ref: (N, D) reference mel-cepstra, c0 in column 0.
        c_conv: (N, D) converted mel-cepstra aligned frame by frame to c_ref.

    Returns:
        MCD in dB: mean over the N frames of
        10 / ln(10) * sqrt(2 * sum_{d=1}^{D-1} (c_ref[:, d] - c_conv[:, d])^2).
    """
    c_ref = _as_2d(c_ref, "c_ref")
    c_conv = _as_2d(c_conv, "c_conv")
    if c_ref.shape != c_conv.shape:
        raise ValueError(
            f"mel_cepstral_distortion: aligned shapes differ ({c_ref.shape} vs {c_conv.shape})"
        )
    if c_ref.shape[1] < 2:
        raise ValueError("mel_cepstral_distortion needs at least c0 and c1")
    return float(np.mean(_frame_mcd(c_ref, c_conv)))


def _frame_mcd(c_ref: np.ndarray, c_conv: np.ndarray) -> np.ndarray:
    diff = c_ref[:, 1:] - c_conv[:, 1:]
    return _MCD_CONST * np.sqrt(np.sum(diff * diff, axis=1))


def speech_frames(power_db: np.ndarray, threshold_db: float = SPEECH_THRESHOLD_DB) -> np.ndarray:
    """(T,) bool: frames within threshold_db of the utterance's loudest frame."""
    power_db = np.asarray(power_db, dtype=np.float64)
    return power_db >= power_db.max() - threshold_db


def pause_power_change(source_db: np.ndarray, converted_db: np.ndarray) -> Optional[float]:
    """How much louder the pauses are, relative to the speech, after conversion (dB).

    Conversion keeps the source's timing (one output frame per input frame),
    so frame t of the converted speech is compared with frame t of the source.
    Each utterance's frame power (ScoringFeatures.power_db) is first taken
    relative to its own speech level (the mean over the frames that
    :func:`speech_frames` calls speech in the source), so a conversion that is
    louder or quieter overall reads 0; then the mean over the source's pause
    frames of converted minus source. 0: pauses sit as far below the speech
    as in the source; a large positive value: they were turned into noise.
    None when the source has no pause.
    """
    frames = min(len(source_db), len(converted_db))
    source_db = np.asarray(source_db, dtype=np.float64)[:frames]
    converted_db = np.asarray(converted_db, dtype=np.float64)[:frames]
    speech = speech_frames(source_db)
    if speech.all():
        return None
    source_rel = source_db - source_db[speech].mean()
    converted_rel = converted_db - converted_db[speech].mean()
    return float(np.mean(converted_rel[~speech] - source_rel[~speech]))


def frame_power_db(sp: np.ndarray) -> np.ndarray:
    """(T,) power in dB of each frame of a (T, F) power spectral envelope."""
    return 10.0 * np.log10(np.maximum(np.sum(sp, axis=1), 1e-30))


def logf0_rmse(
    f0_ref: np.ndarray, f0_conv: np.ndarray, path: Tuple[np.ndarray, np.ndarray]
) -> F0Scores:
    """log-F0 RMSE and F0 correlation over aligned pairs voiced in both.

    Args:
        f0_ref: (T1,) reference F0 in Hz, <= 0 where unvoiced.
        f0_conv: (T2,) converted F0 in Hz, <= 0 where unvoiced.
        path: (ix, iy) from :func:`dtw_path`, indices into f0_ref and f0_conv.

    Returns:
        F0Scores(rmse, corr, num_voiced_pairs): rmse of ln f0_ref - ln f0_conv
        (natural log), Pearson correlation of the two ln F0 sequences, and the
        number of pairs used. rmse is None when no pair is voiced in both;
        corr is None when fewer than two pairs or either side is constant.
    """
    ix, iy = (np.asarray(p, dtype=np.int64) for p in path)
    ref = np.asarray(f0_ref, dtype=np.float64)[ix]
    conv = np.asarray(f0_conv, dtype=np.float64)[iy]
    voiced = (ref > 0) & (conv > 0)
    n = int(voiced.sum())
    if n == 0:
        return F0Scores(None, None, 0)
    lref, lconv = np.log(ref[voiced]), np.log(conv[voiced])
    rmse = float(np.sqrt(np.mean((lref - lconv) ** 2)))
    return F0Scores(rmse, _pearson(lref, lconv), n)


def _pearson(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    """Pearson correlation, None where it is undefined (no NaN)."""
    if len(a) < 2:
        return None
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if denom <= 0.0:
        return None
    return float(np.dot(da, db) / denom)


def extract_features(wav_path: str, config: WorldConfig) -> ScoringFeatures:
    """F0 and mel-cepstra of a sound file through the project's WORLD module."""
    return wav_features(load_wav(wav_path, config.fs), config, name=str(wav_path))


def wav_features(wav: np.ndarray, config: WorldConfig, name: str = "<array>") -> ScoringFeatures:
    """Scoring features of a mono signal at config.fs."""
    return scoring_features(*analyze_envelope(wav, config, name=name), config)


def scoring_features(f0: np.ndarray, sp: np.ndarray, config: WorldConfig) -> ScoringFeatures:
    """ScoringFeatures from WORLD F0 and the spectral envelope (aperiodicity is not needed)."""
    return ScoringFeatures(f0=f0, mcep=mel_cepstrum(sp, config.fs), power_db=frame_power_db(sp))


def score_features(ref: ScoringFeatures, hyp: ScoringFeatures) -> Dict[str, Union[float, int, None]]:
    """Scores of hyp against ref (see the module docstring for the settings).

    Returns:
        dict with mcd (dB, all frames), mcd_speech (dB, pairs whose reference
        frame is speech, see :func:`speech_frames`), logf0_rmse (ln Hz or
        None), f0_corr (or None), num_frames_aligned (DTW path length),
        num_speech_pairs and num_voiced_pairs.
    """
    if ref.mcep.shape[1] != hyp.mcep.shape[1]:
        raise ValueError(
            f"mcep orders differ ({ref.mcep.shape[1]} vs {hyp.mcep.shape[1]})"
        )
    # One path on c1.. (c0, the loudness, left out) serves both MCD and F0.
    ix, iy = dtw_path(ref.mcep[:, 1:], hyp.mcep[:, 1:])
    per_pair = _frame_mcd(_as_2d(ref.mcep[ix], "ref"), _as_2d(hyp.mcep[iy], "hyp"))
    speech = speech_frames(ref.power_db)[ix]
    f0 = logf0_rmse(ref.f0, hyp.f0, (ix, iy))
    return {
        "mcd": float(per_pair.mean()),
        # The loudest reference frame is always speech, so this is never empty.
        "mcd_speech": float(per_pair[speech].mean()),
        "logf0_rmse": f0.rmse,
        "f0_corr": f0.corr,
        "num_frames_aligned": int(len(ix)),
        "num_speech_pairs": int(speech.sum()),
        "num_voiced_pairs": f0.num_voiced_pairs,
    }


def score_pair(ref_wav_path: str, hyp_wav_path: str, config: WorldConfig) -> Dict[str, Union[float, int, None]]:
    """Scores of the hypothesis (converted) wav against the reference wav.

    Args:
        ref_wav_path: target speaker's real utterance.
        hyp_wav_path: converted (or, for the baseline, source) utterance.
        config: WORLD settings shared with training and inference.

    Returns:
        See :func:`score_features`.
    """
    return score_features(extract_features(ref_wav_path, config), extract_features(hyp_wav_path, config))


def settings_dict(config: WorldConfig) -> dict:
    """Every setting that determines the numbers, for summary files."""
    return {
        "world_config": config.to_dict(),
        "resolved_fft_size": config.resolved_fft_size,
        "analysis": "WORLD F0 (world_config f0_method) and CheapTrick spectral envelope",
        "mcep": "SPTK mel-cepstrum of the CheapTrick envelope (pysptk.sp2mc: real cepstrum, freqt warping)",
        "mcep_order": MCD_ORDER,
        "mcep_alpha": mcd_alpha(config.fs),
        "mcd_coefficients": f"c1..c{MCD_ORDER} ({MCD_ORDER} coefficients, c0 excluded)",
        "mcd_formula": "10/ln(10) * sqrt(2 * sum_d (c_d - c'_d)^2) per aligned frame pair",
        "mcd_frames": "all frames (voiced and unvoiced, no silence trimming), mean over the DTW path",
        "mcd_speech_frames": (
            "path pairs whose reference frame power (sum of the CheapTrick envelope) is "
            f"at most {SPEECH_THRESHOLD_DB:g} dB below the loudest frame of that reference"
        ),
        "pause_power_change": (
            "over the source's non-speech frames (same threshold), frame t against frame t "
            "(conversion keeps the timing), mean of converted minus source frame power in dB, "
            "each taken relative to its own utterance's mean power over the source's speech frames"
        ),
        "dtw": (
            "exact DTW (librosa.sequence.dtw) on the Euclidean distance of c1..c"
            f"{MCD_ORDER}, unit-weight steps (i-1,j),(i,j-1),(i-1,j-1), no band"
        ),
        "logf0_rmse": "RMSE of natural-log F0 (ln Hz) over path pairs voiced in both",
        "f0_corr": "Pearson correlation of ln F0 over path pairs voiced in both",
        "std": "population standard deviation (ddof=0) over utterances",
    }
