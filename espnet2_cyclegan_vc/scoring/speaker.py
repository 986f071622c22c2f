"""Speaker similarity: cosine of speaker embeddings to speaker centroids.

The encoder is Resemblyzer's pretrained GE2E speaker encoder (256-dim
d-vectors; Apache-2.0), whose weights ship inside the pip package, so scoring
runs offline. A converted utterance is compared with the centroid of the
target speaker's training utterances and with that of the source speaker's;
the baseline (the unconverted source) and the ceiling (the target speaker's
own evaluation utterances) are compared the same way.
"""

import logging
from pathlib import Path
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from espnet2_cyclegan_vc.fileio import save_npz_atomic
from espnet2_cyclegan_vc.scoring.matching import ScoringError, preview_ids
from espnet2_cyclegan_vc.world import AudioError, load_wav, prepare_wav

ENCODER_NAME = "resemblyzer VoiceEncoder (GE2E d-vector, 256 dims, weights shipped in the package)"
INSTALL_HINT = (
    "speaker similarity needs the Resemblyzer speaker encoder, which is not installed: "
    "pip install 'resemblyzer==0.1.4' 'setuptools<81' (or pip install 'espnet2-cyclegan-vc[scoring]'), "
    "or run the recipe with --speaker_similarity false"
)
# The encoder's sampling rate; audio is resampled to it by load_wav.
ENCODER_FS = 16000
# After the encoder's own silence trimming, an utterance needs this much
# speech for one embedding window (1.6 s windows are padded, shorter speech
# gives an embedding of mostly padding).
MIN_SPEECH_SECONDS = 0.5
# RMS below this (dB re full scale) is silence, not speech.
SILENCE_DBFS = -60.0


class SkippedUtterance(ValueError):
    """An utterance with no usable speech for a speaker embedding."""


class SpeakerEncoder:
    """Embeds utterances with Resemblyzer's pretrained encoder (imported on first use)."""

    def __init__(self, device: str = "cpu"):
        try:
            from resemblyzer import VoiceEncoder, preprocess_wav
        except ImportError as e:  # resemblyzer itself, or webrtcvad / pkg_resources under it
            raise ScoringError(f"{INSTALL_HINT} ({e})") from e
        self._preprocess = preprocess_wav
        self._encoder = VoiceEncoder(device, verbose=False)

    def embed(self, wav: np.ndarray, name: str = "<array>") -> np.ndarray:
        """(256,) unit-norm embedding of a mono signal at ENCODER_FS.

        Raises:
            SkippedUtterance: the signal is silent, or too short once the
                encoder has trimmed its long silences; names `name`.
        """
        wav = np.asarray(wav, dtype=np.float64)
        rms = float(np.sqrt(np.mean(wav * wav))) if len(wav) else 0.0
        if rms <= 10.0 ** (SILENCE_DBFS / 20.0):
            raise SkippedUtterance(f"{name}: silent (RMS {20 * np.log10(max(rms, 1e-12)):.0f} dBFS)")
        speech = self._preprocess(wav.astype(np.float32), source_sr=ENCODER_FS)
        if len(speech) < MIN_SPEECH_SECONDS * ENCODER_FS:
            raise SkippedUtterance(
                f"{name}: {len(speech) / ENCODER_FS:.2f} s of speech after silence trimming, "
                f"under the {MIN_SPEECH_SECONDS} s a speaker embedding needs"
            )
        emb = np.asarray(self._encoder.embed_utterance(speech), dtype=np.float64)
        return emb / np.linalg.norm(emb)

    def embed_files(self, paths: Iterable[Tuple[str, str]]) -> Tuple[Dict[str, np.ndarray], List[str]]:
        """Embeddings of (id, wav path) pairs; utterances that cannot be embedded
        are logged and skipped. Returns ({id: embedding}, [skipped ids])."""
        return self._embed_all(
            (utt, f"{utt} ({path})", lambda path=path: load_wav(path, ENCODER_FS)) for utt, path in paths
        )

    def embed_wavs(self, wavs: Iterable[Tuple[str, np.ndarray]], fs: int) -> Tuple[Dict[str, np.ndarray], List[str]]:
        """The same as :meth:`embed_files` for (id, mono signal at fs) pairs."""
        return self._embed_all(
            (utt, utt, lambda wav=wav, utt=utt: prepare_wav(wav, fs, ENCODER_FS, name=utt)) for utt, wav in wavs
        )

    def _embed_all(self, items: Iterable[Tuple[str, str, Callable[[], np.ndarray]]]):
        """(id, name for messages, reader of the signal at ENCODER_FS) -> embeddings, skipped ids."""
        embeddings, skipped = {}, []
        for utt, name, read in items:
            try:
                embeddings[utt] = self.embed(read(), name=name)
            except (SkippedUtterance, AudioError) as e:
                logging.warning("Speaker similarity: skipping %s", e)
                skipped.append(utt)
        return embeddings, skipped


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


