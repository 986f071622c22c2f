#!/usr/bin/env python3
"""Speed and memory of training, feature extraction and conversion, side by side.

    python -m espnet2_cyclegan_vc.bin.benchmark --outdir bench/results

Measures, on this machine, in one run:
  1. training iterations per second at batch 1 x 128 frames through the real
     VCTask + GANTrainer (`vc_train`), beside a plain PyTorch loop of the same
     networks, losses and optimisers, for the paper's widths and the small
     ones: the networks, losses and optimisers of the mini recipe's training
     file (egs2/mini_vc/vc1/conf/train_mini.yaml), at batch 1 x 128 frames;
  2. trainer variants: the discriminator turn reusing the generator turn's
     outputs (generator_first, the default) against recomputing them
     (discriminator first), and data loading in a worker process;
  3. WORLD analysis real-time factor (harvest and dio) with 1 and 2 jobs;
  4. conversion real-time factor of a 3 s and a 30 s utterance;
  5. peak resident memory of each measurement (each runs in its own process).
Prints a table and writes <outdir>/benchmark.json. Every measurement runs in a
child process so that its peak memory (ru_maxrss) is its own. The workers
also serve the GPU check (bench/gpu_check.sh, bin/gpu_check.py): the
training workers take a device and the model's speed-up options
(model_conf autocast_dtype, compile_networks), and one trains for a fixed
wall time.

    python -m espnet2_cyclegan_vc.bin.benchmark --variants --outdir bench/results

measures instead the three models of the family (CycleGAN-VC, CycleGAN-VC2,
MaskCycleGAN-VC) as the VCC2016 recipe's configuration files define them, at
the paper's widths and at the CPU budget's: parameters of each generator and
discriminator, and CPU seconds per training iteration (both turns of the
model's one training step with their Adam updates, on random features of the
configuration's batch and segment, one thread; process CPU time, so other
work on the machine slows it little). Writes <outdir>/variants.json.
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

from espnet2_cyclegan_vc.bin import add_log_level_argument, setup_logging
from espnet2_cyclegan_vc.fileio import write_text_atomic

PAPER = {}  # the task's defaults are the paper's widths
REPO = Path(__file__).resolve().parents[2]  # the checkout holding egs2/ (an editable install)
MINI_CONF = REPO / "egs2/mini_vc/vc1/conf/train_mini.yaml"
# What the small setting takes from MINI_CONF: the model and its optimisers.
# The run's length, batch, loading and checkpoints are the benchmark's own.
MINI_KEYS = ("generator", "generator_conf", "discriminator", "discriminator_conf", "model_conf",
             "optim", "optim_conf", "scheduler", "scheduler_conf",
             "optim2", "optim2_conf", "scheduler2", "scheduler2_conf", "grad_clip")
TINY = {
    "generator_conf": dict(first_channels=8, downsample_channels=[16, 32], residual_hidden_channels=32,
                           num_residual_blocks=1, upsample_channels=[32, 16]),
    "discriminator_conf": dict(first_channels=8, downsample_channels=[8, 16, 16]),
}


def small_conf(path: Path = MINI_CONF) -> dict:
    """The small setting: the mini recipe's model and optimisers, batch 1 x 128 frames.

    Read from the recipe's training file each time, so the benchmark measures
    what the mini recipe trains; the file lies in the repository, not in the
    installed package.
    """
    if not path.is_file():
        raise FileNotFoundError(f"benchmark: the small setting reads the mini recipe's {path}, "
                                "which is not there (run from a checkout of the repository)")
    conf = yaml.safe_load(path.read_text())
    return {**{k: conf[k] for k in MINI_KEYS if k in conf}, "batch_size": 1, "segment_frames": 128}


def child(args):
    """Run a command and return its stdout; fail with the end of its stderr."""
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def worker(name, **kw):
    """Run one measurement of this module in a fresh process; returns its JSON."""
    cmd = [sys.executable, "-m", "espnet2_cyclegan_vc.bin.benchmark", "--worker", name,
           "--worker_args", json.dumps(kw)]
    out = child(cmd)
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------ workers
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


def _model_and_data(conf, segment, device="cpu"):
    import torch

    from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
    from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator

    # The plain loop builds CycleGAN-VC's networks only: refuse a conf naming
    # others rather than time a different model than vc_train trains.
    for name in ("generator", "discriminator"):
        if conf.get(name, "cyclegan_vc") != "cyclegan_vc":
            raise ValueError(f"plain_train builds cyclegan_vc networks, not {name} {conf[name]}")
    torch.manual_seed(0)
    gens = [CycleGANVCGenerator(**conf.get("generator_conf", {})).to(device) for _ in range(2)]
    discs = [CycleGANVCDiscriminator(**conf.get("discriminator_conf", {})).to(device) for _ in range(2)]
    x, y = torch.randn(1, 24, segment, device=device), torch.randn(1, 24, segment, device=device)
    return gens, discs, x, y


def w_plain_train(conf, iters, warmup, segment=128, device="cpu", cuda_graph=False):
    """The same networks, losses and optimisers in a hand-written loop: of
    model_conf, the adversarial loss type, the loss weights, autocast_dtype
    and compile_networks applied as the model applies them; the Adam rates and
    betas of optim_conf and optim2_conf (the task's defaults where conf has
    none). On CUDA, cuDNN is set as ESPnet sets it by default
    (deterministic, no benchmark) and each iteration ends synchronised.

    cuda_graph (CUDA only): the whole iteration (both turns' forward,
    backward and Adam steps) is captured once as one CUDA graph and replayed,
    which removes the CPU's per-kernel launch cost; an upper bound for what
    graphs could give, since ESPnet's trainer cannot be captured whole.
    """
    import torch

    from espnet2_cyclegan_vc.cyclegan_vc.espnet_model import with_autocast
    from espnet2_cyclegan_vc.cyclegan_vc.loss import (
        DiscriminatorAdversarialLoss,
        GeneratorAdversarialLoss,
        l1_loss,
    )

    cuda = torch.device(device).type == "cuda"
    if cuda_graph and not cuda:
        raise ValueError("cuda_graph needs a CUDA device")
    if cuda:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    (g_xy, g_yx), (d_x, d_y), x, y = _model_and_data(conf, segment, device)
    opts = conf.get("model_conf", {})
    loss_type = opts.get("adversarial_loss_type", "bce")
    gen_adv, dis_adv = GeneratorAdversarialLoss(loss_type), DiscriminatorAdversarialLoss(loss_type)
    lambda_cycle, lambda_identity = opts.get("lambda_cycle", 10.0), opts.get("lambda_identity", 5.0)

    def adam(params, optim_conf, lr):
        optim_conf = conf.get(optim_conf) or {}
        betas = tuple(optim_conf.get("betas", (0.5, 0.999)))
        return torch.optim.Adam(params, optim_conf.get("lr", lr), betas=betas, capturable=cuda_graph)

    opt_g = adam(list(g_xy.parameters()) + list(g_yx.parameters()), "optim_conf", 2e-4)
    opt_d = adam(list(d_x.parameters()) + list(d_y.parameters()), "optim2_conf", 1e-4)
    dtype = getattr(torch, opts["autocast_dtype"]) if opts.get("autocast_dtype") else None
    compile_networks = opts.get("compile_networks", False)
    if cuda_graph:
        # one autocast region without its weight cache, as graph capture requires
        g_xy, g_yx, d_x, d_y = (torch.compile(net) if compile_networks else net for net in (g_xy, g_yx, d_x, d_y))
        autocast = dict(device_type="cuda", dtype=dtype or torch.float32, enabled=dtype is not None,
                        cache_enabled=False)
    else:
        g_xy, g_yx, d_x, d_y = (with_autocast(torch.compile(net) if compile_networks else net, dtype)
                                for net in (g_xy, g_yx, d_x, d_y))
        autocast = dict(device_type=torch.device(device).type, enabled=False)

    def step():
        with torch.autocast(**autocast):
            fake_y, fake_x = g_xy(x), g_yx(y)
            loss = gen_adv(d_y(fake_y).float()) + gen_adv(d_x(fake_x).float())
            loss = loss + lambda_cycle * (l1_loss(g_yx(fake_y).float(), x) + l1_loss(g_xy(fake_x).float(), y))
            loss = loss + lambda_identity * (l1_loss(g_xy(y).float(), y) + l1_loss(g_yx(x).float(), x))
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        with torch.autocast(**autocast):
            fake_y, fake_x = fake_y.detach(), fake_x.detach()
            d_loss = sum(dis_adv(d_y(y).float(), d_y(fake_y).float())) + sum(
                dis_adv(d_x(x).float(), d_x(fake_x).float()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

    if cuda_graph:
        side = torch.cuda.Stream()  # warm-up off the default stream, as capture requires
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(max(warmup, 3)):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        run, warmup = graph.replay, 1
    else:
        run = step
    times = []
    for it in range(warmup + iters):
        start = time.perf_counter()
        run()
        if cuda:
            torch.cuda.synchronize()
        if it >= warmup:
            times.append(time.perf_counter() - start)
    result = {"s_per_iter": float(np.mean(times)), "it_per_s": 1.0 / float(np.mean(times)),
              "peak_rss_mib": peak_rss_mib()}
    if cuda:
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return result


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


def w_espnet_train(conf, iters, workdir, extra=(), valid="pairs"):
    """vc_train (VCTask + GANTrainer); timing of epoch 2 (epoch 1 warms up),
    the exact mean from the checkpoint's reporter (the log rounds it)."""
    import torch

    cmd, out = _vc_train_cmd(conf, workdir, valid, ["--max_epoch", "2", "--num_iters_per_epoch", str(iters),
                                                    "--log_interval", str(10 ** 6), *extra])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"vc_train failed:\n{err[-3000:]}")
    checkpoint = torch.load(out / "checkpoint.pth", map_location="cpu", mmap=True, weights_only=False)
    per_iter = float(checkpoint["reporter"]["stats"][2]["train"]["train_time"])
    import resource

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"s_per_iter": per_iter, "it_per_s": 1.0 / per_iter, "peak_rss_mib": peak, "output_dir": str(out)}


