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
