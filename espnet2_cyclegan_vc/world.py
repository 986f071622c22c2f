"""WORLD analysis and synthesis shared by feature extraction, inference and scoring.

Every stage that touches WORLD goes through :class:`WorldConfig` and the
functions here, so the frame period, FFT size, MCEP order and F0 range can never
differ between the features a model was trained on, the features it converts
and the features it is scored on.
"""

import argparse
import dataclasses
import math
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pyworld
import soundfile
import yaml
from scipy.signal import resample_poly


class AudioError(ValueError):
    """An audio file that cannot be turned into WORLD features."""


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    """Settings of WORLD analysis (defaults are those of CycleGAN-VC).

    Attributes:
        fs: Sampling rate in Hz that audio is resampled to before analysis.
        frame_period: Frame shift in milliseconds.
        fft_size: FFT size of CheapTrick/D4C; None takes WORLD's default for fs
            (1024 at 16 kHz).
        mcep_dim: Number of mel-cepstral coefficients (c0 included).
        f0_floor: Lowest F0 searched, in Hz.
        f0_ceil: Highest F0 searched, in Hz.
        f0_method: "harvest" (the paper's) or "dio" (dio + stonemask, faster).
    """

    fs: int = 16000
    frame_period: float = 5.0
    fft_size: Optional[int] = None
    mcep_dim: int = 24
    f0_floor: float = 71.0
    f0_ceil: float = 800.0
    f0_method: str = "harvest"

    def __post_init__(self):
        if self.f0_method not in ("harvest", "dio"):
            raise ValueError(
                f"world_conf f0_method must be 'harvest' or 'dio', got {self.f0_method!r}"
            )
        if not 0 < self.f0_floor < self.f0_ceil:
            raise ValueError(
                f"world_conf needs 0 < f0_floor < f0_ceil, got {self.f0_floor}, {self.f0_ceil}"
            )
        if self.mcep_dim < 2:
            raise ValueError(f"world_conf mcep_dim must be >= 2, got {self.mcep_dim}")

    @classmethod
    def from_dict(cls, conf: Optional[Dict[str, Any]]) -> "WorldConfig":
        """Build from a (YAML) dict, naming any key that is not a setting."""
        conf = dict(conf or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(conf) - known)
        if unknown:
            raise ValueError(
                f"Unknown world_conf keys {unknown}; known keys are {sorted(known)}"
            )
        return cls(**conf)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def resolved_fft_size(self) -> int:
        if self.fft_size is not None:
            return int(self.fft_size)
        return int(pyworld.get_cheaptrick_fft_size(self.fs, self.f0_floor))

    def num_frames(self, num_samples: int) -> int:
        """Number of WORLD frames for a signal of num_samples at fs."""
        return int(1000.0 * num_samples / self.fs / self.frame_period) + 1


def world_conf_arg(value: Optional[str]) -> WorldConfig:
    """argparse type of --world_conf: a YAML/JSON mapping, inline or as a file path."""
    if value is None or value.strip() == "":
        return WorldConfig()
    text = value
    if os.path.isfile(value):
        with open(value, encoding="utf-8") as f:
            text = f.read()
    try:
        conf = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise argparse.ArgumentTypeError(f"--world_conf is not valid YAML/JSON: {e}")
    if conf is not None and not isinstance(conf, dict):
        raise argparse.ArgumentTypeError(
            f"--world_conf must be a mapping such as '{{\"f0_method\": \"harvest\"}}', got {value!r}"
        )
    try:
        return WorldConfig.from_dict(conf)
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e))


@dataclasses.dataclass
class WorldFeatures:
    """WORLD parameters of one utterance, all with T frames.

    Attributes:
        f0: (T,) F0 in Hz, 0 on unvoiced frames.
        mcep: (T, mcep_dim) mel-cepstrum coded from the spectral envelope.
        ap: (T, fft_size // 2 + 1) aperiodicity.
        sp: (T, fft_size // 2 + 1) spectral envelope the mcep codes, kept only
            when asked for (analyze's keep_envelope), else None.
    """

    f0: np.ndarray
    mcep: np.ndarray
    ap: np.ndarray
    sp: Optional[np.ndarray] = None

    @property
    def num_frames(self) -> int:
        return len(self.f0)

    def coded_ap(self, config: WorldConfig) -> np.ndarray:
        """Band aperiodicity (T, n_bands), a compact form for storage."""
        return pyworld.code_aperiodicity(np.ascontiguousarray(self.ap), config.fs)


def load_wav(path: str, fs: int) -> np.ndarray:
    """Read a sound file as mono float64 at fs, resampling and down-mixing.

    Raises:
        AudioError: the file cannot be read, is empty, or contains non-finite
            samples; the message names the file.
    """
    try:
        wav, file_fs = soundfile.read(path, dtype="float64", always_2d=True)
    except Exception as e:  # soundfile raises several types for bad files
        raise AudioError(f"{path}: cannot read audio ({e})") from e
    return prepare_wav(wav, file_fs, fs, name=path)


def to_mono(wav: np.ndarray, name: str = "<array>") -> np.ndarray:
    """(T,) float64 from (T,) or (T, C) audio, channels averaged."""
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim == 2:
        wav = wav.mean(axis=1)
    if wav.ndim != 1:
        raise AudioError(f"{name}: expected 1-D or 2-D audio, got shape {wav.shape}")
    return wav


