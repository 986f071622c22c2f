"""Objective scoring of converted speech: MCD, log-F0 RMSE and F0 correlation.

Published MCD values differ by toolkit, so every setting used here is fixed and
stated (and copied into the recipe's ``summary.json`` by :func:`settings_dict`):

Features
    Every waveform (reference and converted alike) goes through
    :func:`espnet2_cyclegan_vc.world.load_wav` and
    :func:`espnet2_cyclegan_vc.world.analyze` with the same
    :class:`~espnet2_cyclegan_vc.world.WorldConfig` as training and inference:
    resampled to ``fs``, F0 by ``f0_method`` (harvest by default, 71-800 Hz),
    CheapTrick spectral envelope at ``fft_size``, ``frame_period`` ms frames.
    Mel-cepstra are WORLD's own coding, ``pyworld.code_spectral_envelope`` at
    ``mcep_dim`` coefficients (24 including c0 by default). There is no SPTK
    mcep and no all-pass constant alpha to choose: WORLD's coding fixes its own
    mel warping.

Alignment
    One DTW path per pair, computed on c1..c_{mcep_dim-1} (c0, the frame
    energy, is left out so loudness differences do not steer the alignment),
    Euclidean frame distance, unweighted steps (i-1, j), (i, j-1),
    (i-1, j-1), from the first to the last frame of both sequences (no
    trimming of silence, no slope constraint or band). The same path is reused
    for F0.

MCD
    ``10 / ln(10) * sqrt(2 * sum_{d=1}^{D-1} (c_d - c'_d)^2)`` dB per aligned
    frame pair, c0 excluded (23 coefficients at the default mcep_dim 24),
    averaged over all pairs of the path (all frames, voiced or not; a frame
    that the path repeats counts once per repetition).

Speech-frame MCD
    The same per-pair MCD averaged only over the path pairs whose reference
    frame is speech: its power (sum of the WORLD spectral envelope decoded
    from the mel-cepstrum, in dB) is at most ``SPEECH_THRESHOLD_DB`` (40 dB)
    below the loudest frame of that reference utterance. Pauses, leading and
    trailing silence are left out. It is a second figure, reported beside the
    all-frames MCD, never instead of it.

F0
    log-F0 RMSE: root mean square of ``ln f0_ref - ln f0_conv`` (natural log
    of Hz; multiply by 1200 / ln 2 for cents) over the path pairs whose frames
    are voiced (F0 > 0) in both. F0 correlation: Pearson correlation of
    ln F0 over the same pairs (log F0 so that it is unchanged by the
    log-Gaussian F0 transform, which is linear in log F0). Both are None when
    no pair is voiced in both (correlation also when fewer than two pairs or a
    constant contour), never NaN.
"""

import dataclasses
import logging
import math
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.spatial.distance import cdist

from espnet2_cyclegan_vc.world import WorldConfig, analyze, load_wav, mcep_to_sp

# 10 / ln(10) * sqrt(2): converts a Euclidean cepstral distance to MCD in dB.
_MCD_CONST = 10.0 / math.log(10.0) * math.sqrt(2.0)

# Metrics written per utterance, in this order (each with _converted/_baseline).
METRICS = ("mcd", "mcd_speech", "logf0_rmse", "f0corr")

# A reference frame is speech when its power is within this many dB of the
# loudest frame of its utterance (VCC2016 pauses sit 45-70 dB below it).
SPEECH_THRESHOLD_DB = 40.0


class ScoringError(ValueError):
    """Inputs that cannot be scored (e.g. no utterance in common)."""


class ScoringFeatures(NamedTuple):
    """The part of WORLD's analysis that scoring needs.

    Attributes:
        f0: (T,) F0 in Hz, 0 on unvoiced frames.
        mcep: (T, mcep_dim) WORLD-coded mel-cepstrum, c0 included.
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


# ---------------------------------------------------------------------------
# Core metrics
# ---------------------------------------------------------------------------


def dtw_path(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Dynamic time warping alignment of two feature sequences.

    Euclidean frame distance, steps (i-1, j), (i, j-1), (i-1, j-1) with unit
    weights, path from (0, 0) to (T1-1, T2-1).

    Args:
        x: (T1, D) first sequence.
        y: (T2, D) second sequence.

    Returns:
        (ix, iy): two (N,) int arrays, max(T1, T2) <= N <= T1 + T2 - 1, non
        decreasing, each step advancing at least one of them by exactly one;
        frame ix[k] of x is aligned with frame iy[k] of y.
    """
    x = _as_2d(x, "x")
    y = _as_2d(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"dtw_path: feature dims differ ({x.shape[1]} vs {y.shape[1]})")
    # cdist computes exact differences (no |x|^2 + |y|^2 - 2xy cancellation),
    # so identical frames cost exactly 0.
    acc = cdist(x, y, metric="euclidean")
    _accumulate_inplace(acc)
    return _backtrack(acc)


