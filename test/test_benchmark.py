"""The benchmark command runs on a tiny setting and writes well-formed output.

Timings are not asserted (machines are noisy); only that every measurement is
present, positive and finite.
"""

import json
import math
import subprocess
import sys

import pytest

from conftest import needs_vcc2016, vcc2016_root


@needs_vcc2016
@pytest.mark.slow
def test_benchmark_quick_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.benchmark", "--quick", "--iters", "2",
         "--num_utts", "1", "--short_seconds", "1", "--long_seconds", "2",
         "--vcc2016", str(vcc2016_root()), "--outdir", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert set(result) >= {"machine", "training", "trainer_variants", "extraction", "conversion"}
    tiny = result["training"]["tiny"]
    values = [tiny["plain"]["it_per_s"], tiny["espnet"]["it_per_s"], tiny["ratio"]]
    values += [v["it_per_s"] for v in result["trainer_variants"].values()]
    assert set(result["extraction"]) == {"harvest nj=1", "harvest nj=2", "dio nj=1", "dio nj=2"}
    values += [v["rtf"] for v in result["extraction"].values()]
    assert set(result["conversion"]) == {"1 s", "2 s"}
    values += [v["rtf"] for v in result["conversion"].values()]
    values += [v["peak_rss_mib"] for v in result["conversion"].values()]
    assert all(math.isfinite(v) and v > 0 for v in values)
    assert "| train tiny, ESPnet / plain |" in proc.stdout


def test_variant_step_reads_the_recipe_configuration():
    """--variants measures each model as its configuration file defines it."""
    import yaml

    from espnet2_cyclegan_vc.bin.benchmark import RECIPE_CONF, VARIANT_CONFIGS, w_variant_step
    from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator

    config = RECIPE_CONF / VARIANT_CONFIGS["MaskCycleGAN-VC"][1]
    conf = yaml.safe_load(config.read_text())
    r = w_variant_step(str(config), iters=1, warmup=0)
    assert (r["batch"], r["segment_frames"]) == (conf["batch_size"], conf["segment_frames"])
    assert r["num_discriminators"] == 4  # two-step adversarial loss
    expected = sum(p.numel() for p in CycleGANVC2Generator(**conf["generator_conf"]).parameters())
    assert r["generator_params"] == expected
    assert r["total_params"] == 2 * expected + 4 * r["discriminator_params"]
    assert r["cpu_s_per_iter"] > 0 and r["wall_s_per_iter"] > 0
    for paper, cpu in VARIANT_CONFIGS.values():
        assert (RECIPE_CONF / paper).is_file() and (RECIPE_CONF / cpu).is_file()