def w_espnet_timed_train(conf, seconds, iters_per_epoch, log_interval, workdir, extra=(), valid="pairs"):
    """vc_train stopped after `seconds` of wall time. Updates reached: the last
    logged interval (and num_updates of the last saved epoch, latest.pth);
    it/s: updates over wall time between the first and the last logged
    interval (validation and checkpoints included); generator cycle loss: the
    mean over the last logged interval."""
    import torch

    cmd, out = _vc_train_cmd(conf, workdir, valid, ["--max_epoch", str(10 ** 6), "--num_iters_per_epoch",
                                                    str(iters_per_epoch), "--log_interval", str(log_interval),
                                                    *extra])
    log = Path(workdir) / (out.name + ".log")

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
            # A slow start (torch.compile on a busy CPU) may leave fewer than the
            # two logged intervals a speed needs: allow up to as long again for them.
            deadline = time.perf_counter() + seconds
            while len(logged_intervals()) < 2 and proc.poll() is None and time.perf_counter() < deadline:
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
    latest = out / "latest.pth"
    saved = int(torch.load(latest, map_location="cpu", mmap=True)["num_updates"]) if latest.exists() else 0
    return {"seconds": wall, "updates": n1, "updates_saved": saved, "it_per_s": (n1 - n0) / (t1 - t0),
            "generator_cycle_loss": cycle, "log": str(log)}


