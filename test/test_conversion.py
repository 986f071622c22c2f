"""Converting sound files of any format, rate, channel count and length (espnet2_cyclegan_vc.conversion),
with a tiny model and real pyworld, soxr and libsndfile."""

import numpy as np
import pytest
import soundfile

from conftest import needs_vcc2016, tiny_converter, vcc2016_root
from espnet2_cyclegan_vc.audio import PEAK_CEILING_DBFS, fit_length, frame_powers, match_level, speech_level_db
from espnet2_cyclegan_vc.conversion import convert_file
from espnet2_cyclegan_vc.world import AudioError, load_wav

CEILING = 10 ** (PEAK_CEILING_DBFS / 20)


@pytest.fixture(scope="module")
def converter(tmp_path_factory):
    return tiny_converter(tmp_path_factory.mktemp("vc"))


def speech_like(fs, seconds=1.5, f0=180.0, amplitude=0.3):
    t = np.arange(int(seconds * fs)) / fs
    voiced = sum(np.sin(2 * np.pi * k * f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t)) * t) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 1.2 * t) + 0.3, 0, None)
    wav = voiced * envelope
    return amplitude * wav / np.max(np.abs(wav))


def level(wav, fs):
    return speech_level_db(frame_powers(wav, fs))


@pytest.mark.parametrize("name,fs,channels,fmt", [
    ("phone.flac", 44100, 2, dict(format="FLAC")),
    ("call.wav", 8000, 1, dict(subtype="PCM_16")),
    ("voice.mp3", 22050, 1, dict(format="MP3")),
    ("memo.ogg", 48000, 1, dict(format="OGG", subtype="OPUS")),
])
def test_any_format_rate_and_channels_come_back_at_their_rate_length_and_level(
        converter, tmp_path, name, fs, channels, fmt):
    # Quiet enough that this untrained model's very peaky output (crest factor 23 dB) needs
    # no limiting, so its level must match; the limiter's own tests are in test_audio.py.
    mono = speech_like(fs, amplitude=0.03)
    wav = np.stack([mono, 0.8 * mono], axis=1) if channels == 2 else mono
    path = tmp_path / name
    soundfile.write(path, wav, fs, **fmt)
    written, file_fs = soundfile.read(path, always_2d=True)
    result = convert_file(converter, str(path), str(tmp_path / "out" / "x.wav"), "src_to_trg")
    out, out_fs = soundfile.read(tmp_path / "out" / "x.wav")
    info = soundfile.info(tmp_path / "out" / "x.wav")
    assert info.subtype == "PCM_16" and info.channels == 1 and out_fs == file_fs
    assert abs(len(out) - len(written)) <= 1
    assert np.max(np.abs(out)) <= CEILING + 2**-15
    assert level(out, out_fs) == pytest.approx(level(written.mean(axis=1), file_fs), abs=1.0)
    assert result.chunks == 1 and result.seconds == pytest.approx(len(written) / file_fs)


def test_output_rate_can_be_chosen(converter, tmp_path):
    soundfile.write(tmp_path / "a.wav", speech_like(44100), 44100)
    convert_file(converter, str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), output_fs=24000)
    out, fs = soundfile.read(tmp_path / "b.wav")
    assert fs == 24000 and abs(len(out) - int(1.5 * 24000)) <= 1


def test_a_short_file_converts_exactly_as_the_recipe_s_inference_stage(converter, tmp_path):
    soundfile.write(tmp_path / "a.wav", speech_like(16000), 16000, subtype="PCM_16")
    convert_file(converter, str(tmp_path / "a.wav"), str(tmp_path / "b.wav"))
    source = load_wav(str(tmp_path / "a.wav"), 16000)
    stage5, _ = match_level(fit_length(converter(source, 16000), len(source)), 16000, source, 16000)
    soundfile.write(tmp_path / "c.wav", stage5, 16000, subtype="PCM_16")
    assert np.array_equal(soundfile.read(tmp_path / "b.wav", dtype="int16")[0],
                          soundfile.read(tmp_path / "c.wav", dtype="int16")[0])


def bad_files(folder):
    """{name: (path, words the message must hold)} of files that are not convertible speech."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.wav").write_text("not audio, just text\n")
    (folder / "empty.wav").write_bytes(b"")
    soundfile.write(folder / "short.wav", speech_like(16000, seconds=0.02), 16000)
    soundfile.write(folder / "silent.wav", np.zeros(16000), 16000)
    nan = speech_like(16000)
    nan[5000] = np.nan
    soundfile.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    return {
        "notes.wav": "cannot read audio",
        "empty.wav": "cannot read audio",
        "short.wav": "shorter than the model's minimum of 0.1 s",
        "silent.wav": "silent",
        "nan.wav": "NaN or infinite samples (first at 0.312 s)",
    }


def test_bad_files_are_named_with_the_reason_and_leave_nothing(converter, tmp_path):
    out = tmp_path / "out"
    for name, reason in bad_files(tmp_path / "in").items():
        with pytest.raises(AudioError) as e:
            convert_file(converter, str(tmp_path / "in" / name), str(out / name))
        assert str(e.value).startswith(str(tmp_path / "in" / name) + ": ") and reason in str(e.value), str(e.value)
    assert not out.exists()  # not even the folder


def seam_check(wav, fs, seams, window_s=0.01):
    """Largest sample-to-sample step within window_s of any seam, and anywhere else."""
    step = np.abs(np.diff(wav))
    near = np.zeros(len(step), bool)
    for s in seams:
        c = int(s * fs)
        near[max(0, c - int(window_s * fs)): c + int(window_s * fs)] = True
    return step[near].max(), step[~near].max()


@needs_vcc2016
def test_a_long_recording_converts_in_pieces_joined_in_pauses_without_clicks(converter, tmp_path):
    """Seams are checked, not assumed: each lies where the input is at least 30 dB below its
    speech level (a pause), and no sample step near a seam is larger than the largest step elsewhere."""
    speakers = vcc2016_root() / "evaluation_all" / "SF1"
    wav = np.concatenate([load_wav(str(speakers / f"2000{i:02d}.wav"), 16000) for i in range(1, 9)])
    soundfile.write(tmp_path / "long.wav", wav, 16000, subtype="PCM_16")
    reported = []
    result = convert_file(converter, str(tmp_path / "long.wav"), str(tmp_path / "out.wav"),
                          chunk_s=6.0, seam_search_s=2.0, progress=reported.append)
    out, fs = soundfile.read(tmp_path / "out.wav")
    assert result.chunks >= 4 and len(result.seams) == result.chunks - 1
    assert len(reported) == result.chunks and sum(reported) == pytest.approx(len(wav) / 16000)
    assert len(out) == len(wav)
    speech = level(wav, 16000)
    for s in result.seams:
        around = wav[int((s - 0.01) * 16000): int((s + 0.01) * 16000)]
        assert 10 * np.log10(np.mean(around**2) + 1e-20) < speech - 30, f"seam at {s:.2f} s is not in a pause"
    near, elsewhere = seam_check(out, fs, result.seams)
    assert near <= elsewhere
    assert np.max(np.abs(out)) <= CEILING + 2**-15
