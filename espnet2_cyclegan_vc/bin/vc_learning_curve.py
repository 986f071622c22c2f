#!/usr/bin/env python3
"""Learning curve of conversion quality: score several checkpoints of one training.

A GAN's losses do not say whether the voices improve, so this converts the
same evaluation sentences with every saved epoch model (``<n>epoch.pth``, kept
by ``--keep_nbest_models``) and scores them with the recipe's scorer
(:mod:`espnet2_cyclegan_vc.scoring`), beside the unconverted baseline:

    python -m espnet2_cyclegan_vc.bin.vc_learning_curve --exp_dir exp/vc_x \
        --src_wav_scp data/eval_SF1/wav.scp --trg_wav_scp data/eval_TM3/wav.scp \
        --srcspk SF1 --trgspk TM3 --num_utts 10 --nj 2 --outdir exp/vc_x/learning_curve

Each input and reference utterance is analysed once; per checkpoint only the
converted speech is synthesised and analysed again. Outputs (written
atomically, curve.json last):
    OUTDIR/curve.tsv: one line per checkpoint and direction.
    OUTDIR/curve.png: MCD (all frames, speech frames), log-F0 RMSE, the
        pause power change and (with --src_centroid/--trg_centroid) the
        speaker similarity to the target against generator updates, with the
        baselines as dashed lines.
    OUTDIR/curve.json: the same numbers, the sentences used and the settings.

The evaluation sentences are the test set: read the curve to understand a
configuration, and select by it only on a pair you then do not report as
untuned.
"""

import argparse
import json
import logging
import multiprocessing
import re
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.bin import add_log_level_argument, int_at_least, positive_int, run_main, setup_logging
from espnet2_cyclegan_vc.directions import DIRECTIONS, direction_sides
from espnet2_cyclegan_vc.fileio import atomic_output, write_text_atomic
from espnet2_cyclegan_vc.scoring import (
    ScoringError,
    ScoringFeatures,
    pause_power_change,
    read_wav_scp,
    score_features,
    scoring_features,
    sentence_ids,
)
from espnet2_cyclegan_vc.scoring.metrics import wav_features
from espnet2_cyclegan_vc.scoring.speaker import (
    SpeakerCentroid,
    SpeakerEncoder,
    similarity_to,
    summarize_similarity,
)
from espnet2_cyclegan_vc.world import WorldConfig, WorldFeatures, analyze, decode_ap, load_wav

CURVE_METRICS = ("mcd", "mcd_speech", "logf0_rmse")
SIMILARITY_METRICS = ("spk_sim_target", "spk_closer_to_target")
_EPOCH_FILE = re.compile(r"^(\d+)epoch\.pth$")


def epoch_checkpoints(exp_dir: Path, every: int = 1) -> List[Tuple[int, Path]]:
    """(epoch, path) of the ``<n>epoch.pth`` in exp_dir whose n is a multiple of
    every, and of the last one, by epoch."""
    found = []
    for path in exp_dir.iterdir():
        match = _EPOCH_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise FileNotFoundError(
            f"{exp_dir}: no <n>epoch.pth model files; train with --keep_nbest_models "
            "at least max_epoch to keep one per epoch"
        )
    found.sort()
    return [(e, p) for e, p in found[:-1] if e % every == 0] + found[-1:]


def common_sentences(src_scp: str, trg_scp: str, srcspk: str, trgspk: str, num_utts: Optional[int]):
    """The first num_utts sentence ids (sorted) spoken by both speakers, with their wav paths."""
    src, trg = read_wav_scp(src_scp), read_wav_scp(trg_scp)
    src_ids, trg_ids = sentence_ids(src, srcspk, src_scp), sentence_ids(trg, trgspk, trg_scp)
    common = sorted(set(src_ids) & set(trg_ids))
    if not common:
        raise ScoringError(f"no sentence id is in both {src_scp} and {trg_scp}")
    common = common[:num_utts] if num_utts else common
    return [(s, src[src_ids[s]], trg[trg_ids[s]]) for s in common]


