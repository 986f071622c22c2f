"""bench/benchmark.py: the side-by-side table of the model's step, at tiny cost.

Timings are not compared (machines are noisy); what is asserted is that
every row is measured, with the configuration's batch and the pass order it
names, and that the host line and the calibration are there.
"""

import json
import math
import subprocess
import sys

import pytest
import yaml

from conftest import REPO_ROOT, needs_vcc2016, vcc2016_root

BENCH = REPO_ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import benchmark  # noqa: E402 (bench/benchmark.py, a script of the checkout)


def run_benchmark(tmp_path, *options):
    proc = subprocess.run(
        [sys.executable, str(BENCH / "benchmark.py"), "--quick", "--iters", "1", "--warmup", "0",
         "--outdir", str(tmp_path), "--log_level", "WARNING", *options],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads((tmp_path / "benchmark.json").read_text())


def check_table(stdout, result, configs, threads, steps=tuple(benchmark.STEPS)):
    host = result["host"]
    assert host["cpu_model"] and host["torch"] and host["torch_threads"] >= 1
    assert host["cpus_available"] >= 1
    if host["flags"] is not None:
        assert set(host["flags"]) == set(benchmark.FLAGS_OF_INTEREST)
    first_line = stdout.splitlines()[0]
    assert first_line.startswith(f"Host: {host['cpu_model']};")
    assert f"{host['cpus_available']} logical CPUs available" in first_line and f"torch {host['torch']}" in first_line
    assert sorted(map(int, result["calibration"])) == threads
    dtypes = {"float32", "bfloat16"} if benchmark.host_has_bf16() else {"float32"}
    for by_dtype in result["calibration"].values():
        assert set(by_dtype) == dtypes
        assert all(math.isfinite(g) and g > 0 for g in by_dtype.values())
    assert "Calibration (1024 x 1024 matmul" in stdout

    measured = [s for s in steps if s not in benchmark.BF16_STEPS or benchmark.host_has_bf16()]
    rows = result["table"]
    assert [(r["config"], r["step"], r["threads"]) for r in rows] == [
        (c, s, t) for c in configs for s in measured for t in threads]
    for r in rows:
        conf = benchmark.load_config(benchmark.CONFIGS[r["config"]][1])
        assert (r["batch"], r["segment_frames"]) == (conf.get("batch_size", 1), conf.get("segment_frames", 128))
        assert r["widths"] == "tiny" and r["iters"] == 1 and r["num_updates"] == 1
        # each row runs the settings its name says, whatever the file sets
        step = benchmark.STEPS[r["step"]][1]
        assert r["batched_passes"] is step.get("model_conf", {}).get("batched_passes", True)
        assert r["fused_adam"] is ("fused" in step.get("optim_conf", {}))
        assert r["autocast_dtype"] == step.get("model_conf", {}).get("autocast_dtype")
        for key in ("s_per_update", "updates_per_s", "normalised_cost", "peak_rss_mib", "gflop_per_update"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
        assert r["updates_per_s"] == pytest.approx(1 / r["s_per_update"])
        calibration = result["calibration"][str(r["threads"])]
        assert r["normalised_cost"] == pytest.approx(r["s_per_update"] * calibration["float32"])
        assert r["achieved_gflops"] == pytest.approx(r["gflop_per_update"] / r["s_per_update"])
        assert r["share_of_calibration"] == pytest.approx(
            r["achieved_gflops"] / calibration[r["autocast_dtype"] or "float32"])
        base = next(b for b in rows if b["config"] == r["config"] and b["step"] == benchmark.REFERENCE_STEP
                    and b["threads"] == r["threads"])
        assert r["speedup_vs_reference"] == pytest.approx(base["s_per_update"] / r["s_per_update"])
        line = (f"| {r['label']} | {r['batch']} x {r['segment_frames']} | {benchmark.STEPS[r['step']][0]} "
                f"| {r['threads']} | {r['s_per_update']:.4f} | {r['updates_per_s']:.2f} | {r['gflop_per_update']:.2f} |")
        assert line in stdout, line
    # every step setting of a configuration does the same arithmetic work, batched or not
    for c in configs:
        assert len({round(r["gflop_per_update"], 6) for r in rows if r["config"] == c}) == 1


def test_quick_table_of_one_configuration(tmp_path):
    """One configuration's rows (every step setting, 1 and all threads), a
    fresh process each, as the full table measures them."""
    stdout, result = run_benchmark(tmp_path, "--configs", "paper")
    check_table(stdout, result, ["paper"], sorted({1, benchmark.all_threads()}))
    assert "| configuration | batch x frames | step | threads | s/update | updates/s | GFLOP/update |" in stdout


def test_study_configuration_on_request(tmp_path):
    """A configuration outside the default table (a study's candidate) builds
    through the task and gets its row when asked for."""
    assert "cpu_patchgan" not in benchmark.DEFAULT_CONFIGS
    stdout, result = run_benchmark(tmp_path, "--configs", "cpu_patchgan", "--threads", "1", "--steps", "batched")
    check_table(stdout, result, ["cpu_patchgan"], [1], steps=("batched",))


def test_quick_table_of_the_default_configurations(tmp_path):
    """Without --configs the table has a row for each default configuration
    (one step setting on one thread here: the test above covers every step
    and thread count of a configuration, and each row costs a process)."""
    stdout, result = run_benchmark(tmp_path, "--threads", "1", "--steps", "batched")
    check_table(stdout, result, ["cpu", "mini", "paper"], [1], steps=("batched",))


@needs_vcc2016
@pytest.mark.slow
def test_quick_run_on_real_speech(tmp_path):
    """The measurements on real speech: vc_train beside the step, WORLD analysis, conversion, streaming."""
    stdout, result = run_benchmark(tmp_path, "--configs", "cpu", "--threads", "1", "--all", "--num_utts", "1",
                                   "--short_seconds", "1", "--long_seconds", "2", "--stream_seconds", "2",
                                   "--vcc2016", str(vcc2016_root()))
    trainer = result["trainer"]
    assert set(trainer["configs"]) == {"cpu"} and trainer["threads"] == 1
    cpu = trainer["configs"]["cpu"]
    assert cpu["step"]["batched_passes"] is True and cpu["step"]["threads"] == 1
    values = [cpu["espnet"]["s_per_update"], cpu["espnet_over_step"]]
    values += [v["updates_per_s"] for v in trainer["variants"].values()]
    assert len(trainer["variants"]) == 3
    assert set(result["extraction"]) == {"harvest nj=1", "harvest nj=2", "dio nj=1", "dio nj=2"}
    values += [v["rtf"] for v in result["extraction"].values()]
    assert set(result["conversion"]) == {f"cpu, {m}, {s} s" for m in ("harvest", "dio") for s in (1, 2)}
    for v in result["conversion"].values():
        parts = v["parts_rtf"]
        assert set(parts) == {"f0", "envelope", "aperiodicity", "network", "synthesis"} and v["threads"] == 1
        values += [v["rtf"], v["peak_rss_mib"], *parts.values()]
        # The parts are timed separately from the end-to-end run: the same work, so a similar time.
        assert 0.5 < sum(parts.values()) / v["rtf"] < 2.0
    assert set(result["streaming"]) == {"cpu, dio", "cpu, harvest"}
    for v in result["streaming"].values():
        assert v["blocks"] == 100 and v["threads"] == 1 and v["block_ms"] == 20
        assert v["block_ms_mean"] <= v["block_ms_p99"] <= v["block_ms_max"]
        # The parts are timed inside the blocks: they add up to at most the block's time.
        assert sum(v["parts_ms_mean"].values()) <= v["block_ms_mean"]
        values += [v["latency_ms"], v["rtf_p99"], *v["parts_ms_mean"].values()]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert "| vc_train / step |" in stdout and "| configuration | F0 | audio | RTF | x real time |" in stdout
    assert "| configuration | F0 | latency [ms] | blocks |" in stdout


# ------------------------------------------------------------ the pieces, in-process
def test_the_step_worker_takes_a_file_or_a_dict_and_either_order(tmp_path):
    conf = {**benchmark.load_config(benchmark.CONFIGS["cpu"][1]), **benchmark.TINY, "segment_frames": 32}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(conf))
    runs = {(kind, batched): benchmark.w_step(config, batched_passes=batched, iters=2, warmup=1)
            for kind, config in (("dict", conf), ("file", str(path))) for batched in (False, True)}
    for (kind, batched), r in runs.items():
        assert r["batched_passes"] is batched
        assert (r["batch"], r["segment_frames"], r["feats_dim"]) == (4, 32, 24)
        assert r["num_updates"] == 3  # warm-up and timed updates are generator updates of the model
        assert r["s_per_update"] > 0 and r["cpu_s_per_update"] > 0 and r["threads"] == 1
    assert len({r["total_params"] for r in runs.values()}) == 1
    # None keeps the configuration's own setting (the task's default: batched)
    assert benchmark.w_step(conf, iters=1, warmup=0)["batched_passes"] is True


def test_the_step_worker_reads_the_recipe_configuration():
    """--variants measures each model as its configuration file defines it."""
    from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator

    config = benchmark.RECIPE_CONF / benchmark.VARIANT_CONFIGS["MaskCycleGAN-VC"][1]
    conf = yaml.safe_load(config.read_text())
    r = benchmark.w_step(str(config), iters=1, warmup=0)
    assert (r["batch"], r["segment_frames"]) == (conf["batch_size"], conf["segment_frames"])
    assert r["num_discriminators"] == 4  # two-step adversarial loss
    expected = sum(p.numel() for p in CycleGANVC2Generator(**conf["generator_conf"]).parameters())
    assert r["generator_params"] == expected
    assert r["total_params"] == 2 * expected + 4 * r["discriminator_params"]
    for paper, cpu in benchmark.VARIANT_CONFIGS.values():
        assert (benchmark.RECIPE_CONF / paper).is_file() and (benchmark.RECIPE_CONF / cpu).is_file()


def test_the_table_configurations_are_the_recipes_files():
    assert benchmark.REPO == REPO_ROOT
    for name, (_, source) in benchmark.CONFIGS.items():
        conf = benchmark.load_config(source)
        if name == "paper":
            assert conf == {}  # the task's defaults: the paper's widths at batch 1
        else:
            assert source.is_file() and conf["batch_size"] >= 1
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        benchmark.load_config(REPO_ROOT / "missing.yaml")


def test_host_line_and_calibration():
    info = benchmark.host_info()
    line = benchmark.host_line(info)
    assert line.startswith(f"Host: {info['cpu_model']};") and f"torch {info['torch']}" in line
    off = benchmark.host_line({**info, "flags": {f: False for f in benchmark.FLAGS_OF_INTEREST}})
    assert "flags none of interest (not avx2 avx512f avx512_bf16 amx_tile fma)" in off
    assert "flags unknown" in benchmark.host_line({**info, "flags": None})
    calibration = benchmark.w_calibrate([1], n=256, reps=3, dtypes=("float32", "bfloat16"))
    assert [(c["threads"], c["dtype"]) for c in calibration] == [(1, "float32"), (1, "bfloat16")]
    assert all(c["gflops"] > 0 for c in calibration)


def test_flops_are_counted_not_estimated():
    """The counter sees a convolution's multiply-adds forward and both gradients backward."""
    import torch

    conv = torch.nn.Conv1d(8, 16, 5, padding=2)
    x = torch.randn(3, 8, 40, requires_grad=True)
    forward = 2 * 3 * 16 * 40 * 8 * 5
    assert benchmark.count_flops(lambda: conv(x)) == forward
    assert benchmark.count_flops(lambda: conv(x).sum().backward()) == 3 * forward


def test_step_overrides_apply_over_the_file():
    """A row's settings are the STEPS entry's, whatever the configuration file sets."""
    conf = {**benchmark.load_config(benchmark.CONFIGS["cpu"][1]), **benchmark.TINY, "segment_frames": 32}
    conf["model_conf"] = {**conf["model_conf"], "batched_passes": False, "autocast_dtype": "bfloat16"}
    conf["optim_conf"] = {**conf["optim_conf"], "fused": True}
    r = benchmark.w_step(conf, iters=1, warmup=0, overrides=benchmark.step_overrides(benchmark.REFERENCE_STEP))
    assert r["batched_passes"] is True and r["autocast_dtype"] is None and r["fused_adam"] is False
    r = benchmark.w_step(conf, iters=1, warmup=0, overrides=benchmark.step_overrides("fused"))
    assert r["fused_adam"] is True and r["autocast_dtype"] is None
    assert r["gflop_per_update"] > 0 and r["num_updates"] == 1


def test_the_package_holds_no_benchmark():
    """The benchmark and the GPU check read egs2/ and ../shared: scripts of the
    checkout, not modules of the installed package, which finds nothing
    relative to its own files."""
    package = REPO_ROOT / "espnet2_cyclegan_vc"
    assert not (package / "bin/benchmark.py").exists() and not (package / "bin/gpu_check.py").exists()
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "__file__" not in text and "shared/vcc2016" not in text, path
