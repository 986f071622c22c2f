"""The shared WORLD steps of espnet2_cyclegan_vc.world that analysis, streaming and the benchmark call."""

import numpy as np
import pytest

from espnet2_cyclegan_vc.world import AudioError, WorldConfig, estimate_f0, refine_f0, to_mono


def test_to_mono_averages_the_channels():
    left, right = np.linspace(-1, 1, 100), np.linspace(1, -0.5, 100)
    np.testing.assert_allclose(to_mono(np.stack([left, right], axis=1)), (left + right) / 2)
    np.testing.assert_array_equal(to_mono(left), left)
    with pytest.raises(AudioError, match="block 3: expected 1-D or 2-D audio"):
        to_mono(np.zeros((2, 2, 2)), name="block 3")


def test_dio_s_f0_goes_through_stonemask_and_harvest_s_is_kept():
    fs = 16000
    t = np.arange(fs) / fs
    phase = 2 * np.pi * np.cumsum(120 + 60 * np.sin(2 * np.pi * 1.5 * t)) / fs  # a gliding voice
    wav = sum(np.sin(k * phase) / k for k in range(1, 8))
    for method in ("dio", "harvest"):
        config = WorldConfig(f0_method=method)
        f0, times = estimate_f0(wav, config)
        assert len(f0) == len(times) == config.num_frames(fs) and (f0 > 0).mean() > 0.8
        refined = refine_f0(wav, f0, times, config)
        if method == "dio":
            import pyworld

            np.testing.assert_array_equal(refined, pyworld.stonemask(wav, f0, times, fs))
            assert np.abs(refined - f0).max() > 0.01  # the refinement does something
        else:
            np.testing.assert_array_equal(refined, f0)
