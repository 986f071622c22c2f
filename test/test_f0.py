"""The log-Gaussian F0 transform and log-F0 statistics."""

import math

import numpy as np
import pytest

from espnet2_cyclegan_vc.f0 import LogF0Stats, accumulate_logf0, convert_f0, save_logf0_stats


def test_convert_f0_hand_computation_and_unvoiced_frames():
    src, trg = LogF0Stats(mean=5.4, std=0.25), LogF0Stats(mean=4.85, std=0.2)
    f0 = np.array([0.0, 220.0, 0.0, 180.0])
    out = convert_f0(f0, src, trg)
    expected = math.exp((math.log(220.0) - 5.4) / 0.25 * 0.2 + 4.85)
    assert out[1] == pytest.approx(expected)
    assert out[3] == pytest.approx(math.exp((math.log(180.0) - 5.4) / 0.25 * 0.2 + 4.85))
    assert out[0] == 0.0 and out[2] == 0.0


def test_converted_f0_takes_target_statistics():
    rng = np.random.default_rng(0)
    f0 = np.exp(rng.normal(5.4, 0.25, size=20000))
    f0[::7] = 0.0
    out = convert_f0(f0, LogF0Stats(5.4, 0.25), LogF0Stats(4.85, 0.2))
    voiced = np.log(out[out > 0])
    assert voiced.mean() == pytest.approx(4.85, abs=0.01)
    assert voiced.std() == pytest.approx(0.2, abs=0.01)
    assert np.all((out == 0) == (f0 == 0))


def test_stats_over_voiced_frames_round_trip(tmp_path):
    f0s = [np.array([0.0, 100.0, 200.0]), np.array([0.0, 0.0]), np.array([400.0])]
    arrays = accumulate_logf0(f0s)
    assert int(arrays["count"][0]) == 3
    path = tmp_path / "logf0_stats.npz"
    save_logf0_stats(arrays, path)
    stats = LogF0Stats.load(path)
    logs = np.log([100.0, 200.0, 400.0])
    assert stats.mean == pytest.approx(logs.mean())
    assert stats.std == pytest.approx(logs.std())


def test_no_voiced_frames_is_a_clear_error():
    with pytest.raises(ValueError, match="SF9.*voiced"):
        LogF0Stats.from_f0([np.zeros(50), np.zeros(10)], name="SF9")


def test_constant_f0_statistics_are_refused():
    with pytest.raises(ValueError, match="SF9.*invalid log-F0 statistics"):
        LogF0Stats.from_f0([np.full(50, 200.0)], name="SF9")
