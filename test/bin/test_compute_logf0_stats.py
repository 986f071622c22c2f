"""compute_logf0_stats on bad F0: a clear error naming the speaker or utterance, no statistics file."""

import subprocess
import sys

import kaldiio
import numpy as np


def test_logf0_stats_without_voiced_frames_names_the_speaker(tmp_path):
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/f0.ark,{tmp_path}/f0.scp") as w:
        w["u1"] = np.zeros(100, dtype=np.float32)
        w["u2"] = np.zeros(50, dtype=np.float32)
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.compute_logf0_stats", "--f0_scp",
         str(tmp_path / "f0.scp"), "--output", str(tmp_path / "s.npz"), "--speaker", "SX9"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "SX9" in proc.stderr and "voiced" in proc.stderr
    assert not (tmp_path / "s.npz").exists()


def test_logf0_stats_refuse_nan(tmp_path):
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/f0.ark,{tmp_path}/f0.scp") as w:
        w["u1"] = np.array([100.0, np.nan, 120.0], dtype=np.float32)
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.compute_logf0_stats", "--f0_scp",
         str(tmp_path / "f0.scp"), "--output", str(tmp_path / "s.npz")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1 and "u1 has non-finite F0" in proc.stderr
