"""In-memory speech synthesis with the eSpeak NG shared library.

The library comes from the ``espeakng-loader`` wheel, which bundles
``libespeak-ng.so`` and its ``espeak-ng-data`` directory (tested with 0.2.4,
which ships eSpeak NG 1.52.0). The loader only exposes two path helpers,
``get_library_path()`` and ``get_data_path()``; everything else is called here
through :mod:`ctypes`. No espeak binary, subprocess or download is involved.

eSpeak NG keeps all of its state (current voice, parameters, output buffer) in
process-wide globals, so this module initialises the engine once per process
and serialises every synthesis behind one lock.

Example:
    >>> from mini_corpus.espeak import synthesize
    >>> wav, sr = synthesize("Hello world.", voice="en-us+f3", rate=170)
    >>> wav.dtype, sr
    (dtype('int16'), 22050)
"""

import ctypes
import os
import tempfile
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

# Values from speak_lib.h (stable public API of eSpeak NG).
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit()
ESPEAK_CHARS_UTF8 = 1
ESPEAK_ENDPAUSE = 0x1000
POS_CHARACTER = 1
EE_OK = 0
_STATUS_NAMES = {-1: "EE_INTERNAL_ERROR", 1: "EE_BUFFER_FULL", 2: "EE_NOT_FOUND"}

# espeak_PARAMETER enum.
PARAM_RATE = 1  # words per minute, 80..450
PARAM_VOLUME = 2  # 0..200, default 100
PARAM_PITCH = 3  # 0..100, 50 = the voice's own base pitch
PARAM_RANGE = 4  # 0..100, 50 = the voice's own pitch range
PARAM_WORDGAP = 7  # extra pause between words, units of 10 ms

# eSpeak copies the data path into a fixed buffer (N_PATH_HOME, 160 bytes on
# Linux in 1.52); longer paths are silently truncated, so we detour via a link.
_MAX_DATA_PATH = 150

# int SynthCallback(short *wav, int numsamples, espeak_EVENT *events)
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """Raised when the eSpeak NG library cannot be loaded or reports an error."""


