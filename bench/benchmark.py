#!/usr/bin/env python3
"""Seconds per training update of the model's own step, its FLOPs and the share of the machine it uses.

    python bench/benchmark.py                       # the side-by-side table
    python bench/benchmark.py --quick               # the same at tiny widths (seconds; CI)
    python bench/benchmark.py --all                 # + vc_train, WORLD analysis, conversion
    python bench/benchmark.py --variants            # the three models of the recipe's configs

A script of the repository, not of the installed package: it reads the
recipes' training files (egs2/) and the VCC2016 corpus beside the checkout.

The main output is one table. Rows: three configurations (the VCC2016 CPU
configuration, egs2/vcc2016/vc1/conf/train_cyclegan_vc_cpu.yaml; the mini
recipe's egs2/mini_vc/vc1/conf/train_mini.yaml; the paper's widths, the task's
defaults at batch 1; with --configs, also the studies' candidates in
CONFIGS) x the step settings of STEPS (separate generator passes;
batched passes, the step of 2026-12-06 and the speed-up's reference; fused
Adam; fused Adam with bfloat16 autocast of the networks, only where the CPU
has bfloat16 instructions), each applied over the configuration's own file
x 1 thread and all the threads this process may use. Each row builds the
model and its optimisers with VCTask.build_model / VCTask.build_optimizers
and times what ESPnet's GANTrainer does per batch with generator_first: the
generator turn (forward, backward, Adam step, both optimisers' zero_grad),
then the discriminator turn, on random features of the configuration's
batch x segment_frames x feats_dim. Columns: seconds per update (median over
the timed iterations), updates per second, GFLOP per update (counted by
torch.utils.flop_counter over one more update: matrix products and
convolutions, forward and backward), the GFLOP/s that achieves, its share of
the calibration of the same threads and dtype, the calibration-normalised
cost and the speed-up against the reference step at the same threads.

Host line and calibration: the CPU model, which of avx2 / avx512f /
avx512_bf16 / amx_tile / fma it has, the logical CPUs this process may use,
torch's threads and version; then a 1024 x 1024 matmul's GFLOP/s (median of
several) on 1 thread and on all threads, in float32 and, where the CPU has
bfloat16 instructions, in bfloat16. The normalised cost is seconds per
update x the float32 calibration GFLOP/s of the same thread count: the
update's cost in "GFLOP of dense matmul", which moves less between hosts than
seconds do (it does not account for memory bandwidth or vector width the
matmul does not use).

Optional, on real VCC2016 speech (--vcc2016): --trainer, the same
configurations through the real VCTask + GANTrainer (vc_train, timed epoch 2,
data loading included) beside the model's step at the same threads (the
trainer's overhead), and two trainer variants; --extraction, WORLD analysis
real-time factor (harvest and dio, 1 and 2 jobs); --conversion, end-to-end
conversion real-time factor of a short and a long utterance (an untrained
model of the CPU configuration's widths: the speed does not depend on the
weights). Every measurement runs in a child process, so that its peak
resident memory (ru_maxrss) is its own. Prints the tables and writes
<outdir>/benchmark.json.

--variants measures the three models of the family (CycleGAN-VC,
CycleGAN-VC2, MaskCycleGAN-VC) as the VCC2016 recipe's configuration files
define them, at the paper's widths and at the CPU budget's: parameters of
each network and CPU seconds per update on 1 thread. Writes
<outdir>/variants.json.

The workers also serve the GPU check (bench/gpu_check.sh, bench/gpu_check.py).
"""

import argparse
import json
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from espnet2_cyclegan_vc.bin import add_log_level_argument, positive_int, setup_logging
from espnet2_cyclegan_vc.fileio import write_text_atomic

REPO = Path(__file__).resolve().parents[1]  # the checkout: bench/ beside egs2/
RECIPE_CONF = REPO / "egs2/vcc2016/vc1/conf"
PAPER = {}  # the task's defaults are the paper's widths, at batch 1
# The table's configurations: name -> (label, training file or dict of options).
CONFIGS = {
    "cpu": ("CPU configuration (vcc2016 train_cyclegan_vc_cpu.yaml)", RECIPE_CONF / "train_cyclegan_vc_cpu.yaml"),
    "mini": ("mini (mini_vc train_mini.yaml)", REPO / "egs2/mini_vc/vc1/conf/train_mini.yaml"),
    "paper": ("paper's widths (task defaults, batch 1)", PAPER),
    "cpu_patchgan": ("CPU configuration, 2-D PatchGAN discriminators (vcc2016 tuning/train_cyclegan_vc_cpu_patchgan.yaml)",
                     RECIPE_CONF / "tuning/train_cyclegan_vc_cpu_patchgan.yaml"),
    "cpu_patchgan_2step": ("CPU configuration, 2-D PatchGAN, two-step adversarial loss "
                           "(vcc2016 tuning/train_cyclegan_vc_cpu_patchgan_2step.yaml)",
                           RECIPE_CONF / "tuning/train_cyclegan_vc_cpu_patchgan_2step.yaml"),
}
DEFAULT_CONFIGS = ("cpu", "mini", "paper")  # the others on request (--configs), for the studies
TINY = {
    "generator_conf": dict(first_channels=8, downsample_channels=[16, 32], residual_hidden_channels=32,
                           num_residual_blocks=1, upsample_channels=[32, 16]),
    "discriminator_conf": dict(first_channels=8, downsample_channels=[8, 16, 16]),
}
# The step settings the table compares, each applied over a configuration's
# own file, so a row means the same whatever the file sets: name -> (label,
# overrides of model_conf / optim_conf / optim2_conf). "batched" is the step of
# 2026-12-06 (commit a20ee9f), the reference of the speed-up column.
STEPS = {
    "separate": ("separate passes, float32", {"model_conf": {"batched_passes": False}}),
    "batched": ("batched passes, float32", {}),
    "fused": ("+ fused Adam", {"optim_conf": {"fused": True}, "optim2_conf": {"fused": True}}),
    "bf16": ("+ fused Adam + bfloat16 autocast",
             {"optim_conf": {"fused": True}, "optim2_conf": {"fused": True},
              "model_conf": {"autocast_dtype": "bfloat16"}}),
}
REFERENCE_STEP = "batched"
# Every row starts from these, so a configuration file's own speed settings do not leak into a row.
STEP_DEFAULTS = {"model_conf": {"batched_passes": True, "autocast_dtype": None},
                 "optim_conf": {"fused": None}, "optim2_conf": {"fused": None}}
