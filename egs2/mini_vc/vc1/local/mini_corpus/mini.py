"""Generate the embedded "mini" non-parallel voice-conversion corpus.

Two synthetic speakers are rendered with eSpeak NG (see :mod:`.espeak`):

* ``MINIF`` (source): a female voice variant, high pitch, faster speech.
* ``MINIM`` (target): a male voice variant, about an octave lower, slower.

Every utterance gets small random changes of rate, pitch and pitch range drawn
from the seed, so no two utterances share exactly the same prosody, yet the
whole corpus is a pure function of ``(seed, num_train, num_eval)``.

The layout mirrors VCC2016 so that the recipe's data preparation reads it
unchanged::

    outdir/
      vcc2016_training/MINIF/100001.wav .. 1000NN.wav        (NN = num_train)
      vcc2016_training/MINIM/1000NN+1.wav .. 100(2*NN).wav   (disjoint text)
      evaluation_all/MINIF/200001.wav .. 2000EE.wav          (EE = num_eval)
      evaluation_all/MINIM/200001.wav .. 2000EE.wav          (same text per id)
      sentences.txt  README  .complete

As in the VCC2016 non-parallel setting, the source speaker owns the first half
of the training ids and the target speaker the second half, so the training
sentences of the two speakers are disjoint. Evaluation sentences are spoken by
both speakers and appear in no training set.

Usage (from egs2/mini_vc/vc1, as local/data.sh does):
    python3 local/make_mini_corpus.py --outdir DIR [--seed N]
        [--num_train N] [--num_eval N] [--force]

Only numpy is imported at module level: the synthesis worker process (spawned
afresh, see :func:`generate_corpus`) re-imports this module, and scipy alone
would add seconds to its start-up.
"""

import argparse
import dataclasses
import json
import multiprocessing
import shutil
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from espnet2_cyclegan_vc.fileio import write_text_atomic, write_wav_atomic

from . import espeak
from .sentences import generate_sentences

SOURCE_SPEAKER = "MINIF"
TARGET_SPEAKER = "MINIM"
SPEAKERS = (SOURCE_SPEAKER, TARGET_SPEAKER)
SAMPLE_RATE = 16000
TRAIN_DIR = "vcc2016_training"
EVAL_DIR = "evaluation_all"
TRAIN_ID_BASE = 100000
EVAL_ID_BASE = 200000
MARKER = ".complete"
# Bump whenever a change here alters the audio, so stale corpora regenerate.
CORPUS_VERSION = 1

# Utterances per request to the synthesis process; only affects how often
# progress is reported and how much raw audio is in flight, not the audio.
CHUNK_SIZE = 16
PAD_SECONDS = 0.1  # silence kept before and after the speech
SILENCE_DB = -45.0  # frame energy, relative to the loudest frame, deemed silent
PEAK_DBFS = -3.0
# eSpeak emits exact digital zeros in pauses; log-spectral features (and WORLD
# analysis) then sit on their numerical floor. A faint seeded noise floor, as
# in any real recording, avoids that without being audible.
NOISE_FLOOR_DBFS = -80.0


@dataclasses.dataclass(frozen=True)
class VoiceConfig:
    """How one synthetic speaker is rendered by eSpeak NG.

    Attributes:
        voice: eSpeak voice and variant; the variant sets formant scaling,
            base pitch and voice quality.
        rate: Mean speaking rate in words per minute.
        pitch: Mean eSpeak pitch parameter (0-100, 50 = variant default).
        pitch_range: Mean intonation range parameter (0-100).
        rate_jitter: Relative half-width of the per-utterance rate change.
        pitch_jitter: Half-width of the per-utterance pitch change.
        range_jitter: Half-width of the per-utterance range change.
    """

    voice: str
    rate: int
    pitch: int
    pitch_range: int
    rate_jitter: float = 0.06
    pitch_jitter: int = 4
    range_jitter: int = 8