class _Analysis:
    """WORLD analysis in a worker process: full features for conversion input."""

    def __init__(self, config: WorldConfig):
        self.config = config

    def __call__(self, path: str) -> Tuple[WorldFeatures, ScoringFeatures]:
        feats = analyze(load_wav(path, self.config.fs), self.config, name=path, keep_envelope=True)
        # Coded aperiodicity is 20x smaller; conversion decodes it again.
        compact = WorldFeatures(f0=feats.f0, mcep=feats.mcep, ap=feats.coded_ap(self.config))
        return compact, scoring_features(feats.f0, feats.sp, self.config)


class _ConvertedAnalysis:
    """Scoring features of a converted waveform, in a worker process."""

    def __init__(self, config: WorldConfig):
        self.config = config

    def __call__(self, item: Tuple[str, np.ndarray]) -> ScoringFeatures:
        name, wav = item
        return wav_features(wav, self.config, name=name)


def _fmt(value: Optional[float], spec: str = ".3f") -> str:
    return "NA" if value is None else format(value, spec)


def _mean(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _means(scores: List[dict]) -> Dict[str, Optional[float]]:
    return {m: _mean(s[m] for s in scores) for m in CURVE_METRICS}


class _Similarity:
    """Speaker similarity of waveforms to the output speaker's centroid (and the share
    closer to it than to the input speaker's), or nothing without centroids."""

    def __init__(self, centroids: Optional[Dict[str, SpeakerCentroid]], fs: int):
        self.centroids, self.fs = centroids, fs
        self.encoder = None if centroids is None else SpeakerEncoder()

    def __call__(self, wavs: Sequence[Tuple[str, np.ndarray]], in_side: str, out_side: str) -> dict:
        if self.encoder is None:
            return {}
        embeddings, _ = self.encoder.embed_wavs(wavs, self.fs)
        sims = similarity_to(embeddings, self.centroids[out_side], self.centroids[in_side])
        summary = summarize_similarity(list(sims.values()))
        return dict(spk_sim_target=summary["to_target"], spk_closer_to_target=summary["closer_to_target"])


def learning_curve(
    exp_dir: Path,
    src_wav_scp: str,
    trg_wav_scp: str,
    srcspk: str,
    trgspk: str,
    outdir: Path,
    num_utts: Optional[int] = 10,
    directions: Sequence[str] = DIRECTIONS,
    nj: int = 1,
    train_config: Optional[Path] = None,
    every: int = 1,
    centroids: Optional[Dict[str, SpeakerCentroid]] = None,
    checkpoints: Optional[Sequence[Tuple[int, Path]]] = None,
    device: str = "cpu",
) -> dict:
    """Score every epoch checkpoint of exp_dir; see the module docstring.

    centroids: {"src": ..., "trg": ...} speaker centroids for the speaker
    similarity; None leaves it out.
    checkpoints: (epoch, model file) pairs to score instead of exp_dir's
    ``<n>epoch.pth`` (every is then unused).
    device: Torch device of the generators.
    """
    start = time.perf_counter()
    exp_dir = Path(exp_dir)
    train_config = Path(train_config or exp_dir / "config.yaml")
    checkpoints = list(checkpoints) if checkpoints else epoch_checkpoints(exp_dir, every)
    sentences = common_sentences(src_wav_scp, trg_wav_scp, srcspk, trgspk, num_utts)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "curve.json").unlink(missing_ok=True)

    config = VoiceConverter(train_config, checkpoints[-1][1]).world
    similarity = _Similarity(centroids, config.fs)
    wavs = {"src": [s[1] for s in sentences], "trg": [s[2] for s in sentences]}
    logging.info(
        "%d checkpoint(s), %d sentence(s) x %d direction(s); analysing the inputs (nj=%d)",
        len(checkpoints), len(sentences), len(directions), nj,
    )
    with multiprocessing.Pool(nj) as pool:
        analysed = {side: pool.map(_Analysis(config), paths, chunksize=1) for side, paths in wavs.items()}
        baseline = {}
        for d in directions:
            in_side, out_side = direction_sides(d)
            baseline[d] = _means(
                [score_features(ref, inp[1]) for inp, (_, ref) in zip(analysed[in_side], analysed[out_side])]
            )
            baseline[d].update(similarity([(p, load_wav(p, config.fs)) for p in wavs[in_side]], in_side, out_side))
        points = []
        for epoch, path in checkpoints:
            converter = VoiceConverter(train_config, path, device=device)
            updates = int(converter.model.num_updates)
            for d in directions:
                in_side, out_side = direction_sides(d)
                items = []
                for (sent, *_), (feats, _) in zip(sentences, analysed[in_side]):
                    full = WorldFeatures(f0=feats.f0, mcep=feats.mcep, ap=decode_ap(feats.ap, config))
                    items.append((f"{path.name}:{d}:{sent}", converter.convert_features(full, d, name=sent)))
                converted = pool.map(_ConvertedAnalysis(config), items, chunksize=1)
                means = _means(
                    [score_features(ref, hyp) for hyp, (_, ref) in zip(converted, analysed[out_side])]
                )
                means["pause_power_change"] = _mean(
                    pause_power_change(inp.power_db, hyp.power_db)
                    for hyp, (_, inp) in zip(converted, analysed[in_side])
                )
                means.update(similarity(items, in_side, out_side))
                points.append(dict(epoch=epoch, updates=updates, direction=d, **means))
                logging.info(
                    "%s (%d updates) %s: MCD %.3f (speech %.3f) dB, log-F0 RMSE %s, pause power "
                    "change %s dB, speaker similarity to the target %s; baseline MCD %.3f",
                    path.name, updates, d, means["mcd"], means["mcd_speech"], _fmt(means["logf0_rmse"]),
                    _fmt(means["pause_power_change"], "+.1f"), _fmt(means.get("spk_sim_target")),
                    baseline[d]["mcd"],
                )
    names = {"src_to_trg": f"{srcspk}->{trgspk}", "trg_to_src": f"{trgspk}->{srcspk}"}
    result = {
        "exp_dir": str(exp_dir.resolve()),
        "train_config": str(train_config.resolve()),
        "directions": {d: names[d] for d in directions},
        "sentences": [s[0] for s in sentences],
        "baseline": baseline,
        "points": points,
        "elapsed_seconds": round(time.perf_counter() - start, 1),
    }
    write_text_atomic(outdir / "curve.tsv", curve_tsv(points, baseline))
    plot_curve(result, outdir / "curve.png")
    write_text_atomic(outdir / "curve.json", json.dumps(result, indent=2) + "\n")
    return result