BF16_STEPS = ("bf16",)  # measured only where the CPU has bfloat16 instructions (or on a GPU)
FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "fma")
# (paper widths, CPU budget) configuration of each model, in RECIPE_CONF
VARIANT_CONFIGS = {
    "CycleGAN-VC": ("tuning/train_cyclegan_vc.yaml", "train_cyclegan_vc_cpu.yaml"),
    "CycleGAN-VC2": ("tuning/train_cyclegan_vc2.yaml", "tuning/train_cyclegan_vc2_cpu.yaml"),
    "MaskCycleGAN-VC": ("tuning/train_maskcyclegan_vc.yaml", "tuning/train_maskcyclegan_vc_cpu.yaml"),
}


def load_config(config) -> dict:
    """A training configuration as a dict: a file's contents, or a copy of a dict."""
    if isinstance(config, dict):
        return json.loads(json.dumps(config))
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"benchmark: {path} is not there (run from a checkout of the repository)")
    return yaml.safe_load(path.read_text()) or {}


def parse_config(config) -> argparse.Namespace:
    """The task's arguments for a configuration (a file or a dict), as vc_train
    parses them: VCTask's parser with --config, so every option the file does
    not set takes the task's default."""
    from espnet2_cyclegan_vc.tasks.vc import VCTask

    if isinstance(config, dict):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(config, f)
        try:
            return VCTask.get_parser().parse_args(["--config", f.name])
        finally:
            os.unlink(f.name)
    return VCTask.get_parser().parse_args(["--config", str(config)])


def child(args, env=None):
    """Run a command and return its stdout; fail with the end of its stderr."""
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def worker(name, **kw):
    """Run one measurement of this script in a fresh process; returns its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--worker_args", json.dumps(kw)]
    out = child(cmd)
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def all_threads() -> int:
    """Logical CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# ------------------------------------------------------------ host, calibration
def _cpuinfo():
    """(CPU model name, set of flags or None) from /proc/cpuinfo, else lscpu."""
    model, flags = None, None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for key, value in re.findall(r"^([^\t:\n]+?)\s*:\s*(.*)$", text, re.M):
        if key == "model name" and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and flags is None:
            flags = set(value.split())
    if model is None or flags is None:
        try:
            lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        except OSError:
            lscpu = ""
        found = dict(re.findall(r"^([^:\n]+):\s*(.*)$", lscpu, re.M))
        model = model or found.get("Model name")
        if flags is None and "Flags" in found:
            flags = set(found["Flags"].split())
    return model or platform.processor() or platform.machine(), flags