# Variant f3 scales formants F1-F2 up by 20-35 % and speaks at ~220 Hz; m3
# scales them down by 4 % at ~100 Hz, so the pair differs in F0 (~2x),
# spectral envelope and, via the rates, in timing.
VOICES: Dict[str, VoiceConfig] = {
    SOURCE_SPEAKER: VoiceConfig(voice="en-us+f3", rate=175, pitch=56, pitch_range=60),
    TARGET_SPEAKER: VoiceConfig(voice="en-us+m3", rate=145, pitch=42, pitch_range=45),
}


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One wav file to synthesise."""

    speaker: str
    utt_id: str
    subset: str  # "train" or "eval"
    text: str
    relpath: str  # relative to the corpus root


def plan_corpus(seed: int, num_train: int, num_eval: int) -> List[Utterance]:
    """List every utterance of the corpus, without synthesising anything.

    Args:
        seed: Corpus seed; selects the sentences.
        num_train: Training utterances per speaker (disjoint between speakers).
        num_eval: Evaluation utterances, spoken by both speakers.

    Returns:
        Utterances ordered by subset, speaker and id.
    """
    if num_train < 1 or num_eval < 1:
        raise ValueError("num_train and num_eval must be positive")
    if num_train > 49999 or num_eval > 99999:
        raise ValueError("too many utterances for the VCC2016-style id ranges")
    texts = generate_sentences(2 * num_train + num_eval, seed=seed)
    utts = []
    # Source takes ids 1..N, target N+1..2N, like VCC2016's non-parallel split.
    for k, text in enumerate(texts[: 2 * num_train]):
        speaker = SOURCE_SPEAKER if k < num_train else TARGET_SPEAKER
        utt_id = str(TRAIN_ID_BASE + k + 1)
        relpath = f"{TRAIN_DIR}/{speaker}/{utt_id}.wav"
        utts.append(Utterance(speaker, utt_id, "train", text, relpath))
    for speaker in SPEAKERS:
        for k, text in enumerate(texts[2 * num_train :]):
            utt_id = str(EVAL_ID_BASE + k + 1)
            relpath = f"{EVAL_DIR}/{speaker}/{utt_id}.wav"
            utts.append(Utterance(speaker, utt_id, "eval", text, relpath))
    return utts


def utterance_rng(seed: int, utt: Utterance, stream: int) -> np.random.Generator:
    """Random generator private to one utterance and purpose (``stream``).

    Keyed on (seed, speaker, id, stream) so that an utterance's random choices
    do not depend on which other utterances are generated.
    """
    return np.random.default_rng([seed, SPEAKERS.index(utt.speaker), int(utt.utt_id), stream])


def utterance_prosody(seed: int, utt: Utterance) -> Dict[str, int]:
    """Draw the eSpeak voice parameters of one utterance."""
    config = VOICES[utt.speaker]
    rng = utterance_rng(seed, utt, stream=0)
    rate = config.rate * (1.0 + rng.uniform(-config.rate_jitter, config.rate_jitter))
    pitch = config.pitch + rng.integers(-config.pitch_jitter, config.pitch_jitter + 1)
    pitch_range = config.pitch_range + rng.integers(-config.range_jitter, config.range_jitter + 1)
    return {
        "voice": config.voice,
        "rate": int(round(rate)),
        "pitch": int(np.clip(pitch, 0, 100)),
        "pitch_range": int(np.clip(pitch_range, 0, 100)),
        "rand_seed": int(rng.integers(1, 2**31 - 1)),
    }


def trim_silence(x: np.ndarray, sr: int, pad: float = PAD_SECONDS) -> np.ndarray:
    """Cut leading/trailing silence, keeping ``pad`` seconds on each side.

    Silence is judged on 10 ms frames relative to the loudest frame, so the
    threshold does not depend on the absolute level. The kept margin is the
    original signal (no click at the cut); zeros are added only where the
    signal has less than ``pad`` seconds before or after the speech.
    """
    hop = sr // 100
    n_frames = len(x) // hop
    if n_frames == 0:
        return x
    frames = x[: n_frames * hop].reshape(n_frames, hop)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-20)
    active = np.flatnonzero(energy_db > energy_db.max() + SILENCE_DB)
    n_pad = int(round(pad * sr))
    start = active[0] * hop - n_pad
    end = min((active[-1] + 1) * hop, len(x)) + n_pad
    kept = x[max(start, 0) : min(end, len(x))]
    return np.pad(kept, (max(-start, 0), max(end - len(x), 0)))


def peak_normalize(x: np.ndarray, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Scale ``x`` so its absolute peak sits at ``peak_dbfs``."""
    peak = np.max(np.abs(x))
    if peak == 0:
        return x
    return x * (10 ** (peak_dbfs / 20) / peak)


def postprocess(samples: np.ndarray, sr_in: int, rng: np.random.Generator) -> np.ndarray:
    """Turn raw eSpeak int16 output into the corpus format (16 kHz int16).

    Resamples to 16 kHz, trims the silences, normalises the peak and adds the
    noise floor drawn from ``rng``.
    """
    from scipy.signal import resample_poly

    x = samples.astype(np.float64) / 32768.0
    g = np.gcd(SAMPLE_RATE, sr_in)
    x = resample_poly(x, SAMPLE_RATE // g, sr_in // g)
    x = peak_normalize(trim_silence(x, SAMPLE_RATE))
    x = x + rng.normal(0.0, 10 ** (NOISE_FLOOR_DBFS / 20), len(x))
    return np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)


def _synthesis_requests(seed: int, utts: Sequence[Utterance]) -> List[dict]:
    return [{"text": utt.text, **utterance_prosody(seed, utt)} for utt in utts]


