"""Tests of egs2/TEMPLATE/vc1/utils/validate_data_dir.sh."""

import pytest

from helpers.template import assert_executable_bash, lines, run, write


@pytest.mark.parametrize("script", ["validate_data_dir.sh"])
def test_scripts_are_executable_bash(script):
    assert_executable_bash(script)


def make_data_dir(root, utts, spk_of, wav_dir=None):
    """Write wav.scp / utt2spk / spk2utt for the given utterances (sorted)."""
    wav_dir = wav_dir or root / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    wavs = []
    for u in sorted(utts):
        w = wav_dir / f"{u}.wav"
        w.write_bytes(b"RIFF")
        wavs.append(f"{u} {w}")
    write(data / "wav.scp", "\n".join(wavs) + "\n")
    write(data / "utt2spk", "".join(f"{u} {spk_of[u]}\n" for u in sorted(utts)))
    spk2utt = {}
    for u in sorted(utts):
        spk2utt.setdefault(spk_of[u], []).append(u)
    write(
        data / "spk2utt",
        "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())),
    )
    return data


SPK = {"SF1_001": "SF1", "SF1_002": "SF1", "TM1_001": "TM1", "TM1_002": "TM1"}


def test_validate_data_dir_good(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"{data}: 4 utterances, 2 speakers"


def test_validate_data_dir_ignores_command_lines(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    text = (data / "wav.scp").read_text().replace(
        f"{tmp_path}/wav/TM1_002.wav", "sox /nowhere.flac -t wav - |"
    )
    write(data / "wav.scp", text)
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_validate_data_dir_unsorted(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    rows = lines(data / "utt2spk")
    rows[1], rows[2] = rows[2], rows[1]
    write(data / "utt2spk", "\n".join(rows) + "\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "utt2spk" in res.stderr and "sorted" in res.stderr
    assert rows[2] in res.stderr  # the first offending line


def test_validate_data_dir_numeric_keys_use_byte_order(tmp_path):
    # LC_ALL=C puts "10" before "9"; a numeric comparison would call it unsorted.
    data = make_data_dir(tmp_path, ["10", "9"], {"10": "s", "9": "s"})
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_validate_data_dir_duplicate_key(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    rows = lines(data / "wav.scp")
    write(data / "wav.scp", "\n".join([rows[0], rows[0]] + rows[1:]) + "\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr and "duplicate" in res.stderr


def test_validate_data_dir_mismatched_utterances(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    write(data / "utt2spk", "".join(lines(data / "utt2spk")[i] + "\n" for i in (0, 1, 2)))
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr and "TM1_002" in res.stderr
    assert "utt2spk" in res.stderr


def test_validate_data_dir_inconsistent_spk2utt(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    write(data / "spk2utt", "SF1 SF1_001 SF1_002 TM1_001\nTM1 TM1_002\n")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "spk2utt" in res.stderr and "TM1_001" in res.stderr


def test_validate_data_dir_missing_wav(tmp_path):
    data = make_data_dir(tmp_path, SPK, SPK)
    (tmp_path / "wav/SF1_002.wav").unlink()
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert "wav.scp" in res.stderr
    assert "SF1_002.wav" in res.stderr


@pytest.mark.parametrize("name", ["wav.scp", "utt2spk", "spk2utt"])
def test_validate_data_dir_missing_or_empty_file(tmp_path, name):
    data = make_data_dir(tmp_path, SPK, SPK)
    (data / name).unlink()
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert name in res.stderr
    write(data / name, "")
    res = run("validate_data_dir.sh", data, cwd=tmp_path)
    assert res.returncode == 1
    assert name in res.stderr