def w_convert(conf_dir, wav, seconds, logf0_stats):
    """End-to-end conversion (analysis, generator, synthesis) of `seconds` of speech."""
    import soundfile

    from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter

    audio, fs = soundfile.read(wav)
    reps = int(np.ceil(seconds * fs / len(audio)))
    audio = np.tile(audio, reps)[: int(seconds * fs)]
    vc = VoiceConverter(Path(conf_dir) / "config.yaml", Path(conf_dir) / "latest.pth",
                        src_logf0_stats=logf0_stats[0], trg_logf0_stats=logf0_stats[1])
    vc(audio[: fs // 2], fs)  # warm-up
    start = time.perf_counter()
    out = vc(audio, fs)
    wall = time.perf_counter() - start
    assert np.all(np.isfinite(out))
    return {"audio_s": seconds, "wall_s": wall, "rtf": wall / seconds, "peak_rss_mib": peak_rss_mib()}


RECIPE_CONF = REPO / "egs2/vcc2016/vc1/conf"
# (paper widths, CPU budget) configuration of each model, in RECIPE_CONF
VARIANT_CONFIGS = {
    "CycleGAN-VC": ("tuning/train_cyclegan_vc.yaml", "train_cyclegan_vc_cpu.yaml"),
    "CycleGAN-VC2": ("tuning/train_cyclegan_vc2.yaml", "tuning/train_cyclegan_vc2_cpu.yaml"),
    "MaskCycleGAN-VC": ("tuning/train_maskcyclegan_vc.yaml", "tuning/train_maskcyclegan_vc_cpu.yaml"),
}


def w_variant_step(config, iters, warmup=2):
    """Parameters and CPU seconds per training iteration of one recipe
    configuration: the model and optimisers built by VCTask from the file,
    both turns of the model's training step on random normalised features."""
    import torch

    from espnet2_cyclegan_vc.tasks.vc import VCTask

    torch.set_num_threads(1)
    torch.manual_seed(0)
    args = VCTask.get_parser().parse_args(["--config", config])
    model = VCTask.build_model(args).train()
    optimizers = VCTask.build_optimizers(args, model)
    batch, frames = args.batch_size, args.segment_frames
    feats = {f"{side}_feats": torch.randn(batch, frames, model.generator["src_to_trg"].in_channels)
             for side in ("src", "trg")}
    lengths = {f"{side}_feats_lengths": torch.full((batch,), frames) for side in ("src", "trg")}
    cpu, wall = [], []
    for it in range(warmup + iters):
        c0, w0 = time.process_time(), time.perf_counter()
        for turn, optimizer in zip((True, False), optimizers):
            loss = model(forward_generator=turn, **feats, **lengths)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if it >= warmup:
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)

    def count(modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    return {"batch": batch, "segment_frames": frames,
            "generator_params": count([model.generator["src_to_trg"]]),
            "discriminator_params": count([model.discriminator["src"]]),
            "num_discriminators": len(model.discriminator),
            "total_params": count([model.generator, model.discriminator]),
            "cpu_s_per_iter": float(np.mean(cpu)), "wall_s_per_iter": float(np.mean(wall)),
            "peak_rss_mib": peak_rss_mib()}


def run_variants(args):
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "settings": vars(args), "variants": {}}
    for name, configs in VARIANT_CONFIGS.items():
        for scale, config in zip(("paper", "cpu"), configs):
            iters = max(1, args.iters // 5) if scale == "paper" else args.iters
            results["variants"][f"{name}, {scale}"] = r = worker(
                "variant_step", config=str(RECIPE_CONF / config), iters=iters)
            r["config"] = config
            logging.info("%s %s: %.3f CPU s/it", name, scale, r["cpu_s_per_iter"])
    return report(results, outdir / "variants.json", format_variants(results))


def format_variants(r):
    m = r["machine"]
    lines = [f"Machine: {m['processor']}, {m['cpus']} CPUs, torch {m['torch']} (1 thread per measurement)", "",
             "| model, widths | configuration | generator params | discriminator params (x number) | "
             "batch x frames | CPU s per iteration |", "|---|---|---|---|---|---|"]
    for name, v in r["variants"].items():
        lines.append(f"| {name} | {v['config']} | {v['generator_params'] / 1e6:.2f} M | "
                     f"{v['discriminator_params'] / 1e6:.2f} M (x{v['num_discriminators']}) | "
                     f"{v['batch']} x {v['segment_frames']} | {v['cpu_s_per_iter']:.3f} |")
    return "\n".join(lines)


WORKERS = {"extract": w_extract, "plain_train": w_plain_train, "espnet_train": w_espnet_train,
           "espnet_timed_train": w_espnet_timed_train, "convert": w_convert, "variant_step": w_variant_step}


# ------------------------------------------------------------------- driver
def prepare_data(db: Path, work: Path, num_utts: int):
    """wav.scp of real VCC2016 speech and features for the training runs."""
    train = db / "vcc2016_training"
    scp = work / "wav.scp"
    entries = []
    for spk, first in (("SF1", 100001), ("TM3", 100082)):
        for i in range(first, first + num_utts):
            entries.append((f"{spk}_{i}", train / spk / f"{i}.wav"))
    scp.write_text("".join(f"{k} {v}\n" for k, v in entries))
    for spk in ("SF1", "TM3"):
        sub = work / f"{spk}.scp"
        sub.write_text("".join(f"{k} {v}\n" for k, v in entries if k.startswith(spk)))
        subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.extract_world_feats", "--wav_scp",
                        str(sub), "--outdir", str(work / spk), "--world_conf", '{"f0_method": "dio"}',
                        "--log_level", "WARNING"], check=True)
        subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.compute_logf0_stats", "--f0_scp",
                        str(work / spk / "f0.scp"), "--output", str(work / spk / "logf0_stats.npz")],
                       check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.make_pair_list", "--src_scp",
                    str(work / "SF1/feats.scp"), "--trg_scp", str(work / "TM3/feats.scp"),
                    "--outdir", str(work / "pairs")], check=True, capture_output=True)
    return scp


