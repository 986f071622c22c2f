"""Reading and writing the recipes' file formats: Kaldi-style scp lists and atomic outputs.

Every file a later stage reads is written under a hidden temporary name in
its own directory and renamed into place (``os.replace`` is atomic on one
file system), so a job killed half-way leaves at most a stray ``.*.tmp`` file,
never a partial output under the final name that a re-run would trust.
"""

import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

PathLike = Union[str, Path]


class ScpError(ValueError):
    """A malformed scp file; the message names the file and line."""


def read_scp(path: PathLike) -> List[Tuple[str, str]]:
    """(key, value) pairs of a Kaldi-style scp ("<key> <value>" lines), in file order.

    Blank lines are ignored; the value is the rest of the line, so it may
    contain spaces.

    Raises:
        FileNotFoundError: no such file.
        ScpError: a line without a value, or a key that appeared before.
    """
    pairs: List[Tuple[str, str]] = []
    seen: Dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.strip().split(maxsplit=1)
            if not parts:
                continue
            if len(parts) != 2:
                raise ScpError(f"{path}:{lineno}: expected '<key> <value>', got {line.rstrip()!r}")
            key, value = parts
            if key in seen:
                raise ScpError(f"{path}:{lineno}: duplicate key {key} (first on line {seen[key]})")
            seen[key] = lineno
            pairs.append((key, value))
    return pairs


def write_scp(path: PathLike, entries: Iterable[Tuple[str, str]]) -> None:
    """Write "<key> <value>" lines atomically, in the order given."""
    write_text_atomic(path, "".join(f"{key} {value}\n" for key, value in entries))


class atomic_output:
    """Context manager yielding a temporary path that replaces ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it
    was. The temporary file lies in ``path``'s directory (created if missing),
    hidden, and keeps ``path``'s suffix, so writers that choose the format by
    extension (soundfile, matplotlib, numpy) still do.
    """

    def __init__(self, path: PathLike):
        self.path = Path(path)
        self.tmp: Optional[str] = None

    def __enter__(self) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(
            prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}", dir=self.path.parent
        )
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            # mkstemp creates 0600 files; outputs should be as readable as any other.
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.unlink(self.tmp)


def write_text_atomic(path: PathLike, text: str) -> None:
    """Write UTF-8 text to ``path`` atomically."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def write_wav_atomic(path: PathLike, samples: np.ndarray, fs: int) -> None:
    """Write a 16-bit PCM wav atomically.

    Float samples are clipped to [-1, 1) first, so a converted waveform that
    overshoots saturates instead of wrapping around; int16 samples are
    written as they are.
    """
    import soundfile

    if np.issubdtype(np.asarray(samples).dtype, np.floating):
        samples = np.clip(samples, -1.0, 1.0 - 2**-15)
    with atomic_output(path) as tmp:
        soundfile.write(tmp, samples, fs, subtype="PCM_16", format="WAV")


def save_npz_atomic(path: PathLike, **arrays: np.ndarray) -> None:
    """``numpy.savez`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        np.savez(tmp, **arrays)
