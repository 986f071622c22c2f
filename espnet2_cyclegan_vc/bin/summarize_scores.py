#!/usr/bin/env python3
"""Collect the scoring summaries of every direction into one results table.

    python -m espnet2_cyclegan_vc.bin.summarize_scores \
        --decode_dir exp/vc_x/decode_latest --directions src_to_trg trg_to_src \
        --output exp/vc_x/decode_latest/results.md
"""

import argparse
import json
from pathlib import Path

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.fileio import write_text_atomic
from espnet2_cyclegan_vc.scoring.report import (
    QUALITY_ROLE_TITLES,
    QUALITY_ROLES,
    QUALITY_ROWS,
    ROWS,
    SIMILARITY_ROWS,
    quality_reference,
    quality_value,
    similarity_value,
)


def _cell(stats: dict) -> str:
    if stats.get("mean") is None:
        return "n/a"
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def results_table(decode_dir: Path, directions) -> str:
    lines = [
        f"# Objective scores: {decode_dir}",
        "",
        "Converted = converted vs the target speaker's real utterance; baseline = the "
        "unconverted source vs the same target utterance (mean ± std over sentences); "
        "ceiling = the target speaker's own utterances (speaker similarity only).",
        "",
        "| direction | sentences | metric | converted | baseline | ceiling |",
        "|---|---|---|---|---|---|",
    ]
    settings = None
    summaries = []
    for d in directions:
        path = decode_dir / d / "scoring" / "summary.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: scoring of {d} did not finish")
        summary = json.loads(path.read_text(encoding="utf-8"))
        summaries.append(summary)
        settings = settings or summary["settings"]
        for key, title in ROWS:
            lines.append(
                f"| {summary['direction']} | {summary['num_scored']} | {title} | "
                f"{_cell(summary['metrics'][key + '_converted'])} | "
                f"{_cell(summary['metrics'][key + '_baseline'])} | |"
            )
        # The source is its own baseline here: 0 dB by definition.
        lines.append(
            f"| {summary['direction']} | {summary['num_scored']} | pause power change [dB] | "
            f"{_cell(summary['metrics']['pause_power_change'])} | 0 | |"
        )
        similarity = summary.get("speaker_similarity")
        for key, title in SIMILARITY_ROWS if similarity else ():
            lines.append(
                f"| {summary['direction']} | {similarity['converted']['count']} | {title} | "
                + " | ".join(similarity_value(similarity, role, key) for role in ("converted", "baseline", "ceiling"))
                + " |"
            )
    lines += quality_table(summaries)
    lines += ["", "Settings:", ""]
    lines += [f"- {k}: {v}" for k, v in (settings or {}).items()]
    lines += ["", "Converted wavs (listed in wav.scp):"]
    lines += [f"- {decode_dir / d / 'wav.scp'}" for d in directions]
    lines += ["", "Pictures (source, converted, target) and per-utterance scores:"]
    lines += [f"- {p}" for d in directions for p in sorted((decode_dir / d / "scoring").glob("*.png"))]
    lines += [f"- {decode_dir / d / 'scoring' / 'scores.tsv'}" for d in directions]
    lines += [f"- {p}" for d in directions for p in [decode_dir / d / "scoring" / "transcripts.tsv"] if p.is_file()]
    lines.append("")
    return "\n".join(lines)


def quality_table(summaries) -> list:
    """What a listener hears: CER, WER and MOS of each role, or the one line saying why not."""
    scored = [s for s in summaries if s.get("intelligibility") or s.get("naturalness")]
    notes = sorted({s["quality_note"] for s in summaries if s.get("quality_note")})
    lines = [item for n in notes for item in ("", f"Note: {n}")]
    if not scored:
        return lines
    lines += [
        "",
        "Intelligibility (CER, WER of a speech recogniser, corpus-level %) and naturalness "
        "(predicted MOS, 1-5) of the converted speech, beside the unconverted source (baseline), "
        "the source through WORLD analysis-resynthesis (the vocoder's limit) and the target "
        "speaker's natural speech; reference: the corpus transcripts, or else the recogniser's "
        "transcript of the source utterance (then the baseline is 0 by construction).",
        "",
        "| direction | sentences | reference | metric | " + " | ".join(QUALITY_ROLE_TITLES) + " |",
        "|---|---|---|---|" + "---|" * len(QUALITY_ROLES),
    ]
    for summary in scored:
        for block, key, title, digits in QUALITY_ROWS:
            if not summary.get(block):
                continue
            lines.append(
                f"| {summary['direction']} | {summary['num_scored']} | {quality_reference(summary)} | {title} | "
                + " | ".join(quality_value(summary, block, role, key, digits) for role in QUALITY_ROLES)
                + " |"
            )
    first = scored[0]
    for block in ("intelligibility", "naturalness"):
        if first.get(block):
            lines += ["", f"{block.capitalize()} settings:", ""]
            lines += [f"- {k}: {v}" for k, v in first[block]["settings"].items()]
            if block == "intelligibility":
                lines += [f"- reference ({s['direction']}): {s[block]['reference']}" for s in scored if s.get(block)]
    return lines


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode_dir", required=True, type=Path)
    parser.add_argument("--directions", nargs="+", default=["src_to_trg", "trg_to_src"])
    parser.add_argument("--output", required=True, type=Path)
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("summarize_scores", lambda: write_text_atomic(args.output, results_table(args.decode_dir, args.directions)))


if __name__ == "__main__":
    main()