def machine():
    import torch

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def run(args):
    with tempfile.TemporaryDirectory(prefix="cyclegan_vc_bench_") as work:
        return _run(args, Path(work))


def _run(args, work: Path):
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    confs = {"tiny": TINY} if args.quick else {"paper": PAPER, "small": small_conf()}
    scp = prepare_data(Path(args.vcc2016), work, args.num_utts)
    iters = args.iters
    results = {"machine": machine(), "settings": vars(args), "training": {}, "trainer_variants": {},
               "extraction": {}, "conversion": {}}

    for name, conf in confs.items():
        plain = worker("plain_train", conf=conf, iters=iters, warmup=2)
        espnet = worker("espnet_train", conf=conf, iters=iters, workdir=str(work))
        results["training"][name] = {"plain": plain, "espnet": espnet,
                                     "ratio": espnet["it_per_s"] / plain["it_per_s"]}
        logging.info("training %s: espnet %.3f it/s, plain %.3f it/s", name, espnet["it_per_s"], plain["it_per_s"])
    small_name = "tiny" if args.quick else "small"
    small = confs[small_name]
    for label, extra in (("recompute fakes (discriminator first)", ["--generator_first", "false"]),
                         ("loading in 1 worker process", ["--num_workers", "1"])):
        results["trainer_variants"][label] = worker("espnet_train", conf=small, iters=iters,
                                                    workdir=str(work), extra=extra)
    results["trainer_variants"]["default (reuse fakes, loading in-process)"] = (
        results["training"][small_name]["espnet"])

    for method in ("harvest", "dio"):
        for nj in (1, 2):
            results["extraction"][f"{method} nj={nj}"] = worker(
                "extract", wav_scp=str(scp), f0_method=method, nj=nj)

    # A model of the small widths for conversion timing (its quality is irrelevant here).
    model_dir = results["training"][small_name]["espnet"]["output_dir"]
    wav = str(Path(args.vcc2016) / "evaluation_all/SF1/200001.wav")
    stats = [str(work / spk / "logf0_stats.npz") for spk in ("SF1", "TM3")]
    for seconds in (args.short_seconds, args.long_seconds):
        results["conversion"][f"{seconds:g} s"] = worker("convert", conf_dir=str(model_dir), wav=wav,
                                                         seconds=seconds, logf0_stats=stats)
    return report(results, outdir / "benchmark.json", format_table(results))