def _chunks(utts: Sequence[Utterance]) -> List[Sequence[Utterance]]:
    return [utts[i : i + CHUNK_SIZE] for i in range(0, len(utts), CHUNK_SIZE)]


def _params(seed: int, num_train: int, num_eval: int) -> Dict[str, int]:
    return {
        "corpus_version": CORPUS_VERSION,
        "seed": seed,
        "num_train": num_train,
        "num_eval": num_eval,
        "sample_rate": SAMPLE_RATE,
    }


def read_marker(outdir: Union[str, Path]) -> Optional[dict]:
    """Content of the completion marker, or None if absent or unreadable."""
    try:
        return json.loads((Path(outdir) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_complete(outdir: Union[str, Path], seed: int, num_train: int, num_eval: int) -> bool:
    """Whether ``outdir`` holds a finished corpus made with these parameters."""
    marker = read_marker(outdir)
    return marker is not None and marker.get("params") == _params(seed, num_train, num_eval)


def _espeak_version() -> str:
    try:
        from importlib.metadata import version

        return f"espeakng-loader {version('espeakng-loader')}"
    except Exception:  # informational only
        return "espeakng-loader (version unknown)"


def _write_sentences(outdir: Path, utts: Sequence[Utterance]) -> None:
    speakers_of: Dict[str, List[str]] = {}
    text_of: Dict[str, str] = {}
    for utt in utts:
        speakers_of.setdefault(utt.utt_id, []).append(utt.speaker)
        text_of[utt.utt_id] = utt.text
    lines = ["utt_id\tspeakers\ttext"]
    lines += [f"{i}\t{','.join(speakers_of[i])}\t{text_of[i]}" for i in sorted(text_of)]
    (outdir / "sentences.txt").write_text("\n".join(lines) + "\n")


def _write_readme(outdir: Path, seed: int, num_train: int, num_eval: int) -> None:
    src, tgt = VOICES[SOURCE_SPEAKER], VOICES[TARGET_SPEAKER]
    first_tgt = TRAIN_ID_BASE + num_train + 1

    def describe(v: VoiceConfig) -> str:
        return f"eSpeak voice {v.voice}, ~{v.rate} wpm, pitch {v.pitch}, range {v.pitch_range}"

    text = f"""Mini non-parallel voice-conversion corpus (synthetic)
=====================================================

Generated locally by egs2/mini_vc/vc1/local/make_mini_corpus.py (corpus version
{CORPUS_VERSION}) with the eSpeak NG formant synthesiser ({_espeak_version()}).
No audio or text was downloaded: sentences come from a small template grammar
(local/mini_corpus/sentences.py) and are spoken by two synthetic voices.

  seed={seed}  num_train={num_train} per speaker  num_eval={num_eval}

Speakers
  {SOURCE_SPEAKER} (source): {describe(src)}
  {TARGET_SPEAKER} (target): {describe(tgt)}
  Each utterance varies rate (+-{src.rate_jitter:.0%}), pitch (+-{src.pitch_jitter}) and
  range (+-{src.range_jitter}) at random; the corpus is deterministic for a given seed.

Layout (mirrors VCC2016)
  {TRAIN_DIR}/{SOURCE_SPEAKER}/{TRAIN_ID_BASE + 1}..{first_tgt - 1}.wav  source training set
  {TRAIN_DIR}/{TARGET_SPEAKER}/{first_tgt}..{TRAIN_ID_BASE + 2 * num_train}.wav  target training set
      (different sentences from the source: non-parallel)
  {EVAL_DIR}/<SPK>/{EVAL_ID_BASE + 1}..{EVAL_ID_BASE + num_eval}.wav  evaluation set, same sentence
      per id for both speakers, unseen in training (parallel)
  sentences.txt  utt_id, speakers, text (tab separated)

Audio: 16 kHz mono 16-bit PCM, ~{int(PAD_SECONDS * 1000)} ms silence each side,
peak {PEAK_DBFS:g} dBFS, Gaussian noise floor at {NOISE_FLOOR_DBFS:g} dBFS
(no digital silence).

This is a smoke-test corpus for pipelines and CI, not a benchmark: converted
speech quality on it says little about real speakers.
"""
    (outdir / "README").write_text(text)


def _clear_outputs(outdir: Path) -> None:
    """Remove what a previous (possibly partial) run wrote, and nothing else."""
    (outdir / MARKER).unlink(missing_ok=True)
    for name in (TRAIN_DIR, EVAL_DIR):
        shutil.rmtree(outdir / name, ignore_errors=True)
    for name in ("sentences.txt", "README"):
        (outdir / name).unlink(missing_ok=True)


def generate_corpus(
    outdir: Union[str, Path],
    seed: int = 0,
    num_train: int = 40,
    num_eval: int = 8,
    force: bool = False,
    verbose: bool = True,
) -> dict:
    """Synthesise the mini corpus into ``outdir`` (idempotent).

    If ``outdir/.complete`` records the same parameters, nothing is done.
    Otherwise earlier outputs are removed and everything is regenerated; the
    marker is written last, so an interrupted run is redone next time.

    Args:
        outdir: Corpus root directory (created if needed).
        seed: Selects sentences and per-utterance prosody.
        num_train: Training utterances per speaker.
        num_eval: Parallel evaluation utterances (per speaker).
        force: Regenerate even if a matching corpus exists.
        verbose: Print progress and a summary.

    Returns:
        The marker content (parameters, per-speaker counts and durations) plus
        ``"skipped"`` (True if an existing corpus was reused) and, after a
        generation, ``"generation_seconds"``.

    Note:
        Synthesis runs in a process started with the "spawn" method, so a
        script calling this function must do so under
        ``if __name__ == "__main__":`` (the CLI and pytest already do).
    """
    outdir = Path(outdir)
    log = print if verbose else (lambda *a, **k: None)
    if not force and is_complete(outdir, seed, num_train, num_eval):
        log(f"Mini corpus already complete in {outdir} (seed={seed}); skipping.")
        return {**read_marker(outdir), "skipped": True}

    start = time.time()
    utts = plan_corpus(seed, num_train, num_eval)
    outdir.mkdir(parents=True, exist_ok=True)
    _clear_outputs(outdir)
    log(f"Synthesising {len(utts)} utterances into {outdir} ...")

    samples: Dict[str, Dict[str, int]] = {s: {"train": 0, "eval": 0} for s in SPEAKERS}
    counts: Dict[str, Dict[str, int]] = {s: {"train": 0, "eval": 0} for s in SPEAKERS}
    chunks = _chunks(utts)
    # eSpeak's output depends on everything the process synthesised before
    # (see espeak.synthesize_batch), so all utterances are rendered in plan
    # order by ONE freshly spawned process: never this one, whose engine may
    # already be in use, and never a fork, which would inherit that state.
    # Its single worker takes the requests in submission order, and the
    # synthesis overlaps with the post-processing done here.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        requests = [_synthesis_requests(seed, chunk) for chunk in chunks]
        results = pool.imap(espeak.synthesize_batch, requests, chunksize=1)
        done = 0
        for chunk, (raws, sr) in zip(chunks, results):
            for utt, raw in zip(chunk, raws):
                if len(raw) == 0:
                    raise RuntimeError(f"eSpeak produced no audio for {utt.relpath}: {utt.text!r}")
                wav = postprocess(raw, sr, utterance_rng(seed, utt, stream=1))
                write_wav_atomic(outdir / utt.relpath, wav, SAMPLE_RATE)
                samples[utt.speaker][utt.subset] += len(wav)
                counts[utt.speaker][utt.subset] += 1
            done += len(chunk)
            log(f"  {done}/{len(utts)} utterances")

    _write_sentences(outdir, utts)
    _write_readme(outdir, seed, num_train, num_eval)
    summary = {
        "params": _params(seed, num_train, num_eval),
        "speakers": {
            s: {
                "voice": dataclasses.asdict(VOICES[s]),
                "num_train": counts[s]["train"],
                "num_eval": counts[s]["eval"],
                "train_seconds": round(samples[s]["train"] / SAMPLE_RATE, 3),
                "eval_seconds": round(samples[s]["eval"] / SAMPLE_RATE, 3),
            }
            for s in SPEAKERS
        },
        "engine": _espeak_version(),
    }
    # Written last: its presence certifies that every file above is complete.
    # No timings in it, so two runs with one seed give byte-identical trees.
    write_text_atomic(outdir / MARKER, json.dumps(summary, indent=2) + "\n")

    for s, info in summary["speakers"].items():
        log(
            f"  {s}: {info['num_train']} train ({info['train_seconds']:.1f} s), "
            f"{info['num_eval']} eval ({info['eval_seconds']:.1f} s)"
        )
    elapsed = round(time.time() - start, 2)
    log(f"Done in {elapsed:.1f} s.")
    return {**summary, "skipped": False, "generation_seconds": elapsed}


def get_parser() -> argparse.ArgumentParser:
    """Command-line interface of the generator."""
    parser = argparse.ArgumentParser(
        description="Generate the synthetic mini VC corpus (VCC2016 layout) with eSpeak NG."
    )
    parser.add_argument("--outdir", required=True, help="corpus root directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_train", type=int, default=40, help="training utterances per speaker")
    parser.add_argument("--num_eval", type=int, default=8, help="parallel evaluation utterances")
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    generate_corpus(
        args.outdir,
        seed=args.seed,
        num_train=args.num_train,
        num_eval=args.num_eval,
        force=args.force,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