def host_info() -> dict:
    import torch

    model, flags = _cpuinfo()
    return {"cpu_model": model,
            "flags": None if flags is None else {f: f in flags for f in FLAGS_OF_INTEREST},
            "cpus_available": all_threads(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def host_line(h: dict) -> str:
    if h["flags"] is None:
        flags = "flags unknown"
    else:
        present = [f for f, on in h["flags"].items() if on]
        absent = [f for f, on in h["flags"].items() if not on]
        flags = "flags " + (" ".join(present) or "none of interest") + (
            f" (not {' '.join(absent)})" if absent else "")
    return (f"Host: {h['cpu_model']}; {flags}; {h['cpus_available']} logical CPUs available "
            f"(of {h['cpu_count']}); torch {h['torch']} with {h['torch_threads']} threads"
            + (f"; GPU {h['cuda']}" if h.get("cuda") else ""))


def host_has_bf16() -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX), as the model's autocast "auto" decides."""
    from espnet2_cyclegan_vc.cyclegan.cyclegan import native_bfloat16

    return native_bfloat16("cpu") is not None


def w_calibrate(threads, n=1024, reps=9, dtypes=("float32",)):
    """Dense matmul (n x n @ n x n) GFLOP/s, the median of reps, per thread count and dtype."""
    import torch

    result = []
    for t in threads:
        torch.set_num_threads(t)
        for dtype in dtypes:
            a, b = (torch.randn(n, n).to(getattr(torch, dtype)) for _ in range(2))
            c = torch.empty_like(a)
            for _ in range(3):
                torch.mm(a, b, out=c)
            times = []
            for _ in range(reps):
                start = time.perf_counter()
                torch.mm(a, b, out=c)
                times.append(time.perf_counter() - start)
            result.append({"threads": t, "dtype": dtype, "gflops": 2 * n ** 3 / float(np.median(times)) / 1e9,
                           "n": n, "reps": reps})
    return result


def step_overrides(step: str) -> dict:
    """A STEPS entry's overrides over STEP_DEFAULTS."""
    merged = {option: dict(values) for option, values in STEP_DEFAULTS.items()}
    for option, values in STEPS[step][1].items():
        merged[option].update(values)
    return merged


def merge_overrides(args: argparse.Namespace, overrides: dict) -> None:
    """Update the dict options of parsed task arguments (model_conf, optim_conf, ...) key by key."""
    for option, values in overrides.items():
        setattr(args, option, {**(getattr(args, option) or {}), **values})


def count_flops(update) -> int:
    """FLOPs of one call of update, counted by torch.utils.flop_counter
    (matrix products and convolutions, forward and backward; elementwise
    operations, normalisation and the optimiser are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        update()
    return int(counter.get_total_flops())


# ------------------------------------------------------------------ workers
def w_step(config, threads=1, batched_passes=None, device="cpu", iters=5, warmup=1, overrides=None):
    """The model's own training step, timed: VCTask.build_model and
    VCTask.build_optimizers from a configuration (a training file or a dict
    of its options), then per update what ESPnet's GANTrainer does with
    generator_first: the generator turn (model(forward_generator=True),
    backward, its optimiser's step, both optimisers' zero_grad), then the
    discriminator turn, on the same random batch (the discriminator turn
    reuses the generator turn's outputs, as in training). On CUDA, cuDNN is
    set as ESPnet sets it by default (deterministic, no benchmark) and each
    update ends synchronised.

    Args:
        config: Training file path or dict of its options.
        threads: torch.set_num_threads.
        batched_passes: model_conf batched_passes (None: as configured).
        device: torch device.
        iters: Timed updates; warmup: untimed updates before them.
        overrides: Dict options to update key by key (model_conf,
            optim_conf, optim2_conf), e.g. a STEPS entry.

    Returns:
        dict: seconds per update (median; mean and process CPU seconds too),
        FLOPs of one update (counted after the timed ones), the batch,
        parameter counts and peak memory.
    """
    import torch

    from espnet2_cyclegan_vc.tasks.vc import VCTask

    torch.set_num_threads(threads)
    args = parse_config(config)
    if overrides:
        merge_overrides(args, overrides)
    if batched_passes is not None:
        merge_overrides(args, {"model_conf": {"batched_passes": bool(batched_passes)}})
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.manual_seed(0)
    model = VCTask.build_model(args).to(device).train()
    model.progress = None  # no progress lines in a timing
    optimizers = VCTask.build_optimizers(args, model)
    batch, frames = args.batch_size, args.segment_frames
    dim = model.cyclegan.generator["src_to_trg"].in_channels
    gen = torch.Generator().manual_seed(0)
    feats = {}
    for side in ("src", "trg"):
        feats[f"{side}_feats"] = torch.randn(batch, frames, dim, generator=gen).to(device)
        feats[f"{side}_feats_lengths"] = torch.full((batch,), frames, dtype=torch.long, device=device)

    def update():
        for forward_generator, optimizer in zip((True, False), optimizers):
            out = model(forward_generator=forward_generator, **feats)
            out["loss"].backward()
            optimizer.step()
            for o in optimizers:  # as GANTrainer: both, after every turn
                o.zero_grad()

    wall, cpu = [], []
    for it in range(warmup + iters):
        w0, c0 = time.perf_counter(), time.process_time()
        update()
        if cuda:
            torch.cuda.synchronize()
        if it >= warmup:
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)

    def count(modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    updates_done = int(model.num_updates)
    flops = count_flops(update)
    s = float(np.median(wall))
    result = {"s_per_update": s, "gflop_per_update": flops / 1e9, "achieved_gflops": flops / 1e9 / s,
              "autocast_dtype": args.model_conf.get("autocast_dtype"),
              "fused_adam": bool(args.optim_conf.get("fused")), "updates_per_s": 1.0 / s, "mean_s_per_update": float(np.mean(wall)),
              "cpu_s_per_update": float(np.median(cpu)), "iters": iters, "warmup": warmup,
              "threads": torch.get_num_threads(), "device": device,
              "batched_passes": bool(model.cyclegan.batched_passes), "batch": batch, "segment_frames": frames,
              "feats_dim": dim, "generator_params": count([model.cyclegan.generator["src_to_trg"]]),
              "discriminator_params": count([model.cyclegan.discriminator["src"]]),
              "num_discriminators": len(model.cyclegan.discriminator),
              "total_params": count([model.cyclegan.generator, model.cyclegan.discriminator]),
              "num_updates": updates_done, "peak_rss_mib": peak_rss_mib()}
    if cuda:
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return result


def _analyze_file(job):
    from espnet2_cyclegan_vc.world import WorldConfig, analyze, load_wav

    path, f0_method = job
    config = WorldConfig(f0_method=f0_method)
    analyze(load_wav(path, config.fs), config, name=path)
    return peak_rss_mib()


def w_extract(wav_scp, f0_method, nj):
    """WORLD analysis (read, resample, F0, envelope, aperiodicity, MCEP) of a
    wav.scp in nj processes; RTF = wall seconds / audio seconds, process
    start-up excluded."""
    import multiprocessing

    import soundfile

    from espnet2_cyclegan_vc.fileio import read_scp

    paths = [p for _, p in read_scp(wav_scp)]
    audio = sum(soundfile.info(p).duration for p in paths)
    with multiprocessing.get_context("spawn").Pool(nj) as pool:
        pool.map(_analyze_file, [(paths[0], f0_method)] * nj)  # start-up and imports
        start = time.perf_counter()
        peaks = pool.map(_analyze_file, [(p, f0_method) for p in paths], chunksize=1)
        wall = time.perf_counter() - start
    return {"audio_s": audio, "wall_s": wall, "rtf": wall / audio,
            "per_utterance_s": wall * nj / len(paths), "peak_rss_mib": max(peaks)}


def _vc_train_cmd(conf, workdir, valid="pairs", extra=()):
    """vc_train command line on the pairs prepare_data wrote (valid: another
    pair folder of workdir) with conf as its config; returns it and the output dir."""
    work = Path(workdir)
    cfg = work / f"train_{abs(hash(json.dumps([conf, list(extra)], sort_keys=True)))}.yaml"
    cfg.write_text(yaml.safe_dump(conf))
    out = work / (cfg.stem + "_exp")
    cmd = [sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_train", "--config", str(cfg),
           "--output_dir", str(out), "--num_workers", "0", "--use_tensorboard", "false",
           "--use_matplotlib", "false", "--keep_nbest_models", "1"]
    for split, pairs in (("train", work / "pairs"), ("valid", work / valid)):
        for side in ("src", "trg"):
            cmd += [f"--{split}_data_path_and_name_and_type", f"{pairs}/{side}_feats.scp,{side}_feats,kaldi_ark"]
        cmd += [f"--{split}_shape_file", f"{pairs}/src_feats.scp"]
    return cmd + list(extra), out


def w_espnet_train(conf, iters, workdir, extra=(), valid="pairs", threads=None):
    """vc_train (VCTask + GANTrainer); timing of epoch 2 (epoch 1 warms up),
    the exact mean from the checkpoint's reporter (the log rounds it).
    threads: OMP_NUM_THREADS / MKL_NUM_THREADS of the run (None: inherited)."""
    import torch

    cmd, out = _vc_train_cmd(conf, workdir, valid, ["--max_epoch", "2", "--num_iters_per_epoch", str(iters),
                                                    "--log_interval", str(10 ** 6), *extra])
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"vc_train failed:\n{err[-3000:]}")
    checkpoint = torch.load(out / "checkpoint.pth", map_location="cpu", mmap=True, weights_only=False)
    per_update = float(checkpoint["reporter"]["stats"][2]["train"]["train_time"])
    import resource

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"s_per_update": per_update, "updates_per_s": 1.0 / per_update, "threads": threads,
            "peak_rss_mib": peak, "output_dir": str(out)}


def w_espnet_timed_train(conf, seconds, iters_per_epoch, log_interval, workdir, extra=(), valid="pairs"):
    """vc_train stopped after `seconds` of wall time. Updates reached: the last
    logged interval (and num_updates of the last saved epoch, latest.pth, which
    the run is given time to write);
    updates/s: updates over wall time between the first and the last logged
    interval (validation and checkpoints included); generator cycle loss: the
    mean over the last logged interval."""
    import torch

    cmd, out = _vc_train_cmd(conf, workdir, valid, ["--max_epoch", str(10 ** 6), "--num_iters_per_epoch",
                                                    str(iters_per_epoch), "--log_interval", str(log_interval),
                                                    *extra])
    log = Path(workdir) / (out.name + ".log")
    latest = out / "latest.pth"  # ESPnet's link to the last saved epoch

    # Read from the log, not from ESPnet's reporter record (checkpoint.pth):
    # the run is stopped in mid-epoch, and the reporter keeps finished epochs
    # only (their means, and the train phase's time without validation and
    # checkpoints), and none at all if the first epoch does not end in time.
    def logged_intervals():
        return [(datetime.strptime(t, "%Y-%m-%d %H:%M:%S,%f").timestamp(),
                 (int(epoch) - 1) * iters_per_epoch + int(end), stats)
                for t, epoch, end, stats in re.findall(
                    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?(\d+)epoch:train:\d+-(\d+)batch: (.*)",
                    log.read_text())]

    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            # A slow start (torch.compile, or imports on a busy CPU) may leave fewer
            # than the two logged intervals a speed needs, or no finished epoch to
            # convert with: allow up to as long again for them, and at least two
            # minutes (a 20 s CI run on a loaded machine).
            deadline = time.perf_counter() + max(seconds, 120.0)
            while ((len(logged_intervals()) < 2 or not latest.exists())
                   and proc.poll() is None and time.perf_counter() < deadline):
                time.sleep(1.0)
            proc.terminate()  # data-loader workers end when their parent does
            proc.wait()
        else:
            raise RuntimeError(f"vc_train ended before {seconds} s:\n{log.read_text()[-3000:]}")
    wall = time.perf_counter() - start
    text = log.read_text()
    intervals = logged_intervals()
    if len(intervals) < 2:
        raise RuntimeError(f"vc_train logged {len(intervals)} training interval(s) in {seconds} s:\n{text[-3000:]}")
    (t0, n0, _), (t1, n1, stats) = intervals[0], intervals[-1]
    # ESPnet's log sometimes drops the ", " before a key: match the key alone.
    cycle = float(re.search(r"(?<![a-z_])generator_cycle_loss=([0-9.]+(?:e[+-]\d+)?)", stats).group(1))
    saved = 0
    if latest.exists():  # written by this run's vc_train: the model's state dict
        saved = int(torch.load(latest, map_location="cpu", mmap=True)["cyclegan.num_updates"])
    return {"seconds": wall, "updates": n1, "updates_saved": saved, "updates_per_s": (n1 - n0) / (t1 - t0),
            "generator_cycle_loss": cycle, "log": str(log), "output_dir": str(out)}


# The options of a training file that a model's config.yaml needs (what
# VCTask.build_model_from_file reads).
MODEL_KEYS = ("world_conf", "feats_dim", "generator", "generator_conf", "discriminator", "discriminator_conf",
              "src_normalize", "src_normalize_conf", "trg_normalize", "trg_normalize_conf", "model_conf")


def _untrained_converter(config, workdir, wav, seconds, logf0_stats, f0_method):
    """(VoiceConverter of an untrained model of the configuration, `seconds` of the speech in wav looped, fs)."""
    import soundfile
    import torch

    from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter

    args = vars(parse_config(config))
    train_config = Path(workdir) / "convert_config.yaml"
    train_config.write_text(yaml.safe_dump({k: args[k] for k in MODEL_KEYS}))
    audio, fs = soundfile.read(wav)
    reps = int(np.ceil(seconds * fs / len(audio)))
    audio = np.tile(audio, reps)[: int(seconds * fs)]
    torch.manual_seed(0)
    vc = VoiceConverter(train_config, None, src_logf0_stats=logf0_stats[0], trg_logf0_stats=logf0_stats[1],
                        f0_method=f0_method)
    return vc, audio, fs


def w_stream(config, workdir, wav, seconds, logf0_stats, f0_method="dio", threads=1, block_ms=20.0,
             lookahead_frames=None):
    """Streaming conversion of `seconds` of speech fed in block_ms blocks: time of each block
    (mean, 99th percentile, maximum) against the block's length, and its split into WORLD
    analysis, the generator and synthesis (mean per block)."""
    import torch

    torch.set_num_threads(threads)
    vc, audio, fs = _untrained_converter(config, workdir, wav, seconds, logf0_stats, f0_method)
    block = int(round(block_ms * fs / 1000))
    warm = vc.stream(lookahead_frames=lookahead_frames)
    for i in range(0, fs, block):
        warm.feed(audio[i:i + block])
    stream = vc.stream(lookahead_frames=lookahead_frames)
    times, parts = [], []
    for i in range(0, len(audio), block):
        before = dict(stream.part_seconds)
        start = time.perf_counter()
        stream.feed(audio[i:i + block])
        times.append(time.perf_counter() - start)
        parts.append({k: v - before[k] for k, v in stream.part_seconds.items()})
    stream.finish()
    times = np.array(times) * 1000
    return {"audio_s": seconds, "threads": threads, "f0_method": vc.world.f0_method, "block_ms": block_ms,
            "latency_ms": 1000 * stream.latency_s, "lookahead_frames": stream.generator.lookahead,
            "blocks": len(times), "block_ms_mean": float(times.mean()), "block_ms_p99": float(np.percentile(times, 99)),
            "block_ms_max": float(times.max()), "rtf_mean": float(times.mean() / block_ms),
            "rtf_p99": float(np.percentile(times, 99) / block_ms),
            "parts_ms_mean": {k: 1000 * float(np.mean([p[k] for p in parts])) for k in parts[0]},
            "peak_rss_mib": peak_rss_mib()}


def w_convert(config, workdir, wav, seconds, logf0_stats, f0_method=None, threads=1):
    """Conversion of `seconds` of speech on `threads` threads, end to end (VoiceConverter) and
    part by part: WORLD analysis (F0, spectral envelope with its mel-cepstral coding,
    aperiodicity), the generator, and synthesis (F0 transform, envelope decoding, WORLD
    synthesis). An untrained model of the configuration: the speed does not depend on the weights."""
    import pyworld
    import torch

    from espnet2_cyclegan_vc.f0 import convert_f0
    from espnet2_cyclegan_vc.world import estimate_f0, refine_f0, synthesize

    torch.set_num_threads(threads)
    vc, audio, fs = _untrained_converter(config, workdir, wav, seconds, logf0_stats, f0_method)
    w = vc.world
    vc(audio[: fs // 2], fs)  # warm-up
    start = time.perf_counter()
    out = vc(audio, fs)
    wall = time.perf_counter() - start
    if not np.all(np.isfinite(out)):
        raise RuntimeError("conversion produced non-finite samples")
    parts, clock = {}, time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        parts[name] = now - clock
        clock = now

    x = np.ascontiguousarray(audio, dtype=np.float64)
    f0, t = estimate_f0(x, w)
    f0 = refine_f0(x, f0, t, w)
    lap("f0")
    sp = pyworld.cheaptrick(x, f0, t, fs, f0_floor=w.f0_floor, fft_size=w.resolved_fft_size)
    mcep = pyworld.code_spectral_envelope(sp, fs, w.mcep_dim)
    lap("envelope")
    ap = pyworld.d4c(x, f0, t, fs, fft_size=w.resolved_fft_size)
    lap("aperiodicity")
    with torch.no_grad():
        converted = vc.model.convert(torch.from_numpy(mcep.astype(np.float32))).double().numpy()
    lap("network")
    synthesize(convert_f0(f0, vc.logf0["src"], vc.logf0["trg"]), converted, ap, w)
    lap("synthesis")
    return {"audio_s": seconds, "wall_s": wall, "rtf": wall / seconds, "threads": threads,
            "f0_method": w.f0_method, "parts_rtf": {k: v / seconds for k, v in parts.items()},
            "peak_rss_mib": peak_rss_mib()}


WORKERS = {"calibrate": w_calibrate, "step": w_step, "extract": w_extract, "espnet_train": w_espnet_train,
           "espnet_timed_train": w_espnet_timed_train, "convert": w_convert, "stream": w_stream}


# ------------------------------------------------------------------- driver
def prepare_data(db: Path, work: Path, num_utts: int) -> Path:
    """wav.scp of real VCC2016 speech (SF1, TM3: num_utts each), and their
    features, log-F0 statistics and pair list (prepare_pair, WORLD with dio)
    under work/. Returns the wav.scp of both speakers."""
    from espnet2_cyclegan_vc.bin.prepare_pair import prepare_pair

    train = db / "vcc2016_training"
    entries = {spk: [(f"{spk}_{i}", train / spk / f"{i}.wav") for i in range(first, first + num_utts)]
               for spk, first in (("SF1", 100001), ("TM3", 100082))}
    scps = []
    for spk, lines in entries.items():
        scp = work / f"{spk}.scp"
        scp.write_text("".join(f"{k} {v}\n" for k, v in lines))
        scps.append((spk, scp))
    prepare_pair(work, *scps, world_conf={"f0_method": "dio"})
    scp = work / "wav.scp"
    scp.write_text("".join(f"{k} {v}\n" for lines in entries.values() for k, v in lines))
    return scp


def table_config(name: str, quick: bool) -> dict:
    conf = load_config(CONFIGS[name][1])
    return {**conf, **TINY} if quick else conf


def config_source(name: str) -> str:
    source = CONFIGS[name][1]
    return str(Path(source).relative_to(REPO)) if isinstance(source, Path) else "task defaults"


def calibrate(threads, dtypes):
    """{threads: {dtype: GFLOP/s}}, measured in a fresh process."""
    result = {}
    for r in worker("calibrate", threads=list(threads), dtypes=list(dtypes)):
        result.setdefault(r["threads"], {})[r["dtype"]] = r["gflops"]
    return result


def table_steps(args) -> list:
    """The STEPS of the table: those asked for, bfloat16 ones only where the host has the instructions."""
    return [step for step in args.steps if step not in BF16_STEPS or host_has_bf16()]


def row_dtype(row: dict) -> str:
    return row["autocast_dtype"] or "float32"


def measure_table(args, threads, calibration):
    """The side-by-side rows: configuration x step x threads."""
    rows = []
    for name in args.configs:
        conf = table_config(name, args.quick)
        iters = args.paper_iters if name == "paper" else args.iters
        for step in table_steps(args):
            for t in threads:
                r = worker("step", config=conf, threads=t, iters=iters, warmup=args.warmup,
                           overrides=step_overrides(step))
                r.update(config=name, label=CONFIGS[name][0], source=config_source(name),
                         widths="tiny" if args.quick else "as configured", step=step, step_label=STEPS[step][0],
                         normalised_cost=r["s_per_update"] * calibration[t]["float32"],
                         share_of_calibration=r["achieved_gflops"] / calibration[t][row_dtype(r)])
                rows.append(r)
                logging.info("%s, %s, %d thread(s): %.4f s/update, %.1f GFLOP/update", name, STEPS[step][0], t,
                             r["s_per_update"], r["gflop_per_update"])
    for r in rows:
        base = [b for b in rows if b["config"] == r["config"] and b["step"] == REFERENCE_STEP
                and b["threads"] == r["threads"]]
        r["speedup_vs_reference"] = base[0]["s_per_update"] / r["s_per_update"] if base else None
    return rows


def measure_trainer(args, work: Path, rows):
    """vc_train beside the model's step at the same configuration and threads
    (as the file configures it), and two trainer variants of the first configuration."""
    out = {"threads": args.trainer_threads, "configs": {}, "variants": {}}
    t = args.trainer_threads

    for name in args.configs:
        conf = table_config(name, args.quick)
        iters = args.paper_iters if name == "paper" else args.iters
        espnet = worker("espnet_train", conf=conf, iters=iters, workdir=str(work), threads=t)
        # The step as the file configures it (its optimiser and autocast settings, as vc_train runs it).
        step = worker("step", config=conf, threads=t, iters=iters, warmup=args.warmup)
        out["configs"][name] = {"espnet": espnet, "step": step,
                                "espnet_over_step": espnet["s_per_update"] / step["s_per_update"]}
        logging.info("vc_train %s: %.4f s/update (step %.4f)", name, espnet["s_per_update"], step["s_per_update"])
    name = args.configs[0]
    conf = table_config(name, args.quick)
    for label, extra in (("discriminator first (generator outputs recomputed)", ["--generator_first", "false"]),
                         ("data loading in 1 worker process", ["--num_workers", "1"])):
        out["variants"][label] = worker("espnet_train", conf=conf, iters=args.iters, workdir=str(work),
                                        extra=extra, threads=t)
    out["variants"]["default (reuse fakes, loading in-process)"] = out["configs"][name]["espnet"]
    out["variants_config"] = name
    return out


def measure_conversion(args, work: Path) -> dict:
    """Conversion real-time factors on 1 thread: the CPU configuration and the paper's widths (those
    of --configs), harvest (the training's F0) and dio, a short sentence and a long recording."""
    wav = str(Path(args.vcc2016) / "evaluation_all/SF1/200001.wav")
    stats = [str(work / spk / "logf0_stats.npz") for spk in ("SF1", "TM3")]
    out = {}
    for name in [c for c in args.configs if c in ("cpu", "paper")]:
        conf = table_config(name, args.quick)
        for method in ("harvest", "dio"):
            for seconds in (args.short_seconds, args.long_seconds):
                r = worker("convert", config=conf, workdir=str(work), wav=wav, seconds=seconds, logf0_stats=stats,
                           f0_method=method, threads=1)
                r.update(config=name, label=CONFIGS[name][0])
                out[f"{name}, {method}, {seconds:g} s"] = r
                logging.info("conversion %s %s %g s: RTF %.3f", name, method, seconds, r["rtf"])
    return out


def measure_streaming(args, work: Path) -> dict:
    """Streaming conversion on 1 thread, in 20 ms blocks of a long recording: the configurations
    of --configs at the default look-ahead, dio (the stream's F0) and harvest."""
    wav = str(Path(args.vcc2016) / "evaluation_all/SF1/200001.wav")
    stats = [str(work / spk / "logf0_stats.npz") for spk in ("SF1", "TM3")]
    out = {}
    for name in [c for c in args.configs if c in ("cpu", "paper")]:
        conf = table_config(name, args.quick)
        for method in ("dio", "harvest"):
            r = worker("stream", config=conf, workdir=str(work), wav=wav, seconds=args.stream_seconds,
                       logf0_stats=stats, f0_method=method, threads=1, block_ms=20.0)
            r.update(config=name, label=CONFIGS[name][0])
            out[f"{name}, {method}"] = r
            logging.info("streaming %s %s: %.1f ms per 20 ms block (p99 %.1f)", name, method, r["block_ms_mean"],
                         r["block_ms_p99"])
    return out


def run(args):
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    threads = args.threads or sorted({1, all_threads()})
    results = {"host": host_info(), "settings": vars(args)}
    dtypes = ["float32"] + (["bfloat16"] if host_has_bf16() else [])
    calibration = calibrate(threads, dtypes)
    results["calibration"] = {str(t): g for t, g in calibration.items()}
    results["table"] = measure_table(args, threads, calibration)
    if args.trainer or args.extraction or args.conversion or args.streaming:
        with tempfile.TemporaryDirectory(prefix="cyclegan_vc_bench_") as tmp:
            work = Path(tmp)
            scp = prepare_data(Path(args.vcc2016), work, args.num_utts)
            if args.trainer:
                results["trainer"] = measure_trainer(args, work, results["table"])
            if args.extraction:
                results["extraction"] = {f"{method} nj={nj}": worker("extract", wav_scp=str(scp), f0_method=method,
                                                                     nj=nj)
                                         for method in ("harvest", "dio") for nj in (1, 2)}
            if args.conversion:
                results["conversion"] = measure_conversion(args, work)
            if args.streaming:
                results["streaming"] = measure_streaming(args, work)
    return report(results, outdir / "benchmark.json", format_table(results))


def report(results, path: Path, table: str):
    """Write the results as JSON and print their table."""
    write_text_atomic(path, json.dumps(results, indent=2) + "\n")
    print(table)
    print(f"\nwrote {path}")
    return results


def calibration_line(calibration: dict) -> str:
    return "Calibration (1024 x 1024 matmul, median): " + ", ".join(
        f"{t} thread{'s' if int(t) > 1 else ''} " + " / ".join(f"{d} {g:.1f}" for d, g in by_dtype.items()) + " GFLOP/s"
        for t, by_dtype in calibration.items())


def format_table(r):
    lines = [host_line(r["host"]), calibration_line(r["calibration"]), ""]
    if any(row["widths"] == "tiny" for row in r["table"]):
        lines += ["--quick: every configuration's networks at tiny widths (its batch, frames and losses kept)", ""]
    skipped = [s for s in r["settings"]["steps"] if s not in {row["step"] for row in r["table"]}]
    if skipped:
        lines += [f"Not measured: {', '.join(STEPS[s][0] for s in skipped)} (no bfloat16 instructions on this CPU)",
                  ""]
    lines += ["GFLOP/update: matrix products and convolutions of both turns, forward and backward, counted by "
              "torch.utils.flop_counter; share: GFLOP/s achieved over the calibration of the same threads and dtype "
              f"(bfloat16 for autocast rows). Speed-up: against \"{STEPS[REFERENCE_STEP][0]}\" at the same threads.",
              "",
              "| configuration | batch x frames | step | threads | s/update | updates/s | GFLOP/update | GFLOP/s | "
              "share of calibration | normalised cost [GFLOP] | speed-up |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["table"]:
        speedup = "-" if row["speedup_vs_reference"] is None else f"{row['speedup_vs_reference']:.2f}"
        lines.append(f"| {row['label']} | {row['batch']} x {row['segment_frames']} | {row['step_label']} | "
                     f"{row['threads']} | {row['s_per_update']:.4f} | {row['updates_per_s']:.2f} | "
                     f"{row['gflop_per_update']:.2f} | {row['achieved_gflops']:.1f} | "
                     f"{100 * row['share_of_calibration']:.0f} % ({row_dtype(row)}) | {row['normalised_cost']:.1f} | "
                     f"{speedup} |")
    trainer = r.get("trainer")
    if trainer:
        lines += ["", f"Trainer overhead ({trainer['threads']} thread(s), as configured; vc_train: timed epoch 2, "
                      "data loading included):", "",
                  "| configuration | vc_train s/update | model step s/update | vc_train / step | "
                  "vc_train peak RSS [MiB] |", "|---|---|---|---|---|"]
        for name, t in trainer["configs"].items():
            lines.append(f"| {CONFIGS[name][0]} | {t['espnet']['s_per_update']:.4f} | "
                         f"{t['step']['s_per_update']:.4f} | {t['espnet_over_step']:.2f} | "
                         f"{t['espnet']['peak_rss_mib']:.0f} |")
        lines += ["", f"| vc_train variant ({CONFIGS[trainer['variants_config']][0]}) | updates/s | "
                      "peak RSS [MiB] |", "|---|---|---|"]
        for label, v in trainer["variants"].items():
            lines.append(f"| {label} | {v['updates_per_s']:.2f} | {v['peak_rss_mib']:.0f} |")
    if r.get("extraction"):
        lines += ["", "| measurement | value | peak RSS [MiB] |", "|---|---|---|"]
        for label, v in r.get("extraction", {}).items():
            lines.append(f"| WORLD analysis {label} | RTF {v['rtf']:.3f} ({v['audio_s']:.0f} s of speech) | "
                         f"{v['peak_rss_mib']:.0f} |")
    if r.get("conversion"):
        lines += ["", "Conversion on 1 thread: real-time factor (wall / audio seconds; 1/RTF = times faster than "
                      "real time), end to end and by part (WORLD analysis: F0, envelope with MCEP coding, "
                      "aperiodicity; generator; synthesis):", "",
                  "| configuration | F0 | audio | RTF | x real time | F0 | envelope | aperiodicity | network | "
                  "synthesis | peak RSS [MiB] |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for v in r["conversion"].values():
            p = v["parts_rtf"]
            lines.append(f"| {v['label']} | {v['f0_method']} | {v['audio_s']:g} s | {v['rtf']:.4f} | "
                         f"{1 / v['rtf']:.1f} | {p['f0']:.4f} | {p['envelope']:.4f} | {p['aperiodicity']:.4f} | "
                         f"{p['network']:.4f} | {p['synthesis']:.4f} | {v['peak_rss_mib']:.0f} |")
    if r.get("streaming"):
        lines += ["", "Streaming conversion on 1 thread (VoiceConverter.stream, 20 ms blocks of a long recording, "
                      "default look-ahead): time per block, mean, 99th percentile and maximum, against the "
                      "block's 20 ms (real-time while the 99th percentile stays under it), and the mean per "
                      "block by part:", "",
                  "| configuration | F0 | latency [ms] | blocks | mean [ms] | p99 [ms] | max [ms] | RTF p99 | "
                  "analysis [ms] | network [ms] | synthesis [ms] | peak RSS [MiB] |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for v in r["streaming"].values():
            p = v["parts_ms_mean"]
            lines.append(f"| {v['label']} | {v['f0_method']} | {v['latency_ms']:.0f} + {v['block_ms']:g} | "
                         f"{v['blocks']} | {v['block_ms_mean']:.2f} | {v['block_ms_p99']:.2f} | "
                         f"{v['block_ms_max']:.2f} | {v['rtf_p99']:.2f} | {p['analysis']:.2f} | "
                         f"{p['network']:.2f} | {p['synthesis']:.2f} | {v['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def run_variants(args):
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results = {"host": host_info(), "settings": vars(args), "variants": {}}
    for name, configs in VARIANT_CONFIGS.items():
        for scale, config in zip(("paper", "cpu"), configs):
            iters = args.paper_iters if scale == "paper" else args.iters
            results["variants"][f"{name}, {scale}"] = r = worker(
                "step", config=str(RECIPE_CONF / config), threads=1, iters=iters, warmup=args.warmup)
            r["config"] = config
            logging.info("%s %s: %.3f CPU s/update", name, scale, r["cpu_s_per_update"])
    return report(results, outdir / "variants.json", format_variants(results))


def format_variants(r):
    lines = [host_line(r["host"]) + " (1 thread per measurement)", "",
             "| model, widths | configuration | generator params | discriminator params (x number) | "
             "batch x frames | CPU s per update |", "|---|---|---|---|---|---|"]
    for name, v in r["variants"].items():
        lines.append(f"| {name} | {v['config']} | {v['generator_params'] / 1e6:.2f} M | "
                     f"{v['discriminator_params'] / 1e6:.2f} M (x{v['num_discriminators']}) | "
                     f"{v['batch']} x {v['segment_frames']} | {v['cpu_s_per_update']:.3f} |")
    return "\n".join(lines)


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outdir", default=str(REPO / "bench/results"))
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS),
                        help="Step settings of the table (default: all; bfloat16 ones only on CPUs that have it)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(DEFAULT_CONFIGS),
                        help=f"Rows of the table (default: {' '.join(DEFAULT_CONFIGS)})")
    parser.add_argument("--threads", nargs="+", type=positive_int,
                        help="Thread counts of the table (default: 1 and all available)")
    parser.add_argument("--iters", type=positive_int, help="Timed updates per row (default 10; --quick 2)")
    parser.add_argument("--paper_iters", type=positive_int,
                        help="Timed updates per row at the paper's widths (default 3; --quick: --iters)")
    parser.add_argument("--warmup", type=int, help="Untimed updates before them (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="Tiny networks in every configuration (their batch and losses kept) and few "
                             "updates: the whole table in seconds (tests)")
    group = parser.add_argument_group("measurements on real speech (VCC2016)")
    group.add_argument("--vcc2016", default=os.environ.get("VCC2016", str(REPO.parent / "shared/vcc2016")),
                       help="VCC2016 corpus root (default $VCC2016, else ../shared/vcc2016 beside the checkout)")
    group.add_argument("--trainer", action="store_true",
                       help="vc_train (VCTask + GANTrainer) beside the model's step: the trainer's overhead")
    group.add_argument("--trainer_threads", type=positive_int, default=1, help="Threads of the vc_train runs")
    group.add_argument("--extraction", action="store_true", help="WORLD analysis real-time factor")
    group.add_argument("--conversion", action="store_true", help="Conversion real-time factor")
    group.add_argument("--streaming", action="store_true",
                       help="Streaming conversion: time per 20 ms block on 1 thread, by part")
    group.add_argument("--stream_seconds", type=float, default=60.0, help="Audio streamed per measurement")
    group.add_argument("--all", action="store_true", help="--trainer --extraction --conversion --streaming")
    group.add_argument("--num_utts", type=positive_int, default=10, help="Utterances per speaker")
    group.add_argument("--short_seconds", type=float, default=3.0)
    group.add_argument("--long_seconds", type=float, default=30.0)
    parser.add_argument("--variants", action="store_true",
                        help="Measure the three models of the recipe's configurations instead (variants.json)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--worker_args", help=argparse.SUPPRESS)
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    if args.worker:
        result = WORKERS[args.worker](**json.loads(args.worker_args))
        print(json.dumps(result))
        return
    if args.iters is None:
        args.iters = 2 if args.quick else 10
    if args.paper_iters is None:
        args.paper_iters = args.iters if args.quick else 3
    if args.warmup is None:
        args.warmup = 1
    if args.variants:
        run_variants(args)
        return
    if args.all:
        args.trainer = args.extraction = args.conversion = args.streaming = True
    if (args.trainer or args.extraction or args.conversion or args.streaming) and not (
            Path(args.vcc2016) / "vcc2016_training").is_dir():
        sys.exit(f"benchmark: --vcc2016 {args.vcc2016} does not hold vcc2016_training/")
    run(args)


if __name__ == "__main__":
    main()
