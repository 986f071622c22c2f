"""Every ``python -m espnet2_cyclegan_vc.bin.<name>``: one logging set-up, one way to fail."""

import importlib
import logging
import pkgutil
import subprocess
import sys

import pytest

import espnet2_cyclegan_vc.bin as bin_package
from espnet2_cyclegan_vc.bin import run_main

ENTRY_POINTS = sorted(m.name for m in pkgutil.iter_modules(bin_package.__path__))


def test_the_entry_points_are_found():
    assert {"vc_train", "vc_inference", "vc_score", "extract_world_feats"} <= set(ENTRY_POINTS)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_entry_point_takes_log_level(name):
    parser = importlib.import_module(f"espnet2_cyclegan_vc.bin.{name}").get_parser()
    option = parser._option_string_actions["--log_level"]  # vc_train: ESPnet's own, the model for ours
    assert option.default == "INFO"
    assert option.type("debug") == "DEBUG" and "DEBUG" in option.choices


def test_a_user_error_ends_with_one_line_and_status_1(caplog):
    def job():
        raise ValueError("data/eval_X/wav.scp:3: duplicate key u1")

    with caplog.at_level(logging.INFO), pytest.raises(SystemExit) as exit_info:
        run_main("vc_score", job)
    assert exit_info.value.code == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "vc_score: error: data/eval_X/wav.scp:3: duplicate key u1"
    ]


def test_a_bug_keeps_its_traceback():
    def job():
        raise TypeError("unsupported operand")

    with pytest.raises(TypeError, match="unsupported operand"):
        run_main("vc_score", job)


def test_a_missing_input_file_through_the_command_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_cyclegan_vc.bin.extract_world_feats",
         "--wav_scp", str(tmp_path / "missing.scp"), "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "extract_world_feats: error:" in proc.stderr and "missing.scp" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out/feats.scp").exists()
