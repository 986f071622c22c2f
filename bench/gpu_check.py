#!/usr/bin/env python3
"""GPU check: training speed at the paper's widths, then a time-limited paper training.

    bash bench/gpu_check.sh [--tiny] [--outdir DIR] [--budget_s 540]

Run through bench/gpu_check.sh, which caps the whole run at 9.5 minutes. In one
run, on real VCC2016 SF1/TM3 features (the paper's non-parallel halves of the
training set, WORLD with dio):
  1. updates per second at batch 1 x 128 frames, the task's default (paper)
     widths, through the real VCTask + GANTrainer (`vc_train`) and through
     the model's own step without the trainer (benchmark.py's step worker:
     VCTask.build_model / build_optimizers, both turns with their Adam steps),
     for three variants of the model options: float32 (PyTorch's defaults,
     under which cuDNN may run convolutions in TF32); bfloat16 autocast
     (`autocast_dtype`); bfloat16 autocast plus torch.compile of the networks
     (`compile_networks`). CUDA graphs are not measured: the model's step
     reads its losses on the host (the reported statistics, the finite-loss
     check, the identity-loss schedule), so neither it nor ESPnet's trainer
     around it can be captured as one graph;
  2. the paper configuration (egs2/vcc2016/vc1/conf/train_cyclegan_vc.yaml,
     with global MVN as the recipe trains it) through `vc_train` with the
     fastest variant of step 1, stopped when the budget (less what scoring
     needs) is spent: updates reached, updates/s and the generator cycle
     loss of the last logged interval;
  3. that model's last saved epoch (latest.pth) converts the SF1 and TM3
     evaluation sentences (evaluation_all/) both ways and they are scored
     as the recipe's stage 6 scores them (vc_learning_curve's scorer: MCD on
     all and on speech frames, log-F0 RMSE, beside the unconverted
     baseline); the curve files go to <outdir>/scores/;
  4. a table on stdout and <outdir>/gpu_check.json.
Without CUDA, or with --tiny, the networks are benchmark.py's TINY widths
and every count is small, so the run checks the whole path on a CPU (CI).
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import kaldiio
import numpy as np
import yaml

from espnet2_cyclegan_vc.bin import add_log_level_argument, setup_logging
from espnet2_cyclegan_vc.fileio import write_text_atomic

from benchmark import PAPER, TINY, host_info, host_line, prepare_data, worker  # bench/benchmark.py, beside this file

REPO = Path(__file__).resolve().parents[1]  # the checkout: bench/ beside egs2/
RECIPE_CONF = REPO / "egs2/vcc2016/vc1/conf/train_cyclegan_vc.yaml"
VARIANTS = {
    "fp32": {},
    "bf16": {"autocast_dtype": "bfloat16"},
    "bf16+compile": {"autocast_dtype": "bfloat16", "compile_networks": True},
}
SPEAKERS = (("src", "SF1"), ("trg", "TM3"))
CUDA_GRAPHS = ("not measured: the model's step reads its losses on the host (statistics, finite check, "
               "identity-loss schedule), so neither it nor ESPnet's trainer can be captured as one graph")


def write_mvn_stats(feats_scp: Path, output: Path):
    """Feature statistics in ESPnet's collect_stats layout, for global_mvn."""
    feats = np.concatenate([m for _, m in kaldiio.load_scp_sequential(str(feats_scp))]).astype(np.float64)
    np.savez(output, count=np.array(len(feats)), sum=feats.sum(0), sum_square=(feats ** 2).sum(0))


def prepare(args, work: Path):
    """Features and pairs (benchmark.prepare_data), a small validation list, MVN stats."""
    prepare_data(Path(args.vcc2016), work, args.num_utts)
    valid = work / "pairs_valid"
    valid.mkdir()
    for side in ("src", "trg"):
        lines = (work / "pairs" / f"{side}_feats.scp").read_text().splitlines(keepends=True)
        (valid / f"{side}_feats.scp").write_text("".join(lines[: args.num_valid]))
    for spk in ("SF1", "TM3"):
        write_mvn_stats(work / spk / "feats.scp", work / spk / "feats_stats.npz")


def paper_conf(args, work: Path, variant: str):
    """The recipe's configuration, the variant's model options, global MVN and
    the speakers' log-F0 statistics (for conversion)."""
    conf = yaml.safe_load(RECIPE_CONF.read_text())
    if args.tiny:
        conf.update(TINY)
    logf0 = {f"{side}_logf0_stats_file": str(work / spk / "logf0_stats.npz") for side, spk in SPEAKERS}
    conf["model_conf"] = {**conf.get("model_conf", {}), **VARIANTS[variant], **logf0}
    for side, spk in SPEAKERS:
        conf[f"{side}_normalize"] = "global_mvn"
        conf[f"{side}_normalize_conf"] = {"stats_file": str(work / spk / "feats_stats.npz")}
    return conf