class _Engine:
    """Process-wide handle on the initialised eSpeak NG library."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise EspeakError(
                "the 'espeakng-loader' package is required to synthesise the mini corpus: "
                "install the plugin's 'mini' extra (pip install -e '<repository>[mini]')"
            ) from e
        lib_path = espeakng_loader.get_library_path()
        self.data_path = espeakng_loader.get_data_path()
        data_path = _short_data_path(self.data_path)
        try:
            self.lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise EspeakError(f"cannot load eSpeak NG library {lib_path}: {e}") from e
        self._declare_prototypes()

        # Synchronous output: espeak_Synth returns only after every sample has
        # gone through the callback, so no background thread is involved.
        sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), ESPEAK_INITIALIZE_DONT_EXIT
        )
        if sample_rate <= 0:
            raise EspeakError(
                f"espeak_Initialize failed (returned {sample_rate}) with data path {data_path}"
            )
        self.sample_rate = int(sample_rate)
        self._chunks: List[np.ndarray] = []
        # Keep a reference to the ctypes thunk: if it were garbage collected the
        # library would call into freed memory.
        self._callback = _SYNTH_CALLBACK(self._on_samples)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _declare_prototypes(self) -> None:
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.POINTER(ctypes.c_uint),  # unique_identifier
            ctypes.c_void_p,  # user_data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        # Not in every build of the library; used only to make any noise
        # sources reproducible, so its absence is tolerated.
        self.set_rand_seed = getattr(lib, "espeak_ng_SetRandSeed", None)
        if self.set_rand_seed is not None:
            self.set_rand_seed.argtypes = [ctypes.c_long]
            self.set_rand_seed.restype = None

    def _on_samples(self, wav, num_samples, events) -> int:
        # A NULL buffer / zero count marks the end of the utterance.
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0 = keep synthesising

    def _check(self, status: int, what: str) -> None:
        if status != EE_OK:
            name = _STATUS_NAMES.get(status, "unknown")
            raise EspeakError(f"{what} failed with eSpeak status {status} ({name})")

    def _set_voice(self, voice: str) -> None:
        # eSpeak silently falls back to the plain voice when a "+variant" is
        # unknown, which would quietly merge two intended speakers; refuse it.
        if "+" in voice:
            variant = voice.split("+", 1)[1]
            if not os.path.isfile(os.path.join(self.data_path, "voices", "!v", variant)):
                raise EspeakError(f"unknown eSpeak voice variant {variant!r} in {voice!r}")
        self._check(self.lib.espeak_SetVoiceByName(voice.encode()), f"SetVoiceByName({voice!r})")

    def synthesize(
        self,
        text: str,
        voice: str,
        rate: int,
        pitch: int,
        pitch_range: int,
        volume: int,
        word_gap: int,
        rand_seed: int,
    ) -> np.ndarray:
        """Synthesise ``text``; callers must hold the module lock."""
        self._set_voice(voice)
        # Parameters are set after the voice because selecting a voice resets them.
        for param, value in (
            (PARAM_RATE, rate),
            (PARAM_PITCH, pitch),
            (PARAM_RANGE, pitch_range),
            (PARAM_VOLUME, volume),
            (PARAM_WORDGAP, word_gap),
        ):
            status = self.lib.espeak_SetParameter(param, int(value), 0)
            self._check(status, f"SetParameter({param}, {value})")
        if self.set_rand_seed is not None:
            self.set_rand_seed(int(rand_seed))

        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        self._chunks = []
        status = self.lib.espeak_Synth(
            buf, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE, None, None
        )
        self._check(status, "espeak_Synth")
        self._check(self.lib.espeak_Synchronize(), "espeak_Synchronize")
        chunks, self._chunks = self._chunks, []
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(chunks).astype(np.int16, copy=False)


def _short_data_path(data_path: str) -> str:
    """Return ``data_path`` or, if eSpeak would truncate it, a short symlink to it."""
    if len(data_path.encode()) <= _MAX_DATA_PATH:
        return data_path
    link_dir = tempfile.mkdtemp(prefix="espeak-")
    link = os.path.join(link_dir, "espeak-ng-data")
    os.symlink(data_path, link)
    return link


_lock = threading.Lock()
_engine: Optional[_Engine] = None


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    volume: int = 100,
    word_gap: int = 0,
    rand_seed: int = 0,
) -> Tuple[np.ndarray, int]:
    """Synthesise English (or any eSpeak language) text into memory.

    Thread-safe; the engine is initialised on first use and reused afterwards.
    The samples are reproducible only for the same sequence of calls in a
    fresh process (see :func:`synthesize_batch`): the engine keeps oscillator
    and pitch-flutter state across utterances, which changes the output by a
    few samples and its exact values.

    Args:
        text: UTF-8 text to speak (plain text, not SSML).
        voice: eSpeak voice name, optionally with a variant, e.g. ``"en-us+f3"``.
        rate: Speaking rate in words per minute (80-450).
        pitch: Base pitch, 0-100; 50 keeps the voice's own base pitch.
        pitch_range: Intonation range, 0-100; 0 is monotone, 50 the default.
        volume: Amplitude, 0-200; 100 is the default.
        word_gap: Extra pause between words in units of 10 ms.
        rand_seed: Seed for eSpeak's internal random generator, so that
            repeated calls produce identical samples.

    Returns:
        A tuple ``(samples, sample_rate)`` with mono int16 samples.

    Raises:
        EspeakError: If the library is missing or reports an error (e.g. an
            unknown voice name).
    """
    with _lock:
        engine = _get_engine()
        wav = engine.synthesize(text, voice, rate, pitch, pitch_range, volume, word_gap, rand_seed)
        return wav, engine.sample_rate


def synthesize_batch(requests: Sequence[Dict[str, Any]]) -> Tuple[List[np.ndarray], int]:
    """Synthesise several utterances in order, e.g. inside a worker process.

    eSpeak NG carries hidden state from one utterance to the next (pitch
    flutter index, oscillator phase, interpolated harmonic spectra) and its API
    cannot reset it, so the samples of an utterance depend on what the process
    synthesised before. Byte-reproducible output therefore needs a fresh
    process that renders the same requests in the same order; this function is
    the unit of work for such a process and imports nothing heavy.

    Args:
        requests: Keyword arguments of :func:`synthesize`, one dict per
            utterance (``text`` required).

    Returns:
        The int16 sample arrays, in request order, and the sample rate.
    """
    wavs = []
    rate = 0
    for request in requests:
        wav, rate = synthesize(**request)
        wavs.append(wav)
    return wavs, rate