def curve_tsv(points: List[dict], baseline: Dict[str, dict]) -> str:
    metrics = CURVE_METRICS + tuple(m for m in SIMILARITY_METRICS if points and m in points[0])
    cols = (["epoch", "updates", "direction"] + list(metrics) + ["pause_power_change"]
            + [f"{m}_baseline" for m in metrics])
    lines = ["\t".join(cols)]
    for p in points:
        base = baseline[p["direction"]]
        lines.append("\t".join(
            [str(p["epoch"]), str(p["updates"]), p["direction"]]
            + [_fmt(p[m], ".4f") for m in metrics + ("pause_power_change",)]
            + [_fmt(base[m], ".4f") for m in metrics]
        ))
    return "\n".join(lines) + "\n"


def plot_curve(result: dict, out_png: Path) -> None:
    """MCD and log-F0 RMSE against generator updates, one colour per direction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_mcd, ax_f0, ax_pause, ax_spk) = plt.subplots(1, 4, figsize=(21, 4.5), constrained_layout=True)
    for k, (d, name) in enumerate(result["directions"].items()):
        color = f"C{k}"
        pts = [p for p in result["points"] if p["direction"] == d]
        x = [p["updates"] for p in pts]
        base = result["baseline"][d]
        ax_mcd.plot(x, [p["mcd"] for p in pts], "o-", color=color, label=f"{name} all frames")
        ax_mcd.plot(x, [p["mcd_speech"] for p in pts], "s:", color=color, label=f"{name} speech frames")
        ax_mcd.axhline(base["mcd"], color=color, ls="--", lw=1, label=f"{name} baseline (all)")
        ax_mcd.axhline(base["mcd_speech"], color=color, ls=":", lw=1, label=f"{name} baseline (speech)")
        if all(p["logf0_rmse"] is not None for p in pts):
            ax_f0.plot(x, [p["logf0_rmse"] for p in pts], "o-", color=color, label=name)
        if base["logf0_rmse"] is not None:
            ax_f0.axhline(base["logf0_rmse"], color=color, ls="--", lw=1, label=f"{name} baseline")
        if all(p["pause_power_change"] is not None for p in pts):
            ax_pause.plot(x, [p["pause_power_change"] for p in pts], "o-", color=color, label=name)
        if all(p.get("spk_sim_target") is not None for p in pts):
            ax_spk.plot(x, [p["spk_sim_target"] for p in pts], "o-", color=color, label=name)
        if base.get("spk_sim_target") is not None:
            ax_spk.axhline(base["spk_sim_target"], color=color, ls="--", lw=1, label=f"{name} baseline")
    ax_pause.axhline(0.0, color="k", ls="--", lw=1, label="as quiet as the source")
    ax_pause.set_ylabel("pause power change [dB]")
    ax_mcd.set_ylabel("MCD [dB]")
    ax_f0.set_ylabel("log-F0 RMSE [ln Hz]")
    ax_spk.set_ylabel("speaker similarity to the target [cos]")
    for ax in (ax_mcd, ax_f0, ax_pause, ax_spk):
        ax.set_xlabel("generator updates")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{Path(result['exp_dir']).name}: {len(result['sentences'])} evaluation sentence(s)")
    with atomic_output(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", required=True, type=Path, help="training output dir (vc_train --output_dir)")
    parser.add_argument("--train_config", type=Path, default=None, help="default: EXP_DIR/config.yaml")
    parser.add_argument("--src_wav_scp", required=True, help="wav.scp of the source speaker's evaluation set")
    parser.add_argument("--trg_wav_scp", required=True, help="wav.scp of the target speaker's evaluation set")
    parser.add_argument("--srcspk", required=True, help="source speaker id (utterance id prefix)")
    parser.add_argument("--trgspk", required=True, help="target speaker id (utterance id prefix)")
    parser.add_argument("--num_utts", type=int_at_least(0), default=10, help="first N common sentences; 0 = all")
    parser.add_argument("--directions", nargs="+", choices=DIRECTIONS, default=list(DIRECTIONS))
    parser.add_argument("--nj", type=positive_int, default=1, help="worker processes for WORLD analysis")
    parser.add_argument("--every", type=positive_int, default=1,
                        help="score every N-th epoch model (and always the last one)")
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--src_centroid", default=None,
                        help="source speaker's centroid (bin.speaker_centroid); with --trg_centroid, "
                        "adds the speaker similarity to the curve")
    parser.add_argument("--trg_centroid", default=None, help="target speaker's centroid")
    add_log_level_argument(parser)
    return parser


def main(cmd: Optional[Sequence[str]] = None) -> None:
    parser = get_parser()
    args = parser.parse_args(cmd)
    setup_logging(args.log_level)
    if (args.src_centroid is None) != (args.trg_centroid is None):
        parser.error("--src_centroid and --trg_centroid go together")

    def job():
        centroids = None
        if args.src_centroid is not None:
            centroids = {"src": SpeakerCentroid.load(args.src_centroid), "trg": SpeakerCentroid.load(args.trg_centroid)}
        learning_curve(
            args.exp_dir, args.src_wav_scp, args.trg_wav_scp, args.srcspk, args.trgspk, args.outdir,
            num_utts=args.num_utts or None, directions=args.directions, nj=args.nj,
            train_config=args.train_config, every=args.every, centroids=centroids,
        )

    run_main("vc_learning_curve", job)


if __name__ == "__main__":
    main()
