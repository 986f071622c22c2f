"""Scores of a whole directory of converted speech, analysed in parallel, and their summary."""

import dataclasses
import logging
import multiprocessing
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from espnet2_cyclegan_vc.scoring.matching import MatchedSet, match_scps, preview_ids
from espnet2_cyclegan_vc.scoring.metrics import (
    METRICS,
    ScoringFeatures,
    extract_features,
    pause_power_change,
    score_features,
)
from espnet2_cyclegan_vc.scoring.speaker import (
    SpeakerCentroid,
    SpeakerEncoder,
    similarity_to,
    summarize_similarity,
    warn_skipped,
)
from espnet2_cyclegan_vc.world import WorldConfig

# Per-sentence speaker-similarity columns: cosine to the target / source centroid
# of the converted, baseline (source) and ceiling (target's own) utterances.
SIMILARITY_ROLES = ("converted", "baseline", "ceiling")
SIMILARITY_COLUMNS = tuple(
    f"spk_sim_{to}_{role}" for role in SIMILARITY_ROLES for to in ("target", "source")
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
            With speaker centroids, also the SIMILARITY_COLUMNS (None where
            the utterance had no embedding).
        features: wav path -> features, for plotting without re-analysis.
        speaker_similarity: per role (converted, baseline, ceiling), the
            :func:`summarize_similarity` of its utterances; None without
            centroids.
    """

    matched: MatchedSet
    rows: List[dict]
    features: Dict[str, ScoringFeatures]
    speaker_similarity: Optional[Dict[str, dict]] = None


def score_directory(
    converted_scp: Union[str, Path],
    source_scp: Union[str, Path],
    target_scp: Union[str, Path],
    source_spk: str,
    target_spk: str,
    config: WorldConfig,
    nj: int = 1,
    centroids: Optional[Tuple[SpeakerCentroid, SpeakerCentroid]] = None,
    encoder: Optional[SpeakerEncoder] = None,
) -> DirectoryScores:
    """Score converted utterances and the unconverted baseline against the target.

    For each sentence in all three scp files: converted vs target, and source
    vs target (the no-conversion baseline), each with its own DTW path.
    Each wav is analysed once even when it is used twice. With centroids
    (target speaker's, source speaker's), also the speaker similarity of the
    converted, source and target utterances (encoder: built if not given).
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
    similarity = None
    if centroids is not None:
        similarity = _speaker_similarity(matched, rows, centroids, encoder or SpeakerEncoder())
    return DirectoryScores(matched=matched, rows=rows, features=features, speaker_similarity=similarity)


def _speaker_similarity(matched: MatchedSet, rows: List[dict],
                        centroids: Tuple[SpeakerCentroid, SpeakerCentroid],
                        encoder: SpeakerEncoder) -> Dict[str, dict]:
    """Fill the rows' SIMILARITY_COLUMNS; returns the summary of each role."""
    target, source = centroids
    files = {"converted": matched.converted, "baseline": matched.source, "ceiling": matched.target}
    logging.info("Speaker embeddings of %d x 3 utterances", len(matched.sentences))
    summary = {}
    for role, by_sentence in files.items():
        embeddings, skipped = encoder.embed_files((s, by_sentence[s][1]) for s in matched.sentences)
        warn_skipped(role, [by_sentence[s][0] for s in skipped])
        sims = similarity_to(embeddings, target, source)
        for row in rows:
            to_target, to_source = sims.get(row["sentence"], (None, None))
            row[f"spk_sim_target_{role}"] = to_target
            row[f"spk_sim_source_{role}"] = to_source
        summary[role] = summarize_similarity([sims.get(s) for s in matched.sentences])
    return summary


def _warn_undefined(rows: List[dict]) -> None:
    for side in ("converted", "baseline"):
        missing = [r["id"] for r in rows if r[f"logf0_rmse_{side}"] is None]
        if missing:
            logging.warning(
                "%d %s pair(s) have no frame voiced in both; their F0 scores are "
                "left out of the means: %s", len(missing), side, preview_ids(missing),
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
