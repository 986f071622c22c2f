"""The one-command converter (bin/vc_convert) on a tiny packed model: inputs, outputs, skips, re-runs,
parallel jobs, speaker names and models by path, folder and Hub repo id."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from conftest import tiny_packed_model
from espnet2_cyclegan_vc.bin.vc_convert import main
from test_conversion import bad_files, speech_like


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_packed_model(tmp_path_factory.mktemp("model"))


def good_files(folder):
    """Quiet speech-like files in three formats, one in a subfolder: {relative output: (rate, samples)}."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    mono = speech_like(44100, amplitude=0.03)
    soundfile.write(folder / "phone.flac", np.stack([mono, mono], axis=1), 44100, format="FLAC")
    soundfile.write(folder / "sub" / "call.wav", speech_like(8000, amplitude=0.03), 8000, subtype="PCM_16")
    soundfile.write(folder / "voice.mp3", speech_like(16000, amplitude=0.03), 16000, format="MP3")
    (folder / "notes.txt").write_text("not a sound file by its name: not looked at")
    return {name: soundfile.info(folder / src) for name, src in
            (("phone.wav", "phone.flac"), ("sub/call.wav", "sub/call.wav"), ("voice.wav", "voice.mp3"))}


def convert(*args, cwd=None):
    """vc_convert as a user runs it (its own process): (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_convert", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_folder_of_good_and_bad_files(model, tmp_path):
    inputs = tmp_path / "in"
    expected = good_files(inputs)
    reasons = bad_files(inputs / "bad")
    status, out, err = convert("--model", model, "--to", "BOB", "--output_dir", tmp_path / "out", inputs)
    assert status == 1, err
    assert "Flash Attention" not in out + err  # ESPnet's import noise stays out
    made = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert made == sorted(expected)
    for name, info in expected.items():
        got = soundfile.info(tmp_path / "out" / name)
        assert got.samplerate == info.samplerate and abs(got.frames - info.frames) <= 1
        assert got.subtype == "PCM_16" and got.channels == 1
    assert "converted 3 file(s)" in out and "skipped 5;" in out and "0 already converted" in out
    for name, reason in reasons.items():
        assert f"  skipped {inputs / 'bad' / name}: " in out and reason in out, name
    assert "ALICE -> BOB (src_to_trg)" in err and "s of audio" in err  # the log line and the progress bar
    # A second run does no work, and still says what it skipped.
    status, out, _ = convert("--model", model, "--to", "BOB", "--output_dir", tmp_path / "out", inputs)
    assert status == 1 and "converted 0 file(s)" in out and "3 already converted" in out


def test_a_clean_run_exits_0_and_overwrite_redoes_everything(model, tmp_path, capsys):
    inputs = tmp_path / "in"
    good_files(inputs)
    args = ["--model", str(model), "--output_dir", str(tmp_path / "out"), str(inputs)]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    first = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.wav")}
    with pytest.raises(SystemExit) as e:
        main(args + ["--overwrite"])
    assert e.value.code == 0 and "converted 3 file(s)" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns != t for p, t in first.items())


def test_parallel_jobs_give_the_same_files(model, tmp_path):
    inputs = tmp_path / "in"
    good_files(inputs)
    for nj in (1, 2):
        status, _, err = convert("--model", model, "--nj", nj, "--output_dir", tmp_path / f"nj{nj}", inputs)
        assert status == 0, err
    for path in (tmp_path / "nj1").rglob("*.wav"):
        twin = tmp_path / "nj2" / path.relative_to(tmp_path / "nj1")
        assert np.array_equal(soundfile.read(path, dtype="int16")[0], soundfile.read(twin, dtype="int16")[0])


def test_files_given_by_name_land_at_the_top_and_the_rate_can_be_chosen(model, tmp_path, capsys):
    good_files(tmp_path / "in")
    with pytest.raises(SystemExit) as e:
        main(["--model", str(model), "--direction", "trg_to_src", "--output_fs", "22050",
              "--output_dir", str(tmp_path / "out"), str(tmp_path / "in" / "sub" / "call.wav"),
              str(tmp_path / "in" / "missing.wav")])
    assert e.value.code == 1
    assert soundfile.info(tmp_path / "out" / "call.wav").samplerate == 22050
    assert f"skipped {tmp_path / 'in' / 'missing.wav'}: no such file or folder" in capsys.readouterr().out


def test_usage_errors_are_one_line(model, tmp_path, caplog):
    (tmp_path / "file").write_text("x")
    soundfile.write(tmp_path / "a.wav", speech_like(16000), 16000)
    cases = [
        (["--output_dir", str(tmp_path / "file")], "--output_dir " + str(tmp_path / "file") + " is a file"),
        (["--to", "CAROL", "--output_dir", str(tmp_path / "o")], "--to CAROL: the model converts into BOB or ALICE only"),
        (["--to", "ALICE", "--direction", "src_to_trg", "--output_dir", str(tmp_path / "o")], "disagree"),
    ]
    for extra, message in cases:
        caplog.clear()
        with pytest.raises(SystemExit) as e:
            main(["--model", str(model), *extra, str(tmp_path / "a.wav")])
        assert e.value.code == 1
        assert message in caplog.text, caplog.text
    with pytest.raises(SystemExit):
        main(["--model", str(tmp_path / "nowhere.zip"), "--output_dir", str(tmp_path / "o"), str(tmp_path / "a.wav")])
    assert "no such file or directory, and not a Hub repo id" in caplog.text
    assert not (tmp_path / "o").exists()


def test_an_experiment_directory_converts_like_its_pack(model, tmp_path):
    soundfile.write(tmp_path / "a.wav", speech_like(16000), 16000)
    root = model.parent.parent
    for name, source in (("dir", ["--model", "exp", "--model_file", "model.pth"]), ("zip", ["--model", model])):
        status, _, err = convert(*source, "--to", "BOB", "--output_dir", tmp_path / name, tmp_path / "a.wav", cwd=root)
        assert status == 0, err
    assert np.array_equal(soundfile.read(tmp_path / "dir" / "a.wav")[0], soundfile.read(tmp_path / "zip" / "a.wav")[0])


def test_a_repo_id_offline_and_not_cached_says_so(tmp_path):
    soundfile.write(tmp_path / "a.wav", speech_like(16000), 16000)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_convert", "--model", "someone/voice",
                           "--output_dir", str(tmp_path / "o"), str(tmp_path / "a.wav")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "someone/voice: the model is not cached" in proc.stderr and "HF_HUB_OFFLINE is set" in proc.stderr


def test_the_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "cyclegan-vc-convert")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout and "--to SPEAKER" in proc.stdout


def frame_db(wav, n=80):
    frames = len(wav) // n
    return 10 * np.log10(np.mean(wav[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-10)


def test_stream_converts_files_block_by_block_as_a_live_source(model, tmp_path, caplog):
    expected = good_files(tmp_path / "in")
    reasons = bad_files(tmp_path / "in" / "bad")
    with caplog.at_level("INFO"), pytest.raises(SystemExit) as e:
        main(["--model", str(model), "--stream", "--block_ms", "20", "--output_dir", str(tmp_path / "live"),
              str(tmp_path / "in")])
    assert e.value.code == 1  # the bad files are skipped, as without --stream
    made = sorted(str(p.relative_to(tmp_path / "live")) for p in (tmp_path / "live").rglob("*") if p.is_file())
    assert made == sorted(expected)
    for name, info in expected.items():
        got, fs = soundfile.read(tmp_path / "live" / name)
        assert fs == info.samplerate and abs(len(got) - info.frames) <= 2
        assert np.all(np.isfinite(got)) and np.max(np.abs(got)) <= 10 ** (-1 / 20) + 1e-4
    assert caplog.text.count("streamed in 20 ms blocks, algorithmic latency") == len(expected)
    for name, reason in reasons.items():
        assert reason in caplog.text, name
    # The same voice as the whole-file conversion, on the same time line.
    main_status = subprocess.run([sys.executable, "-m", "espnet2_cyclegan_vc.bin.vc_convert", "--model", str(model),
                                  "--output_dir", str(tmp_path / "whole"), str(tmp_path / "in" / "sub" / "call.wav")],
                                 capture_output=True, text=True)
    assert main_status.returncode == 0, main_status.stderr
    live, _ = soundfile.read(tmp_path / "live" / "sub" / "call.wav")
    whole, _ = soundfile.read(tmp_path / "whole" / "call.wav")
    a, b = frame_db(live), frame_db(whole)
    lags = list(range(-30, 31))
    n = min(len(a), len(b)) - 30
    corr = [np.corrcoef(a[30 + k:n + k], b[30:n])[0, 1] for k in lags]
    assert abs(lags[int(np.argmax(corr))]) <= 1, corr


def test_stream_block_length_must_be_positive(model, tmp_path, caplog):
    with pytest.raises(SystemExit) as e:
        main(["--model", str(model), "--stream", "--block_ms", "0", "--output_dir", str(tmp_path / "o"),
              str(tmp_path)])
    assert e.value.code == 2
