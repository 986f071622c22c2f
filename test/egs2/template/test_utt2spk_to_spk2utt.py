"""Tests of egs2/TEMPLATE/vc1/utils/utt2spk_to_spk2utt.sh."""

import pytest

from helpers.template import assert_executable_bash, run, write


@pytest.mark.parametrize("script", ["utt2spk_to_spk2utt.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


def test_utt2spk_to_spk2utt(tmp_path):
    utt2spk = "u3 s2\nu1 s1\nu2 s10\nu0 s2\nu9 B\n"
    expected = ["B u9", "s1 u1", "s10 u2", "s2 u3 u0"]  # LC_ALL=C speaker order
    res = run("utt2spk_to_spk2utt.sh", cwd=tmp_path, stdin=utt2spk)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == expected
    write(tmp_path / "utt2spk", utt2spk)
    res = run("utt2spk_to_spk2utt.sh", "utt2spk", cwd=tmp_path)
    assert res.stdout.splitlines() == expected
