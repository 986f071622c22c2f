#!/usr/bin/env python3
"""A page to listen to stage 6's results: source, converted and target side by side.

One decode directory (stage 6 writes this one)::

    python -m espnet2_cyclegan_vc.bin.samples_page exp/vc_x/decode_latest
    # -> exp/vc_x/decode_latest/index.html

Several experiments on one page, one column each::

    python -m espnet2_cyclegan_vc.bin.samples_page --output samples/index.html \\
        exp/vc_a/decode_latest exp/vc_b/decode_latest

Per direction the page shows the score table (converted beside the
no-conversion baseline, as in summary.json) and, for the first --num_utts
sentences, the source, target and converted audio with the envelope picture and
the sentence's scores. Sentences are matched by id exactly as the scorer
matched them (:func:`espnet2_cyclegan_vc.scoring.match_scps` on the scp files
that summary.json names).

The page needs no network: no external scripts, fonts or styles. Audio and
pictures are linked by relative paths; files outside the page's folder
(e.g. the corpus's reference wavs) are copied into ``<page folder>/page_files/``
so the folder can be moved or served as it is. A file that does not exist is
shown as missing, not as a broken player.
"""

import argparse
import csv
import html
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.scoring.report import (
    QUALITY_ROWS,
    ROWS,
    SIMILARITY_ROWS,
    quality_reference,
    quality_value,
    similarity_value,
)
from espnet2_cyclegan_vc.fileio import atomic_output, write_text_atomic
from espnet2_cyclegan_vc.scoring import MatchedSet, match_scps

PAGE_FILES = "page_files"

