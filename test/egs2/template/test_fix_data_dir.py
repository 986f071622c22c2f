"""Tests of egs2/TEMPLATE/vc1/utils/fix_data_dir.sh."""

import pytest

from helpers.template import assert_executable_bash, lines, run, write


@pytest.mark.parametrize("script", ["fix_data_dir.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


def test_fix_data_dir(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "TM1_001 /w/t1.wav\nSF1_002 /w/s2.wav\nSF1_001 /w/s1.wav\nTM1_002 /w/t2.wav\n")
    # TM1_002 has no speaker, so it must go everywhere.
    write(data / "utt2spk", "SF1_002 SF1\nTM1_001 TM1\nSF1_001 SF1\n")
    write(data / "text", "TM1_002 four\nSF1_001 one\nTM1_001 three\nSF1_002 two\n")
    write(data / "spk2utt", "stale junk\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert lines(data / "wav.scp") == ["SF1_001 /w/s1.wav", "SF1_002 /w/s2.wav", "TM1_001 /w/t1.wav"]
    assert lines(data / "utt2spk") == ["SF1_001 SF1", "SF1_002 SF1", "TM1_001 TM1"]
    assert lines(data / "text") == ["SF1_001 one", "SF1_002 two", "TM1_001 three"]
    assert lines(data / "spk2utt") == ["SF1 SF1_001 SF1_002", "TM1 TM1_001"]
    assert "1 utterances missing from utt2spk" in res.stderr
    assert "1 removed" in res.stderr
    # No scratch files are left behind.
    assert sorted(p.name for p in data.iterdir()) == ["spk2utt", "text", "utt2spk", "wav.scp"]


def test_fix_data_dir_drops_utterance_missing_from_wav_scp(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "b /w/b.wav\n")
    write(data / "utt2spk", "b s\na s\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert lines(data / "utt2spk") == ["b s"]
    assert lines(data / "spk2utt") == ["s b"]
    assert "missing from wav.scp" in res.stderr


def test_fix_data_dir_output_validates(tmp_path):
    data = tmp_path / "data"
    wav = write(tmp_path / "x.wav", "")
    write(data / "wav.scp", f"u2 {wav}\nu1 {wav}\nu3 {wav}\n")
    write(data / "utt2spk", "u3 B\nu1 A\nu2 A\n")
    assert run("fix_data_dir.sh", "data", cwd=tmp_path).returncode == 0
    res = run("validate_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "data: 3 utterances, 2 speakers"


def test_fix_data_dir_refuses_to_empty_dir(tmp_path):
    data = tmp_path / "data"
    write(data / "wav.scp", "a /w/a.wav\n")
    write(data / "utt2spk", "b s\n")
    res = run("fix_data_dir.sh", "data", cwd=tmp_path)
    assert res.returncode != 0
    assert lines(data / "wav.scp") == ["a /w/a.wav"]  # left untouched
    assert not (data / "spk2utt").exists()
