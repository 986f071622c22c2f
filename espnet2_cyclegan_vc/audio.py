"""Audio around conversion: resampling, loudness and peaks of what is written.

WORLD synthesis of converted features does not keep the input's level: on the
VCC2016 recipe's conversions it came out up to 12 dB louder than its input,
with peaks up to four times full scale, which a 16-bit file then hard-clips.
Everything that writes converted speech (the recipe's stage 5 and
``vc_convert``) therefore

1. brings the converted speech back to the input's **speech level**: the RMS
   over the speech frames of the signal, where a frame (20 ms, not
   overlapping) is speech when its power is within ``SPEECH_RANGE_DB`` of the
   loudest frame of the file (the rule the scorer uses for its speech
   frames); pauses do not count, so a recording with long pauses is not
   turned up;
2. then limits its peaks to ``PEAK_CEILING_DBFS`` with a look-ahead limiter
   that lowers the gain only around the samples that would pass the ceiling
   (smoothly, over ``LIMITER_WINDOW_S`` either side), so the rest of the
   signal keeps its level and nothing is clipped.

Resampling uses soxr's very-high-quality setting (:func:`resample`).
"""

from typing import Optional, Tuple

import numpy as np
import soxr
from scipy.ndimage import minimum_filter1d, uniform_filter1d

PEAK_CEILING_DBFS = -1.0
SPEECH_RANGE_DB = 40.0
LEVEL_FRAME_S = 0.02
LIMITER_WINDOW_S = 0.005


def resample(wav: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    """(T,) float64 signal resampled from fs_in to fs_out (soxr, very high quality)."""
    wav = np.ascontiguousarray(wav, dtype=np.float64)
    if fs_in == fs_out:
        return wav
    return soxr.resample(wav, fs_in, fs_out, quality="VHQ")


def fit_length(wav: np.ndarray, length: int) -> np.ndarray:
    """wav cut or zero-padded to length: WORLD synthesis ends up to a frame past (or short of) its input."""
    if len(wav) >= length:
        return wav[:length]
    return np.concatenate([wav, np.zeros(length - len(wav))])


def frame_powers(wav: np.ndarray, fs: int) -> np.ndarray:
    """(N,) mean square of each whole LEVEL_FRAME_S frame of a (T,) signal (a partial last frame is dropped)."""
    n = max(1, int(round(LEVEL_FRAME_S * fs)))
    frames = len(wav) // n
    if frames == 0:
        return np.mean(np.square(wav), keepdims=True) if len(wav) else np.zeros(0)
    x = np.asarray(wav[: frames * n], dtype=np.float64).reshape(frames, n)
    return np.mean(x * x, axis=1)


def speech_level_db(powers: np.ndarray) -> Optional[float]:
    """Speech level in dBFS (RMS over speech frames) from :func:`frame_powers`; None for silence."""
    powers = np.asarray(powers, dtype=np.float64)
    if powers.size == 0 or not np.any(powers > 0):
        return None
    db = 10.0 * np.log10(np.maximum(powers, 1e-30))
    speech = db >= db.max() - SPEECH_RANGE_DB
    return float(10.0 * np.log10(np.mean(powers[speech])))


class LevelMeter:
    """Speech level of a signal fed in consecutive blocks (long files, bounded memory).

    Keeps one float per 20 ms frame (an hour: 180,000 floats). Blocks may have
    any length; samples that do not fill a frame wait for the next block.
    """

    def __init__(self, fs: int):
        self.fs = fs
        self._frame = max(1, int(round(LEVEL_FRAME_S * fs)))
        self._rest = np.zeros(0)
        self._powers = []

    def add(self, block: np.ndarray) -> None:
        x = np.concatenate([self._rest, np.asarray(block, dtype=np.float64)])
        whole = len(x) // self._frame * self._frame
        if whole:
            self._powers.append(frame_powers(x[:whole], self.fs))
        self._rest = x[whole:]

    def level_db(self) -> Optional[float]:
        powers = list(self._powers)
        if len(self._rest):
            powers.append(np.mean(np.square(self._rest), keepdims=True))
        return speech_level_db(np.concatenate(powers) if powers else np.zeros(0))


def level_gain(input_level_db: Optional[float], output_level_db: Optional[float]) -> float:
    """Linear gain that brings the output's speech level to the input's (1 if either is silent)."""
    if input_level_db is None or output_level_db is None:
        return 1.0
    return float(10.0 ** ((input_level_db - output_level_db) / 20.0))


def limiter_gain(wav: np.ndarray, fs: int, ceiling_dbfs: float = PEAK_CEILING_DBFS) -> np.ndarray:
    """(T,) gain in (0, 1] that keeps every sample of wav at or below the ceiling.

    The gain each sample needs (ceiling / |x|, at most 1) is spread to its
    neighbours by a minimum filter over 2W + 1 samples and smoothed by a
    moving average of the same width (W = LIMITER_WINDOW_S): every value the
    average takes lies under the needed gain of the sample it is centred on,
    so no sample passes the ceiling, and the gain moves over 2W, not at once
    (no click). Samples further than 2W from any peak keep gain 1.
    """
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    magnitude = np.abs(np.asarray(wav, dtype=np.float64))
    needed = np.minimum(1.0, ceiling / np.maximum(magnitude, 1e-300))
    if needed.min() >= 1.0:
        return np.ones_like(needed)
    width = 2 * max(1, int(round(LIMITER_WINDOW_S * fs))) + 1
    smooth = uniform_filter1d(minimum_filter1d(needed, width, mode="nearest"), width, mode="nearest")
    # The average is below `needed` in exact arithmetic; rounding must not undo that.
    return np.minimum(smooth, needed)


def match_level(
    converted: np.ndarray, fs: int, reference: np.ndarray, reference_fs: int
) -> Tuple[np.ndarray, bool]:
    """Converted speech at the reference's speech level, its peaks limited (a whole signal in memory).

    Args:
        converted: (T,) converted signal at fs.
        fs: Its sampling rate.
        reference: (T',) the input it was converted from.
        reference_fs: The input's sampling rate.

    Returns:
        (signal, limited): the (T,) float64 signal with every |sample| at or
        below PEAK_CEILING_DBFS, and whether the limiter lowered any sample.
    """
    gain = level_gain(speech_level_db(frame_powers(reference, reference_fs)),
                      speech_level_db(frame_powers(converted, fs)))
    out = np.asarray(converted, dtype=np.float64) * gain
    limit = limiter_gain(out, fs)
    return out * limit, bool(limit.min() < 1.0)