def score_paper_run(args, work: Path, exp_dir: Path, outdir: Path, device: str) -> dict:
    """Convert and score the evaluation sentences with exp_dir's last saved epoch."""
    from espnet2_cyclegan_vc.bin.vc_learning_curve import learning_curve

    latest = exp_dir / "latest.pth"  # ESPnet's link to the last saved <n>epoch.pth
    if not latest.exists():
        return {"error": "no epoch finished, so no model was saved to convert with"}
    scps = {}
    for side, spk in SPEAKERS:
        wavs = sorted((Path(args.vcc2016) / "evaluation_all" / spk).glob("*.wav"))[: args.num_eval]
        scps[side] = work / f"eval_{spk}.scp"
        scps[side].write_text("".join(f"{spk}_{w.stem} {w}\n" for w in wavs))
    epoch = int(latest.resolve().name.split("epoch")[0])
    curve = learning_curve(exp_dir, str(scps["src"]), str(scps["trg"]), "SF1", "TM3", outdir / "scores",
                           num_utts=None, nj=os.cpu_count() or 1, checkpoints=[(epoch, latest)], device=device)
    scores = {"epoch": epoch, "updates": curve["points"][0]["updates"], "sentences": len(curve["sentences"]),
              "seconds": curve["elapsed_seconds"], "directions": {}}
    for point in curve["points"]:
        d = point["direction"]
        scores["directions"][curve["directions"][d]] = {
            **{m: point[m] for m in ("mcd", "mcd_speech", "logf0_rmse")},
            **{f"baseline_{m}": curve["baseline"][d][m] for m in ("mcd", "mcd_speech", "logf0_rmse")},
        }
    return scores


def measure(name, **kw):
    """benchmark.worker, a failure recorded instead of raised: one failing
    variant (a compile error, say) must not cost the rest of a device run."""
    try:
        return worker(name, **kw)
    except RuntimeError as e:
        logging.error("%s %s failed: %s", name, kw.get("conf", kw.get("config", {})).get("model_conf"), e)
        return {"error": str(e)[-2000:]}