# Scores of one sentence shown under its converted audio: (tsv column, label, unit).
SENTENCE_SCORES = (
    ("mcd", "MCD", "dB"),
    ("mcd_speech", "MCD speech", "dB"),
    ("logf0_rmse", "log-F0 RMSE", ""),
)

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.better { font-weight: bold; }
.missing { color: #a00; font-style: italic; }
.duration, .note { color: #666; font-size: 0.85em; }
img.envelope { width: 320px; display: block; margin-top: 0.3em; }
audio { width: 260px; display: block; }
"""

# Writes each player's duration beside it (and into data-duration, which the
# browser test reads) and labels a player whose file cannot be loaded, so a file
# deleted after the page was written is not a silent broken control. Pictures
# get data-loaded / data-error for the same check.
SCRIPT = """
document.querySelectorAll("audio").forEach(function (audio) {
  var label = audio.parentNode.querySelector(".duration");
  function show() {
    audio.dataset.duration = audio.duration.toFixed(3);
    if (label) { label.textContent = audio.duration.toFixed(2) + " s"; }
  }
  if (audio.readyState >= 1) { show(); } else { audio.addEventListener("loadedmetadata", show); }
  audio.addEventListener("error", function () {
    audio.dataset.error = "1";
    if (label) { label.textContent = "could not be loaded"; label.className = "missing"; }
  });
});
document.querySelectorAll("img").forEach(function (img) {
  function mark() {
    if (img.naturalWidth > 0) { img.dataset.loaded = "1"; } else { img.dataset.error = "1"; }
  }
  if (img.complete) { mark(); } else { img.addEventListener("load", mark); img.addEventListener("error", mark); }
});
"""


class PageError(ValueError):
    """A decode directory that cannot be shown (names the file)."""


@dataclass
class ScoredDirection:
    """One direction of one experiment, as stage 6 left it.

    Attributes:
        experiment: index of the experiment (column) on the page.
        name: the direction's folder in the decode directory (e.g. src_to_trg).
        summary: the parsed scoring/summary.json.
        matched: the scorer's matching of converted, source and target.
        sentence_scores: sentence id -> the row of scores.tsv.
        plots: sentence id -> envelope picture.
        transcripts: (sentence, role) -> what the recogniser heard
            (transcripts.tsv; role "reference" is the reference).
    """

    experiment: int
    name: str
    summary: dict
    matched: MatchedSet
    sentence_scores: Dict[str, Dict[str, Optional[float]]]
    plots: Dict[str, Path] = field(default_factory=dict)
    transcripts: Dict[tuple, str] = field(default_factory=dict)


def _float_or_none(value: str) -> Optional[float]:
    return None if value in ("NA", "") else float(value)


def read_scores_tsv(path: Path) -> Dict[str, Dict[str, Optional[float]]]:
    """Rows of the scorer's scores.tsv by converted utterance id."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return {r["id"]: {k: _float_or_none(v) for k, v in r.items() if k != "id"} for r in rows}


def load_direction(scoring_dir: Path, experiment: int) -> ScoredDirection:
    """Read one ``<direction>/scoring/`` folder written by vc_score."""
    summary_path = scoring_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    inputs = summary.get("inputs")
    if not inputs:
        raise PageError(f"{summary_path}: no 'inputs' (written by an older scorer): rerun stage 6")
    matched = match_scps(
        inputs["converted_scp"], inputs["source_scp"], inputs["target_scp"],
        summary["source_spk"], summary["target_spk"],
    )
    tsv = scoring_dir / "scores.tsv"
    if not tsv.is_file():
        raise PageError(f"{tsv}: missing although summary.json exists")
    by_id = read_scores_tsv(tsv)
    sentence_scores = {
        sent: by_id[matched.converted[sent][0]]
        for sent in matched.sentences
        if matched.converted[sent][0] in by_id
    }
    plots = {s: scoring_dir / name for s, name in summary.get("plots", {}).items()}
    if not plots and summary.get("plot"):
        plots = {Path(summary["plot"]).stem: scoring_dir / summary["plot"]}
    transcripts = {}
    if (scoring_dir / "transcripts.tsv").is_file():
        with (scoring_dir / "transcripts.tsv").open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                transcripts[(r["sentence"], r["role"])] = r["text"]
    return ScoredDirection(experiment, scoring_dir.parent.name, summary, matched,
                           sentence_scores, plots, transcripts)


def load_decode_dir(decode_dir: Path, experiment: int) -> List[ScoredDirection]:
    """Every scored direction of a decode directory (``*/scoring/summary.json``)."""
    if not decode_dir.is_dir():
        raise PageError(f"{decode_dir}: no such decode directory")
    found = sorted(decode_dir.glob("*/scoring/summary.json"))
    if not found:
        raise PageError(f"{decode_dir}: no */scoring/summary.json: run stage 6 first")
    return [load_direction(p.parent, experiment) for p in found]


class MediaLinks:
    """Relative links from the page to audio and pictures.

    Files inside the page's folder are linked where they are; files outside
    are copied once into ``page_files/`` so the folder is self-contained.
    """

    def __init__(self, page_dir: Path):
        self.page_dir = page_dir.resolve()
        self.copies: Dict[Path, Path] = {}

    def link(self, path: Path, group: str) -> Optional[str]:
        """URL of ``path`` relative to the page, or None when the file is missing."""
        path = Path(path).resolve()
        if not path.is_file():
            return None
        try:
            rel = path.relative_to(self.page_dir)
        except ValueError:
            rel = self._copy(path, group).relative_to(self.page_dir)
        return quote(rel.as_posix())

    def _copy(self, path: Path, group: str) -> Path:
        if path in self.copies:
            return self.copies[path]
        folder = self.page_dir / PAGE_FILES / group
        dest = folder / path.name
        n = 1
        while dest in self.copies.values():  # same name, another file
            dest = folder / f"{path.stem}_{n}{path.suffix}"
            n += 1
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(dest) as tmp:
            shutil.copyfile(path, tmp)
        self.copies[path] = dest
        return dest


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _number(value: Optional[float], digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _stat_cell(stats: dict, better: bool = False) -> str:
    """A mean ± std cell; data-mean carries the exact value of summary.json."""
    mean = stats.get("mean")
    if mean is None:
        return '<td class="num" data-mean="">n/a</td>'
    cls = "num better" if better else "num"
    return (f'<td class="{cls}" data-mean="{mean!r}">'
            f"{mean:.3f} ± {stats['std']:.3f}</td>")


def _player(url: Optional[str], name: str) -> str:
    if url is None:
        return f'<span class="missing">missing: {_e(name)}</span>'
    return (f'<audio controls preload="metadata" src="{_e(url)}"></audio>'
            '<span class="duration"></span>')


def _is_better(metric: str, converted: Optional[float], baseline: Optional[float]) -> bool:
    """Strictly better than the baseline (F0 correlation: higher; the rest: lower)."""
    if converted is None or baseline is None:
        return False
    return converted > baseline if metric == "f0corr" else converted < baseline


def score_table(directions: List[ScoredDirection], labels: Sequence[str]) -> str:
    """Converted beside baseline for each experiment of one direction."""
    head = "".join(
        f'<th colspan="2">{_e(labels[d.experiment])}<br>'
        f'<span class="note">{d.summary["num_scored"]} sentences</span></th>'
        for d in directions
    )
    sub = "".join("<th>converted</th><th>baseline</th>" for _ in directions)
    rows = []
    for metric, title in ROWS:
        cells = ""
        for d in directions:
            conv = d.summary["metrics"][f"{metric}_converted"]
            base = d.summary["metrics"][f"{metric}_baseline"]
            better = _is_better(metric, conv.get("mean"), base.get("mean"))
            cells += _stat_cell(conv, better) + _stat_cell(base)
        rows.append(f'<tr data-metric="{metric}"><th>{_e(title)}</th>{cells}</tr>')
    cells = "".join(
        _stat_cell(d.summary["metrics"]["pause_power_change"]) + '<td class="num">0</td>'
        for d in directions
    )
    rows.append(f'<tr data-metric="pause_power_change"><th>pause power change [dB]</th>{cells}</tr>')
    for key, title in SIMILARITY_ROWS:
        cells = ""
        for d in directions:
            similarity = d.summary.get("speaker_similarity")
            if not similarity:
                cells += '<td class="num">n/a</td><td class="num">n/a</td>'
                continue
            conv, base = similarity["converted"][key], similarity["baseline"][key]
            # to_source: lower is better; the others: higher.
            better = None not in (conv, base) and (conv < base if key == "to_source" else conv > base)
            cells += (f'<td class="{"num better" if better else "num"}" data-mean="{conv!r}">'
                      f'{similarity_value(similarity, "converted", key)}</td>'
                      f'<td class="num" data-mean="{base!r}">{similarity_value(similarity, "baseline", key)}'
                      f'<br><span class="note">ceiling {similarity_value(similarity, "ceiling", key)}</span></td>')
        rows.append(f'<tr data-metric="spk_sim_{key}"><th>{_e(title)}</th>{cells}</tr>')
    for block, key, title, digits in QUALITY_ROWS:
        cells = ""
        for d in directions:
            s = d.summary
            if not s.get(block):
                cells += '<td class="num">n/a</td><td class="num">n/a</td>'
                continue
            conv, base = (s[block]["roles"][r][key] for r in ("converted", "baseline"))
            # Error rates: lower is better; MOS: higher.
            better = None not in (conv, base) and (conv > base if block == "naturalness" else conv < base)
            ref = f" (reference: {quality_reference(s)})" if block == "intelligibility" else ""
            cells += (f'<td class="{"num better" if better else "num"}" data-mean="{conv!r}">'
                      f'{quality_value(s, block, "converted", key, digits)}</td>'
                      f'<td class="num" data-mean="{base!r}">{quality_value(s, block, "baseline", key, digits)}'
                      f'<br><span class="note">WORLD resynthesis {quality_value(s, block, "resynthesis", key, digits)}, '
                      f'target {quality_value(s, block, "target", key, digits)}{_e(ref)}</span></td>')
        rows.append(f'<tr data-metric="{block}_{key}"><th>{_e(title)}</th>{cells}</tr>')
    return (f'<table class="scores"><tr><th rowspan="2">metric</th>{head}</tr>'
            f"<tr>{sub}</tr>{''.join(rows)}</table>")


def _sentence_cell(d: ScoredDirection, sentence: str, links: MediaLinks) -> str:
    if sentence not in d.matched.sentences:
        return '<td class="missing">not converted in this experiment</td>'
    utt, wav = d.matched.converted[sentence]
    group = f"exp{d.experiment}_{d.name}"
    parts = [f'<div class="player" data-role="converted">{_player(links.link(Path(wav), group), wav)}</div>']
    scores = d.sentence_scores.get(sentence, {})
    lines = [
        f"{label}: {_number(scores.get(f'{key}_converted'))}"
        f" (baseline {_number(scores.get(f'{key}_baseline'))}){' ' + unit if unit else ''}"
        for key, label, unit in SENTENCE_SCORES
    ]
    lines.append(f"pause power change: {_number(scores.get('pause_power_change'), 1)} dB")
    if scores.get("spk_sim_target_converted") is not None:
        lines.append(f"speaker similarity to target: {_number(scores.get('spk_sim_target_converted'))}"
                     f" (baseline {_number(scores.get('spk_sim_target_baseline'))})")
    for key, label, digits in (("cer", "CER %", 1), ("wer", "WER %", 1), ("mos", "MOS", 2)):
        if f"{key}_converted" in scores:
            lines.append(f"{label}: {_number(scores.get(f'{key}_converted'), digits)} (baseline "
                         f"{_number(scores.get(f'{key}_baseline'), digits)}, resynthesis "
                         f"{_number(scores.get(f'{key}_resynthesis'), digits)}, target "
                         f"{_number(scores.get(f'{key}_target'), digits)})")
    for role, label in (("reference", "reference"), ("converted", "heard")):
        if (sentence, role) in d.transcripts:
            lines.append(f"{label}: \u201c{d.transcripts[(sentence, role)]}\u201d")
    parts.append('<div class="note sentence-scores" data-utt="{}">{}</div>'.format(
        _e(utt), "<br>".join(_e(x) for x in lines)))
    png = d.plots.get(sentence)
    url = links.link(png, group) if png is not None else None
    if url is not None:
        parts.append(f'<a href="{_e(url)}"><img class="envelope" src="{_e(url)}" '
                     f'alt="envelopes of {_e(utt)}"></a>')
    return f"<td>{''.join(parts)}</td>"


def sentence_table(directions: List[ScoredDirection], labels: Sequence[str], num_utts: int,
                   links: MediaLinks) -> str:
    """Source, target and each experiment's conversion of the first sentences."""
    sentences = sorted({s for d in directions for s in d.matched.sentences})
    if num_utts > 0:
        sentences = sentences[:num_utts]
    head = "".join(f"<th>{_e(labels[d.experiment])}</th>" for d in directions)
    rows = []
    for sent in sentences:
        # Source and target of a sentence are the same files in every experiment
        # scored on the same data; take them from the first that has the sentence.
        ref = next(d for d in directions if sent in d.matched.sentences)
        cells = []
        for role, table, spk in (("source", ref.matched.source, ref.summary["source_spk"]),
                                 ("target", ref.matched.target, ref.summary["target_spk"])):
            utt, wav = table[sent]
            url = links.link(Path(wav), spk)
            cells.append(f'<td><div class="player" data-role="{role}">{_player(url, wav)}</div>'
                         f'<div class="note">{_e(utt)}</div></td>')
        cells += [_sentence_cell(d, sent, links) for d in directions]
        rows.append(f'<tr data-sentence="{_e(sent)}"><th>{_e(sent)}</th>{"".join(cells)}</tr>')
    return (f'<table class="sentences"><tr><th>sentence</th><th>source</th><th>target</th>{head}</tr>'
            f"{''.join(rows)}</table>")


def build_page(decode_dirs: Sequence[Path], output: Path, num_utts: int = 5,
               labels: Optional[Sequence[str]] = None, title: str = "CycleGAN-VC samples") -> Path:
    """Write the samples page of one or more decode directories; returns its path."""
    labels = list(labels) if labels else [str(d) for d in decode_dirs]
    if len(labels) != len(decode_dirs):
        raise PageError(f"--labels: {len(labels)} label(s) for {len(decode_dirs)} decode dir(s)")
    by_direction: Dict[str, List[ScoredDirection]] = {}
    for k, decode_dir in enumerate(decode_dirs):
        for d in load_decode_dir(Path(decode_dir), k):
            by_direction.setdefault(d.summary["direction"], []).append(d)
    output.parent.mkdir(parents=True, exist_ok=True)
    links = MediaLinks(output.parent)
    sections = []
    for direction, dirs in by_direction.items():
        sections.append(
            f'<section data-direction="{_e(direction)}"><h2>{_e(direction.replace("->", " → "))}</h2>'
            f"{score_table(dirs, labels)}{sentence_table(dirs, labels, num_utts, links)}</section>"
        )
    shown = "all sentences" if num_utts <= 0 else f"the first {num_utts} sentence(s)"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<p class="note">Scores: converted speech against the target speaker's recording of the
same sentence, and the unconverted source against it (the baseline); mean ± std over the
scored sentences; bold = better than the baseline. MCD and log-F0 RMSE: lower is better;
speaker similarity (cosine of speaker embeddings to each speaker's centroid): closer to the
target is better, and the ceiling is the target speaker's own recordings.
CER / WER: a speech recogniser's character / word error rates (lower is better);
MOS: predicted naturalness, 1-5 (higher is better); beside them the WORLD resynthesis of the
source (the vocoder's limit) and the target speaker's natural speech.
Audio: {shown} per direction. Pictures: spectral envelopes of source, converted and target,
and the frame power over the source's pauses.</p>
{''.join(sections)}
<script>{SCRIPT}</script>
</body>
</html>
"""
    write_text_atomic(output, page)
    return output


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write an HTML page with source, converted and target audio and the "
        "scores of one or more stage-6 decode directories",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("decode_dirs", nargs="+", type=Path,
                        help="decode directories holding <direction>/scoring/summary.json")
    parser.add_argument("--output", type=Path, default=None,
                        help="page to write; default <decode dir>/index.html "
                        "(required with several decode dirs)")
    parser.add_argument("--num_utts", type=int, default=5,
                        help="sentences with audio per direction (0: all)")
    parser.add_argument("--labels", nargs="+", default=None,
                        help="column titles, one per decode dir (default: the paths)")
    parser.add_argument("--title", default="CycleGAN-VC samples", help="page title")
    add_log_level_argument(parser)
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    parser = get_parser()
    args = parser.parse_args(cmd)
    setup_logging(args.log_level)
    if args.output is None:
        if len(args.decode_dirs) > 1:
            parser.error("--output is required with several decode directories")
        args.output = args.decode_dirs[0] / "index.html"

    def job():
        page = build_page(args.decode_dirs, args.output, args.num_utts, args.labels, args.title)
        logging.info("Wrote %s", page)

    run_main("samples_page", job)


if __name__ == "__main__":
    main()