def report(results, path: Path, table: str):
    """Write the results as JSON and print their table."""
    write_text_atomic(path, json.dumps(results, indent=2) + "\n")
    print(table)
    print(f"\nwrote {path}")
    return results


def format_table(r):
    m = r["machine"]
    lines = [f"Machine: {m['processor']}, {m['cpus']} CPUs, torch {m['torch']} ({m['torch_threads']} threads), "
             f"GPU: {m['cuda'] or 'none'}", "",
             "| measurement | value | peak RSS [MiB] |", "|---|---|---|"]
    for name, t in r["training"].items():
        lines.append(f"| train {name}, ESPnet VCTask+GANTrainer | {t['espnet']['it_per_s']:.3f} it/s "
                     f"({t['espnet']['s_per_iter']:.3f} s/it) | {t['espnet']['peak_rss_mib']:.0f} |")
        lines.append(f"| train {name}, plain PyTorch loop | {t['plain']['it_per_s']:.3f} it/s "
                     f"({t['plain']['s_per_iter']:.3f} s/it) | {t['plain']['peak_rss_mib']:.0f} |")
        lines.append(f"| train {name}, ESPnet / plain | {t['ratio']:.2f} | |")
    for label, v in r["trainer_variants"].items():
        lines.append(f"| trainer variant: {label} | {v['it_per_s']:.3f} it/s | {v['peak_rss_mib']:.0f} |")
    for label, v in r["extraction"].items():
        lines.append(f"| WORLD analysis {label} | RTF {v['rtf']:.3f} ({v['audio_s']:.0f} s of speech) | "
                     f"{v['peak_rss_mib']:.0f} |")
    for label, v in r["conversion"].items():
        lines.append(f"| conversion of {label} | RTF {v['rtf']:.3f} | {v['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vcc2016", default=os.environ.get("VCC2016", str(REPO.parent / "shared/vcc2016")),
                        help="VCC2016 corpus root (real speech for extraction and training data)")
    parser.add_argument("--outdir", default="bench/results")
    parser.add_argument("--iters", type=int, default=10, help="Timed training iterations per setting")
    parser.add_argument("--num_utts", type=int, default=10, help="Utterances per speaker for extraction")
    parser.add_argument("--short_seconds", type=float, default=3.0)
    parser.add_argument("--long_seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="Tiny networks only (for tests)")
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
    if args.variants:
        run_variants(args)
        return
    if not (Path(args.vcc2016) / "vcc2016_training").is_dir():
        sys.exit(f"benchmark: --vcc2016 {args.vcc2016} does not hold vcc2016_training/")
    run(args)


if __name__ == "__main__":
    main()