def run(args):
    import torch

    start = time.perf_counter()
    cuda = torch.cuda.is_available()
    device, ngpu = ("cuda", ["--ngpu", "1"]) if cuda else ("cpu", ["--ngpu", "0"])
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results = {"host": host_info(), "settings": vars(args), "widths": "tiny" if args.tiny else "paper",
               "training": {}, "paper_run": {}, "cuda_graphs": CUDA_GRAPHS}

    def save():  # after every step, so that a run stopped by the time limit leaves its results
        results["total_s"] = time.perf_counter() - start
        write_text_atomic(outdir / "gpu_check.json", json.dumps(results, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="cyclegan_vc_gpu_check_") as tmp:
        work = Path(tmp)
        prepare(args, work)
        results["prepare_s"] = time.perf_counter() - start
        widths = TINY if args.tiny else PAPER
        for name, opts in VARIANTS.items():
            conf = {**widths, "model_conf": opts}
            step = measure("step", config=conf, threads=torch.get_num_threads(), iters=args.iters, warmup=3,
                           device=device)
            espnet = measure("espnet_train", conf=conf, iters=args.iters, workdir=str(work),
                             extra=ngpu, valid="pairs_valid")
            espnet.pop("output_dir", None)  # in the temporary directory
            results["training"][name] = {"espnet": espnet, "step": step}
            save()
            logging.info("%s: espnet %s updates/s, model step %s updates/s", name, espnet.get("updates_per_s"),
                         step.get("updates_per_s"))
        best = max(VARIANTS, key=lambda n: results["training"][n]["espnet"].get("updates_per_s", 0.0))
        conf = paper_conf(args, work, best)
        seconds = args.train_s or max(args.budget_s - (time.perf_counter() - start) - args.reserve_s, 20.0)
        logging.info("paper configuration (%s) for %.0f s", best, seconds)
        paper = measure("espnet_timed_train", conf=conf, seconds=seconds, iters_per_epoch=args.epoch_iters,
                        log_interval=args.log_interval, workdir=str(work),
                        extra=ngpu + ["--num_workers", str(conf.get("num_workers", 0))], valid="pairs_valid")
        if "log" in paper:
            log = outdir / "paper_run_train.log"
            log.write_text(Path(paper.pop("log")).read_text())
            paper["log"] = str(log)
        exp_dir = paper.pop("output_dir", None)  # in the temporary directory
        results["paper_run"] = {"variant": best, **paper}
        save()
        if exp_dir is None:
            results["scores"] = {"error": "the paper run failed: no model to score"}
        else:
            try:
                results["scores"] = score_paper_run(args, work, Path(exp_dir), outdir, device)
            except Exception as e:  # noqa: BLE001 -- the training figures above must still be reported
                logging.exception("scoring the paper run failed")
                results["scores"] = {"error": str(e)[-2000:]}
    save()
    print(format_table(results))
    print(f"\nwrote {outdir / 'gpu_check.json'}")
    return results


def format_table(r):
    w, p = r["widths"], r["paper_run"]
    lines = [host_line(r["host"]) + ("" if r["host"]["cuda"] else "; GPU: none"), "",
             "| measurement | value |", "|---|---|"]
    for name, t in r["training"].items():
        for path, label in (("espnet", "ESPnet vc_train"), ("step", "model step without the trainer")):
            v = t[path]
            value = "failed (see JSON)" if "error" in v else (
                f"{v['updates_per_s']:.3f} updates/s ({v['s_per_update']:.4f} s/update)")
            lines.append(f"| train {w} widths, {name}, {label} | {value} |")
    head = f"| paper config ({w} widths, {p['variant']})"
    if "error" in p:
        lines.append(f"{head} | failed (see JSON) |")
    else:
        lines += [f"{head}, {p['seconds']:.0f} s: updates reached | "
                  f"{p['updates']} (saved in latest.pth: {p['updates_saved']}) |",
                  f"{head}: updates/s, first to last logged interval | {p['updates_per_s']:.3f} |",
                  f"{head}: generator cycle loss, last logged interval | {p['generator_cycle_loss']:.4f} |"]
    s = r.get("scores", {"error": "not reached"})
    if "error" in s:
        lines.append(f"{head}: scores | failed: {s['error'][:200]} |")
    else:
        lines.append(f"{head}: scored model | epoch {s['epoch']}, {s['updates']} updates, "
                     f"{s['sentences']} evaluation sentences |")
        for name, v in s["directions"].items():
            lines.append(f"{head}: {name} MCD / speech MCD / log-F0 RMSE, baseline | "
                         f"{v['mcd']:.3f} / {v['mcd_speech']:.3f} / {v['logf0_rmse']:.3f}, "
                         f"{v['baseline_mcd']:.3f} / {v['baseline_mcd_speech']:.3f} / "
                         f"{v['baseline_logf0_rmse']:.3f} |")
    lines.append(f"| CUDA graphs | {r['cuda_graphs']} |")
    return "\n".join(lines)


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vcc2016", default=os.environ.get("VCC2016", str(REPO.parent / "shared/vcc2016")),
                        help="VCC2016 corpus root")
    parser.add_argument("--outdir", default=str(REPO / "bench/results/gpu_check"))
    parser.add_argument("--tiny", action="store_true", help="Tiny widths and counts (default without CUDA)")
    parser.add_argument("--budget_s", type=float, default=540.0,
                        help="Wall seconds of the whole check; the paper run gets what is left")
    parser.add_argument("--reserve_s", type=float,
                        help="Seconds kept back after the paper run, for scoring and the end (150; tiny 20)")
    parser.add_argument("--train_s", type=float, help="Seconds of the paper run (default: what is left)")
    parser.add_argument("--iters", type=int, help="Timed iterations per speed measurement (20; tiny 3)")
    parser.add_argument("--num_utts", type=int, help="Utterances per speaker (81, the paper's halves; tiny 2)")
    parser.add_argument("--num_eval", type=int, help="Evaluation sentences scored per direction (54, all; tiny 2)")
    parser.add_argument("--num_valid", type=int, help="Validation pairs (5; tiny 1)")
    parser.add_argument("--epoch_iters", type=int, help="Iterations per epoch of the paper run (500; tiny 10)")
    parser.add_argument("--log_interval", type=int, help="Log interval of the paper run (50; tiny 5)")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    import torch

    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    if not torch.cuda.is_available() and not args.tiny:
        logging.warning("gpu_check: no CUDA device, running --tiny on the CPU")
        args.tiny = True
    defaults = dict(iters=3, num_utts=2, num_valid=1, num_eval=2, epoch_iters=10, log_interval=5, train_s=20.0,
                    reserve_s=20.0) if args.tiny \
        else dict(iters=20, num_utts=81, num_valid=5, num_eval=54, epoch_iters=500, log_interval=50, reserve_s=150.0)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not (Path(args.vcc2016) / "vcc2016_training").is_dir():
        sys.exit(f"gpu_check: --vcc2016 {args.vcc2016} does not hold vcc2016_training/")
    run(args)


if __name__ == "__main__":
    main()