class SpeakerCentroid(NamedTuple):
    """Unit-norm mean embedding of one speaker's utterances."""

    vector: np.ndarray
    num_utts: int
    skipped: List[str]

    def save(self, path: Union[str, Path]) -> None:
        save_npz_atomic(
            path, centroid=self.vector, num_utts=np.array(self.num_utts),
            skipped=np.array(self.skipped, dtype=str), encoder=np.array(ENCODER_NAME),
        )

    @classmethod
    def load(cls, path: Union[str, Path]) -> "SpeakerCentroid":
        try:
            with np.load(path, allow_pickle=False) as f:
                vector, num_utts, skipped = f["centroid"], int(f["num_utts"]), [str(s) for s in f["skipped"]]
        except (OSError, KeyError, ValueError) as e:
            raise ScoringError(f"{path}: not a speaker centroid file ({e})") from e
        if vector.ndim != 1 or not np.all(np.isfinite(vector)) or num_utts < 1:
            raise ScoringError(f"{path}: not a speaker centroid file (bad centroid)")
        return cls(vector.astype(np.float64), num_utts, skipped)


def speaker_centroid(encoder: SpeakerEncoder, paths: Sequence[Tuple[str, str]], name: str) -> SpeakerCentroid:
    """Centroid of the (id, wav path) utterances of one speaker."""
    embeddings, skipped = encoder.embed_files(paths)
    if not embeddings:
        raise ScoringError(f"{name}: no utterance could be embedded ({len(skipped)} skipped)")
    mean = np.mean(list(embeddings.values()), axis=0)
    return SpeakerCentroid(mean / np.linalg.norm(mean), len(embeddings), skipped)


def similarity_to(embeddings: Dict[str, np.ndarray], target: SpeakerCentroid,
                  source: SpeakerCentroid) -> Dict[str, Tuple[float, float]]:
    """{id: (cosine to the target centroid, cosine to the source centroid)}."""
    return {u: (cosine(e, target.vector), cosine(e, source.vector)) for u, e in embeddings.items()}


def summarize_similarity(pairs: Sequence[Optional[Tuple[float, float]]]) -> Dict[str, Optional[float]]:
    """Means over the embedded utterances (None entries are the skipped ones).

    Returns:
        dict with to_target and to_source (mean cosines), closer_to_target
        (share of utterances nearer the target centroid than the source's),
        count and skipped; the means are None when nothing was embedded.
    """
    done = [p for p in pairs if p is not None]
    if not done:
        return dict(to_target=None, to_source=None, closer_to_target=None, count=0, skipped=len(pairs))
    arr = np.array(done, dtype=np.float64)
    return dict(
        to_target=float(arr[:, 0].mean()),
        to_source=float(arr[:, 1].mean()),
        closer_to_target=float(np.mean(arr[:, 0] > arr[:, 1])),
        count=len(done),
        skipped=len(pairs) - len(done),
    )


def warn_skipped(kind: str, skipped: List[str]) -> None:
    if skipped:
        logging.warning(
            "%d %s utterance(s) have no speaker embedding and are left out of the speaker "
            "similarity: %s", len(skipped), kind, preview_ids(skipped),
        )
