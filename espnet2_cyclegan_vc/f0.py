"""Per-speaker log-F0 statistics and the log-Gaussian normalised F0 transform.

Statistics are stored in ESPnet's stats npz layout (count, sum, sum_square; see
espnet2/bin/aggregate_stats_dirs.py), accumulated over voiced frames only.
"""

import dataclasses
from pathlib import Path
from typing import Iterable, Union

import numpy as np

from espnet2_cyclegan_vc.fileio import save_npz_atomic

# Below this standard deviation of log F0 (natural log) a speaker's F0 is
# constant, and the log-Gaussian transform would divide by (almost) zero.
MIN_LOGF0_STD = 1e-6


@dataclasses.dataclass(frozen=True)
class LogF0Stats:
    """Mean and standard deviation of natural-log F0 over voiced frames."""

    mean: float
    std: float

    @classmethod
    def from_f0(cls, f0_list: Iterable[np.ndarray], name: str = "speaker") -> "LogF0Stats":
        return cls.from_npz_arrays(accumulate_logf0(f0_list), name)

    @classmethod
    def from_npz_arrays(cls, arrays, name: str) -> "LogF0Stats":
        count = float(np.asarray(arrays["count"]).reshape(-1)[0])
        if count < 2:
            raise ValueError(
                f"{name}: log-F0 statistics need voiced frames, found {int(count)}; "
                "check that the speaker's training audio contains speech"
            )
        total = float(np.asarray(arrays["sum"]).reshape(-1)[0])
        total_sq = float(np.asarray(arrays["sum_square"]).reshape(-1)[0])
        mean = total / count
        var = max(total_sq / count - mean * mean, 0.0)
        std = float(np.sqrt(var))
        # A (numerically) constant F0 has no spread to map onto another speaker.
        if not (np.isfinite(mean) and np.isfinite(std)) or std <= MIN_LOGF0_STD:
            raise ValueError(f"{name}: invalid log-F0 statistics (mean {mean}, std {std})")
        return cls(mean=mean, std=std)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "LogF0Stats":
        with np.load(path) as arrays:
            return cls.from_npz_arrays(arrays, str(path))


def accumulate_logf0(f0_list: Iterable[np.ndarray]) -> dict:
    """ESPnet-style accumulators (count, sum, sum_square) of log F0 on voiced frames."""
    count, total, total_sq = 0, 0.0, 0.0
    for f0 in f0_list:
        f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
        voiced = f0[f0 > 0]
        if len(voiced) == 0:
            continue
        lf0 = np.log(voiced)
        count += len(lf0)
        total += float(lf0.sum())
        total_sq += float((lf0 * lf0).sum())
    return {
        "count": np.array([count], dtype=np.int64),
        "sum": np.array([total]),
        "sum_square": np.array([total_sq]),
    }


def save_logf0_stats(arrays: dict, path: Union[str, Path]) -> None:
    """Write accumulators via a temporary file, so a killed job leaves no stats."""
    save_npz_atomic(path, **arrays)


def convert_f0(f0: np.ndarray, src: LogF0Stats, trg: LogF0Stats) -> np.ndarray:
    """Log-Gaussian normalised transform of voiced frames; unvoiced stay 0.

    log f0_conv = (log f0_src - mu_src) / sigma_src * sigma_trg + mu_trg
    """
    f0 = np.asarray(f0, dtype=np.float64)
    out = np.zeros_like(f0)
    voiced = f0 > 0
    out[voiced] = np.exp((np.log(f0[voiced]) - src.mean) / src.std * trg.std + trg.mean)
    return out
