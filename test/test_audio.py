"""Level matching, the peak limiter and resampling (espnet2_cyclegan_vc.audio) on synthetic signals."""

import numpy as np
import pytest

from espnet2_cyclegan_vc.audio import (
    LIMITER_WINDOW_S,
    PEAK_CEILING_DBFS,
    LevelMeter,
    frame_powers,
    limiter_gain,
    match_level,
    resample,
    speech_level_db,
)

FS = 16000
CEILING = 10 ** (PEAK_CEILING_DBFS / 20)


def speech_like(seconds=2.0, seed=0, amplitude=0.1):
    """Voiced bursts (harmonics under a syllable-rate envelope) with 300 ms pauses between them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    voiced = sum(np.sin(2 * np.pi * k * 140 * t + rng.uniform(0, 6)) / k for k in range(1, 15))
    envelope = (np.sin(2 * np.pi * 1.5 * t) > -0.3).astype(float)
    return amplitude * voiced * envelope / np.max(np.abs(voiced))


def level(wav, fs=FS):
    return speech_level_db(frame_powers(wav, fs))


def test_speech_level_leaves_pauses_out():
    speech = speech_like()
    with_pause = np.concatenate([speech, np.zeros(3 * FS), 1e-4 * np.random.default_rng(1).standard_normal(FS)])
    assert level(with_pause) == pytest.approx(level(speech), abs=0.05)
    assert level(2 * speech) == pytest.approx(level(speech) + 20 * np.log10(2), abs=1e-6)
    assert level(np.zeros(FS)) is None


def test_level_meter_in_blocks_equals_the_whole_signal():
    wav = speech_like(3.0)
    meter = LevelMeter(FS)
    for start in range(0, len(wav), 4567):  # blocks that do not fit the 20 ms frames
        meter.add(wav[start:start + 4567])
    assert meter.level_db() == pytest.approx(level(wav), abs=1e-9)


def test_limiter_keeps_every_sample_under_the_ceiling_and_leaves_the_rest():
    wav = speech_like(amplitude=0.5)
    peaks = [4000, 17000]
    for p in peaks:
        wav[p] = 3.7  # single overshooting samples, as synthesis makes
    gain = limiter_gain(wav, FS)
    out = wav * gain
    assert np.max(np.abs(out)) <= CEILING + 1e-12
    reach = 2 * int(round(LIMITER_WINDOW_S * FS)) + 1
    far = np.ones(len(wav), bool)
    for p in peaks:
        far[max(0, p - reach): p + reach + 1] = False
    assert np.array_equal(out[far], wav[far])  # untouched away from the peaks
    assert np.max(np.abs(np.diff(gain))) < 0.1  # no gain jump (click)


def test_limiter_does_nothing_under_the_ceiling():
    wav = speech_like(amplitude=0.8)
    assert np.array_equal(limiter_gain(wav, FS), np.ones(len(wav)))


def test_match_level_brings_loud_clipping_output_back_to_the_input_level():
    source = speech_like(seed=2)
    converted = 4.0 * speech_like(seed=3)  # 12 dB louder than the source
    converted[::997] *= 12.0  # and peaks of 4.6 times full scale, over it even at the source's level
    out, limited = match_level(converted, FS, source, FS)
    assert limited and np.max(np.abs(out)) <= CEILING + 1e-12
    assert level(out) == pytest.approx(level(source), abs=0.5)
    quiet, was_limited = match_level(0.5 * source, FS, source, FS)
    assert not was_limited and np.allclose(quiet, source)


@pytest.mark.parametrize("fs_in,fs_out", [(44100, 16000), (8000, 16000), (48000, 22050)])
def test_resampling_keeps_the_band_and_rejects_what_cannot_be_represented(fs_in, fs_out):
    t = np.arange(2 * fs_in) / fs_in
    inband = 1000.0
    out = resample(0.5 * np.sin(2 * np.pi * inband * t), fs_in, fs_out)
    assert len(out) == int(round(2 * fs_out))
    ref = 0.5 * np.sin(2 * np.pi * inband * np.arange(len(out)) / fs_out)
    middle = slice(fs_out // 4, -fs_out // 4)
    err = out[middle] - ref[middle]
    assert 10 * np.log10(np.mean(err**2) / np.mean(ref[middle] ** 2)) < -80  # in band: clean
    if fs_out < fs_in:  # a tone above the new Nyquist frequency must not fold back
        tone = 0.9 * fs_in / 2
        alias = resample(0.5 * np.sin(2 * np.pi * tone * t), fs_in, fs_out)
        assert 20 * np.log10(np.sqrt(np.mean(alias[middle] ** 2)) / 0.35) < -100