def prepare_wav(wav: np.ndarray, file_fs: int, fs: int, name: str = "<array>") -> np.ndarray:
    """Down-mix (T, C) or (T,) audio to mono and resample it from file_fs to fs."""
    wav = to_mono(wav, name)
    if len(wav) == 0:
        raise AudioError(f"{name}: audio has no samples")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{name}: audio contains NaN or inf samples")
    if file_fs != fs:
        g = math.gcd(int(file_fs), int(fs))
        wav = resample_poly(wav, fs // g, file_fs // g)
    return np.ascontiguousarray(wav)


def analyze_envelope(wav: np.ndarray, config: WorldConfig, name: str = "<array>") -> Tuple[np.ndarray, np.ndarray]:
    """F0 and CheapTrick spectral envelope of a mono float64 signal at config.fs.

    Returns:
        (f0, sp): (T,) F0 in Hz (0 unvoiced) and (T, fft_size // 2 + 1) power
        spectral envelope.

    Raises:
        AudioError: the signal is too short for one frame, is digital silence,
            or the analysis produced non-finite values; names `name`.
    """
    f0, _, sp = _f0_and_envelope(np.ascontiguousarray(wav, dtype=np.float64), config, name)
    return f0, sp


def estimate_f0(wav: np.ndarray, config: WorldConfig) -> Tuple[np.ndarray, np.ndarray]:
    """(f0, frame times) of a contiguous float64 signal by config.f0_method,
    before refine_f0 (dio's estimate is refined by StoneMask; harvest's is final)."""
    method = pyworld.harvest if config.f0_method == "harvest" else pyworld.dio
    return method(wav, config.fs, f0_floor=config.f0_floor, f0_ceil=config.f0_ceil,
                  frame_period=config.frame_period)


def refine_f0(wav: np.ndarray, f0: np.ndarray, t: np.ndarray, config: WorldConfig) -> np.ndarray:
    """StoneMask refinement of dio's F0 at times t (any subset of frames); harvest's F0 as it is."""
    return pyworld.stonemask(wav, f0, t, config.fs) if config.f0_method == "dio" else f0


def _f0_and_envelope(wav: np.ndarray, config: WorldConfig, name: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f0, frame times, sp) of analyze_envelope; d4c needs the times."""
    if len(wav) < config.resolved_fft_size // 4:
        raise AudioError(
            f"{name}: {len(wav)} samples is too short for WORLD analysis at "
            f"{config.fs} Hz"
        )
    if not np.any(wav):
        raise AudioError(f"{name}: audio is all zeros (digital silence)")
    f0, t = estimate_f0(wav, config)
    f0 = refine_f0(wav, f0, t, config)
    sp = pyworld.cheaptrick(wav, f0, t, config.fs, f0_floor=config.f0_floor, fft_size=config.resolved_fft_size)
    for key, value in (("f0", f0), ("sp", sp)):
        if not np.all(np.isfinite(value)):
            raise AudioError(f"{name}: WORLD analysis gave non-finite {key}")
    return f0, t, sp


def analyze(
    wav: np.ndarray, config: WorldConfig, name: str = "<array>", keep_envelope: bool = False
) -> WorldFeatures:
    """WORLD analysis of a mono float64 signal sampled at config.fs.

    keep_envelope keeps the uncoded spectral envelope in the result (scoring
    reads it; it is 20 times the size of the mcep).

    Raises:
        AudioError: the signal is too short for one frame, or the analysis
            produced non-finite values (e.g. digital silence); names `name`.
    """
    wav = np.ascontiguousarray(wav, dtype=np.float64)
    f0, t, sp = _f0_and_envelope(wav, config, name)
    ap = pyworld.d4c(wav, f0, t, config.fs, fft_size=config.resolved_fft_size)
    mcep = pyworld.code_spectral_envelope(sp, config.fs, config.mcep_dim)
    feats = WorldFeatures(f0=f0, mcep=mcep, ap=ap, sp=sp if keep_envelope else None)
    for key in ("mcep", "ap"):
        if not np.all(np.isfinite(getattr(feats, key))):
            raise AudioError(f"{name}: WORLD analysis gave non-finite {key}")
    return feats


def decode_ap(coded_ap: np.ndarray, config: WorldConfig) -> np.ndarray:
    """Inverse of WorldFeatures.coded_ap."""
    return pyworld.decode_aperiodicity(
        np.ascontiguousarray(coded_ap, dtype=np.float64), config.fs, config.resolved_fft_size
    )


def mcep_to_sp(mcep: np.ndarray, config: WorldConfig) -> np.ndarray:
    """Spectral envelope (T, fft_size // 2 + 1) from mel-cepstra."""
    return pyworld.decode_spectral_envelope(
        np.ascontiguousarray(mcep, dtype=np.float64), config.fs, config.resolved_fft_size
    )


def synthesize(f0: np.ndarray, mcep: np.ndarray, ap: np.ndarray, config: WorldConfig) -> np.ndarray:
    """WORLD synthesis from F0 (T,), mel-cepstra (T, D) and aperiodicity (T, F)."""
    if not (len(f0) == len(mcep) == len(ap)):
        raise ValueError(
            f"synthesize: frame counts differ (f0 {len(f0)}, mcep {len(mcep)}, ap {len(ap)})"
        )
    sp = mcep_to_sp(mcep, config)
    wav = pyworld.synthesize(
        np.ascontiguousarray(f0, dtype=np.float64), sp,
        np.ascontiguousarray(ap, dtype=np.float64), config.fs, config.frame_period,
    )
    return wav
