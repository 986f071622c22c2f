"""extract_world_feats on bad audio: unusable files are skipped and counted, the rest adapted, never NaN."""

import kaldiio
import numpy as np
import pytest
import soundfile

from conftest import needs_vcc2016, vcc2016_root
from espnet2_cyclegan_vc.bin.extract_world_feats import extract
from espnet2_cyclegan_vc.world import WorldConfig

FAST = WorldConfig(f0_method="dio")


@pytest.fixture(scope="module")
def speech():
    wav, fs = soundfile.read(vcc2016_root() / "vcc2016_training/SF1/100002.wav")
    return wav, fs


@needs_vcc2016
def test_extraction_skips_unusable_files_and_adapts_the_rest(tmp_path, speech, caplog):
    wav, fs = speech
    files = {}

    def write(name, data, rate, **kw):
        path = tmp_path / f"{name}.wav"
        soundfile.write(path, data, rate, **kw)
        files[name] = path

    write("good", wav, fs)
    write("stereo", np.stack([wav, 0.5 * wav], axis=1), fs)
    write("clipped", np.clip(wav * 20, -1, 1), fs)
    from scipy.signal import resample_poly
    for rate in (8000, 22050, 44100, 48000):
        write(f"rate{rate}", resample_poly(wav, rate // 50, fs // 50), rate)
    write("silent", np.zeros(fs), fs)
    (tmp_path / "empty.wav").write_bytes(b"")
    files["empty"] = tmp_path / "empty.wav"
    good_bytes = files["good"].read_bytes()
    (tmp_path / "truncated.wav").write_bytes(good_bytes[:30])
    files["truncated"] = tmp_path / "truncated.wav"
    write("zero_samples", np.zeros(0), fs)
    scp = tmp_path / "wav.scp"
    scp.write_text("".join(f"{k} {v}\n" for k, v in sorted(files.items())))

    counts = extract(str(scp), str(tmp_path / "out"), FAST)
    assert counts == {"done": 7, "skipped": 4}
    for bad in ("empty", "silent", "truncated", "zero_samples"):
        assert any(bad in r.message and "Skipping" in r.message for r in caplog.records), bad
    feats = dict(kaldiio.load_scp_sequential(str(tmp_path / "out/feats.scp")))
    f0 = dict(kaldiio.load_scp_sequential(str(tmp_path / "out/f0.scp")))
    assert sorted(feats) == sorted(set(files) - {"empty", "silent", "truncated", "zero_samples"})
    expected_frames = FAST.num_frames(len(wav))
    for key, mcep in feats.items():
        assert np.all(np.isfinite(mcep)) and np.all(np.isfinite(f0[key]))
        assert mcep.shape[1] == 24
        # Every sample rate ends up as the same duration at 16 kHz.
        assert abs(len(mcep) - expected_frames) <= 2, key
    # Resampled copies keep the speaker's pitch.
    voiced = lambda k: np.median(f0[k][f0[k] > 0])
    assert voiced("rate44100") == pytest.approx(voiced("good"), rel=0.05)
    assert voiced("rate8000") == pytest.approx(voiced("good"), rel=0.1)


def test_extraction_of_only_bad_files_fails_naming_the_list(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {tmp_path / 'a.wav'}\n")
    with pytest.raises(ValueError, match="no usable utterance"):
        extract(str(scp), str(tmp_path / "out"), FAST)
    assert not (tmp_path / "out/feats.scp").exists()