def _as_2d(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be (T, D) with T >= 1, got shape {a.shape}")
    return a


def _accumulate_inplace(acc: np.ndarray) -> None:
    """Turn a (T1, T2) cost matrix into the DTW accumulated cost, in place.

    Within a row the recurrence D[j] = c[j] + min(a[j], D[j-1]), with
    a[j] = min(D_prev[j], D_prev[j-1]), unrolls to
    D[j] = C[j] + min_{k<=j}(a[k] - C[k-1]) where C is the running sum of c,
    so each row is two cumulative numpy operations instead of a python loop
    over columns (costs are >= 0, so no negative cycles break this).
    """
    np.cumsum(acc[0], out=acc[0])
    for i in range(1, acc.shape[0]):
        prev = acc[i - 1]
        a = prev.copy()
        np.minimum(a[1:], prev[:-1], out=a[1:])
        csum = np.cumsum(acc[i])
        shifted = np.empty_like(csum)
        shifted[0] = 0.0
        shifted[1:] = csum[:-1]
        acc[i] = csum + np.minimum.accumulate(a - shifted)


def _backtrack(acc: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Optimal path through an accumulated cost matrix, from the end back."""
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    ix, iy = [i], [j]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            # Diagonal first on ties: it keeps identical sequences on the diagonal.
            diag, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diag <= up and diag <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        ix.append(i)
        iy.append(j)
    return np.array(ix[::-1], dtype=np.int64), np.array(iy[::-1], dtype=np.int64)


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
    """Mean change in dB of the frame power (ScoringFeatures.power_db) over the source's pauses.

    Conversion keeps the source's timing (one output frame per input frame),
    so frame t of the converted speech is compared with frame t of the source,
    over the frames that :func:`speech_frames` calls non-speech in the source.
    0 means pauses are as quiet as in the source; a large positive value means
    they were turned into noise. None when the source has no pause.
    """
    frames = min(len(source_db), len(converted_db))
    pauses = ~speech_frames(source_db)[:frames]
    if not pauses.any():
        return None
    return float(np.mean(converted_db[:frames][pauses] - source_db[:frames][pauses]))


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


# ---------------------------------------------------------------------------
# Pairs of utterances
# ---------------------------------------------------------------------------


def extract_features(wav_path: str, config: WorldConfig) -> ScoringFeatures:
    """F0 and mel-cepstra of a sound file through the project's WORLD module."""
    feats = analyze(load_wav(wav_path, config.fs), config, name=str(wav_path))
    return scoring_features(feats.f0, feats.mcep, config)


def scoring_features(f0: np.ndarray, mcep: np.ndarray, config: WorldConfig) -> ScoringFeatures:
    """ScoringFeatures from WORLD F0 and mel-cepstra (aperiodicity is not needed)."""
    # Power from the envelope the mel-cepstrum encodes, so every frame's
    # speech/pause decision rests on the same representation as the MCD.
    return ScoringFeatures(f0=f0, mcep=mcep, power_db=frame_power_db(mcep_to_sp(mcep, config)))


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
    # One path on c1.. serves both MCD and F0.
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
        "mcep": "WORLD pyworld.code_spectral_envelope (no SPTK, no alpha)",
        "mcep_dim_including_c0": config.mcep_dim,
        "mcd_coefficients": f"c1..c{config.mcep_dim - 1} ({config.mcep_dim - 1} coefficients, c0 excluded)",
        "mcd_formula": "10/ln(10) * sqrt(2 * sum_d (c_d - c'_d)^2) per aligned frame pair",
        "mcd_frames": "all frames (voiced and unvoiced, no silence trimming), mean over the DTW path",
        "pause_power_change": (
            "mean over the source's non-speech frames (same threshold) of converted minus "
            "source frame power in dB, frame t against frame t (conversion keeps the timing)"
        ),
        "mcd_speech_frames": (
            "path pairs whose reference frame power (sum of the decoded WORLD envelope) is "
            f"at most {SPEECH_THRESHOLD_DB:g} dB below the loudest frame of that reference"
        ),
        "dtw": "Euclidean distance on c1.., unit-weight steps (i-1,j),(i,j-1),(i-1,j-1), no band",
        "logf0_rmse": "RMSE of natural-log F0 (ln Hz) over path pairs voiced in both",
        "f0_corr": "Pearson correlation of ln F0 over path pairs voiced in both",
        "std": "population standard deviation (ddof=0) over utterances",
    }


# ---------------------------------------------------------------------------
# Data directories
# ---------------------------------------------------------------------------


def read_wav_scp(path: Union[str, Path]) -> Dict[str, str]:
    """Read a Kaldi wav.scp of "<utt_id> <file path>" lines.

    Raises:
        ScoringError: missing file, malformed or duplicate line, or a piped
            command entry (not supported: scoring reads plain files).
    """
    path = Path(path)
    if not path.is_file():
        raise ScoringError(f"{path}: no such wav.scp")
    entries: Dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise ScoringError(f"{path}:{lineno}: expected '<utt_id> <wav path>', got {line!r}")
            utt, wav = parts
            if wav.endswith("|"):
                raise ScoringError(
                    f"{path}:{lineno}: piped entries are not supported, give a file path"
                )
            if utt in entries:
                raise ScoringError(f"{path}:{lineno}: duplicate utterance id {utt}")
            entries[utt] = wav
    return entries


def sentence_ids(entries: Dict[str, str], spk: str, scp_name: str) -> Dict[str, str]:
    """Map sentence id -> utterance id by stripping the "<spk>_" prefix.

    Ids without the prefix are kept whole (with a warning), so data dirs that
    use bare sentence ids still match.
    """
    prefix = f"{spk}_"
    result: Dict[str, str] = {}
    bare = []
    for utt in entries:
        if utt.startswith(prefix):
            sent = utt[len(prefix):]
        else:
            sent = utt
            bare.append(utt)
        if sent in result:
            raise ScoringError(
                f"{scp_name}: utterances {result[sent]} and {utt} are the same sentence {sent}"
            )
        result[sent] = utt
    if bare:
        logging.warning(
            "%s: %d id(s) lack the prefix %r and are matched as whole ids: %s",
            scp_name, len(bare), prefix, _preview(bare),
        )
    return result


def _preview(ids: Sequence[str], limit: int = 10) -> str:
    ids = sorted(ids)
    more = f" ... (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return " ".join(ids[:limit]) + more


@dataclasses.dataclass
class MatchedSet:
    """Sentences present in all three scp files, and what was left out.

    Attributes:
        sentences: sorted sentence ids present in converted, source and target.
        converted, source, target: sentence id -> (utterance id, wav path).
        unmatched: scp role -> utterance ids of that scp that were not scored.
    """

    sentences: List[str]
    converted: Dict[str, Tuple[str, str]]
    source: Dict[str, Tuple[str, str]]
    target: Dict[str, Tuple[str, str]]
    unmatched: Dict[str, List[str]]


def match_scps(
    converted_scp: Union[str, Path],
    source_scp: Union[str, Path],
    target_scp: Union[str, Path],
    source_spk: str,
    target_spk: str,
) -> MatchedSet:
    """Match converted, source and target utterances by sentence id.

    Raises:
        ScoringError: an scp cannot be read, or no sentence is in all three.
    """
    roles = {
        "converted": (converted_scp, source_spk),  # converted keeps the source id
        "source": (source_scp, source_spk),
        "target": (target_scp, target_spk),
    }
    by_sent: Dict[str, Dict[str, Tuple[str, str]]] = {}
    for role, (scp, spk) in roles.items():
        entries = read_wav_scp(scp)
        sents = sentence_ids(entries, spk, str(scp))
        by_sent[role] = {s: (u, entries[u]) for s, u in sents.items()}
    common = set(by_sent["converted"]) & set(by_sent["source"]) & set(by_sent["target"])
    if not common:
        raise ScoringError(
            "no sentence id is in all of "
            f"--converted_scp {converted_scp} ({len(by_sent['converted'])} utts, spk {source_spk}), "
            f"--source_scp {source_scp} ({len(by_sent['source'])} utts, spk {source_spk}) and "
            f"--target_scp {target_scp} ({len(by_sent['target'])} utts, spk {target_spk}); "
            "ids must be <spk>_<sentence id>"
        )
    unmatched = {}
    for role, table in by_sent.items():
        left = [utt for sent, (utt, _) in table.items() if sent not in common]
        unmatched[role] = sorted(left)
        if left:
            logging.warning(
                "%d %s utterance(s) have no counterpart in the other scp files and are "
                "not scored: %s", len(left), role, _preview(left),
            )
    return MatchedSet(
        sentences=sorted(common),
        converted=by_sent["converted"],
        source=by_sent["source"],
        target=by_sent["target"],
        unmatched=unmatched,
    )


def _extract_job(args: Tuple[str, WorldConfig]) -> ScoringFeatures:
    return extract_features(*args)


def extract_all(paths: Iterable[str], config: WorldConfig, nj: int = 1) -> Dict[str, ScoringFeatures]:
    """Features of each distinct path, with nj worker processes when nj > 1."""
    unique = sorted(set(paths))
    jobs = [(p, config) for p in unique]
    if nj > 1 and len(unique) > 1:
        with multiprocessing.Pool(min(nj, len(unique))) as pool:
            feats = pool.map(_extract_job, jobs, chunksize=1)
    else:
        feats = [_extract_job(j) for j in jobs]
    return dict(zip(unique, feats))


@dataclasses.dataclass
class DirectoryScores:
    """Result of :func:`score_directory`.

    Attributes:
        matched: the matching of the three scp files.
        rows: per sentence (sorted), a dict with sentence, id (converted
            utterance id), source_id, target_id and, for each metric m in
            METRICS, m_converted and m_baseline (None where undefined), plus
            the alignment counts.
        features: wav path -> features, for plotting without re-analysis.
    """

    matched: MatchedSet
    rows: List[dict]
    features: Dict[str, ScoringFeatures]


def score_directory(
    converted_scp: Union[str, Path],
    source_scp: Union[str, Path],
    target_scp: Union[str, Path],
    source_spk: str,
    target_spk: str,
    config: WorldConfig,
    nj: int = 1,
) -> DirectoryScores:
    """Score converted utterances and the unconverted baseline against the target.

    For each sentence in all three scp files: converted vs target, and source
    vs target (the no-conversion baseline), each with its own DTW path.
    Each wav is analysed once even when it is used twice.
    """
    matched = match_scps(converted_scp, source_scp, target_scp, source_spk, target_spk)
    paths = []
    for sent in matched.sentences:
        paths += [matched.converted[sent][1], matched.source[sent][1], matched.target[sent][1]]
    logging.info("Analysing %d wav files (nj=%d)", len(set(paths)), nj)
    features = extract_all(paths, config, nj)
    rows = []
    for sent in matched.sentences:
        conv_id, conv_wav = matched.converted[sent]
        src_id, src_wav = matched.source[sent]
        trg_id, trg_wav = matched.target[sent]
        target = features[trg_wav]
        conv = score_features(target, features[conv_wav])
        base = score_features(target, features[src_wav])
        row = {"sentence": sent, "id": conv_id, "source_id": src_id, "target_id": trg_id}
        for name, key in (("mcd", "mcd"), ("mcd_speech", "mcd_speech"),
                          ("logf0_rmse", "logf0_rmse"), ("f0corr", "f0_corr")):
            row[f"{name}_converted"] = conv[key]
            row[f"{name}_baseline"] = base[key]
        row["pause_power_change"] = pause_power_change(
            features[src_wav].power_db, features[conv_wav].power_db
        )
        for key in ("num_frames_aligned", "num_speech_pairs", "num_voiced_pairs"):
            row[f"{key}_converted"] = conv[key]
            row[f"{key}_baseline"] = base[key]
        rows.append(row)
    _warn_undefined(rows)
    return DirectoryScores(matched=matched, rows=rows, features=features)


def _warn_undefined(rows: List[dict]) -> None:
    for side in ("converted", "baseline"):
        missing = [r["id"] for r in rows if r[f"logf0_rmse_{side}"] is None]
        if missing:
            logging.warning(
                "%d %s pair(s) have no frame voiced in both; their F0 scores are "
                "left out of the means: %s", len(missing), side, _preview(missing),
            )


def summarize(rows: List[dict]) -> Dict[str, Dict[str, Optional[float]]]:
    """Mean, population std and count of each metric over the defined values."""
    keys = [f"{name}_{side}" for name in METRICS for side in ("converted", "baseline")]
    out = {}
    for key in keys + ["pause_power_change"]:
        vals = np.array([r[key] for r in rows if r[key] is not None], dtype=np.float64)
        out[key] = {
            "mean": float(vals.mean()) if len(vals) else None,
            "std": float(vals.std()) if len(vals) else None,
            "count": int(len(vals)),
            "undefined": int(len(rows) - len(vals)),
        }
    return out


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def plot_comparison(
    source_wav: Union[str, ScoringFeatures],
    converted_wav: Union[str, ScoringFeatures],
    target_wav: Union[str, ScoringFeatures],
    out_png: Union[str, Path],
    config: WorldConfig,
    title: str = "",
    labels: Optional[Sequence[str]] = None,
) -> None:
    """Write a PNG with the log spectral envelopes of source, converted and target.

    The envelope is decoded from the WORLD mel-cepstrum (the representation
    the model converts), shown in dB on one colour scale and one time axis so
    the three panels compare directly. A fourth panel draws the frame power of
    the source and the converted speech with the source's pauses shaded, so
    pauses turned into noise show at a glance. The file is written atomically.

    Args:
        source_wav, converted_wav, target_wav: wav paths, or features already
            extracted with :func:`extract_features`.
        out_png: output PNG path.
        config: WORLD settings.
        title: figure title.
        labels: three panel titles; by default the role and the file name.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: recipes run without a display
    import matplotlib.pyplot as plt

    items = (("source", source_wav), ("converted", converted_wav), ("target", target_wav))
    if labels is not None and len(labels) != 3:
        raise ValueError(f"plot_comparison needs 3 labels, got {len(labels)}")
    panels, powers = [], []
    for k, (role, item) in enumerate(items):
        feats = item if isinstance(item, ScoringFeatures) else extract_features(str(item), config)
        powers.append(feats.power_db)
        sp = mcep_to_sp(feats.mcep, config)
        if labels is not None:
            name = labels[k]
        elif isinstance(item, (str, Path)):
            name = f"{role}: {Path(item).name}"
        else:
            name = role
        panels.append((name, 10.0 * np.log10(np.maximum(sp, 1e-20))))
    # A shared colour range over the top 80 dB keeps silence from washing out speech.
    vmax = max(float(p.max()) for _, p in panels)
    vmin = vmax - 80.0
    tmax = max(p.shape[0] for _, p in panels) * config.frame_period / 1000.0
    fig, axes = plt.subplots(
        4, 1, figsize=(10, 11), sharex=True, constrained_layout=True,
        gridspec_kw=dict(height_ratios=[3, 3, 3, 2]),
    )
    for ax, (name, spec_db) in zip(axes, panels):
        dur = spec_db.shape[0] * config.frame_period / 1000.0
        im = ax.imshow(
            spec_db.T, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
            extent=(0.0, dur, 0.0, config.fs / 2.0),
        )
        ax.set_title(name)
        ax.set_ylabel("Frequency [Hz]")
        ax.set_xlim(0.0, tmax)
    _plot_pause_power(axes[3], powers[0], powers[1], config)
    axes[3].set_xlim(0.0, tmax)
    axes[-1].set_xlabel("Time [s]")
    fig.colorbar(im, ax=list(axes[:3]), label="Log spectral envelope [dB]")
    fig.suptitle(title or "WORLD spectral envelope (from mel-cepstrum)")
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def _plot_pause_power(ax, source_db: np.ndarray, converted_db: np.ndarray, config: WorldConfig) -> None:
    """Frame power of source and converted speech, the source's pauses shaded."""
    step = config.frame_period / 1000.0
    pauses = ~speech_frames(source_db)
    # Shade each run of pause frames.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], pauses.astype(np.int8), [0]])))
    for begin, end in zip(edges[::2], edges[1::2]):
        ax.axvspan(begin * step, end * step, color="0.85", lw=0)
    ax.plot(np.arange(len(source_db)) * step, source_db, lw=1, label="source")
    ax.plot(np.arange(len(converted_db)) * step, converted_db, lw=1, label="converted")
    change = pause_power_change(source_db, converted_db)
    ax.set_title(
        "Frame power; shaded: source pauses"
        + ("" if change is None else f" (converted - source over pauses: {change:+.1f} dB)")
    )
    ax.set_ylabel("Power [dB]")
    ax.legend(loc="lower right", fontsize=8)


class atomic_output:
    """Context manager yielding a temp path that replaces `path` on success.

    A run killed midway leaves at most a hidden temp file, never a partial
    output under the final name.
    """

    def __init__(self, path: Union[str, Path]):
        self.path = Path(path)
        self.tmp: Optional[str] = None

    def __enter__(self) -> str:
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            # mkstemp creates 0600 files; outputs should be as readable as any other.
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.unlink(self.tmp)


def write_text_atomic(path: Union[str, Path], text: str) -> None:
    """Write text to path via a temp file and os.replace."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
