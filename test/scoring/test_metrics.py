"""espnet2_cyclegan_vc.scoring.metrics: MCD, DTW, log-F0 and pause power against hand computations."""

import math

import numpy as np
import pytest

from conftest import needs, vcc2016_root
from espnet2_cyclegan_vc.scoring.metrics import MCD_ORDER, mcd_alpha, mel_cepstrum
from espnet2_cyclegan_vc.scoring import (
    ScoringFeatures,
    dtw_path,
    extract_features,
    logf0_rmse,
    mel_cepstral_distortion,
    pause_power_change,
    score_features,
    score_pair,
)
from espnet2_cyclegan_vc.world import WorldConfig, analyze_envelope, load_wav

VCC = vcc2016_root() / "evaluation_all"
needs_vcc = needs(VCC, "VCC2016 evaluation set")
# dio is ~5x faster than harvest and exercises the same code paths.
FAST = WorldConfig(f0_method="dio")


def brute_force_dtw_cost(x, y):
    """Reference DTW total cost with a plain double loop."""
    n, m = len(x), len(y)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = np.linalg.norm(x[i - 1] - y[j - 1])
            acc[i, j] = d + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return acc[n, m]


def path_cost(x, y, path):
    return float(sum(np.linalg.norm(x[i] - y[j]) for i, j in zip(*path)))


# --------------------------------------------------------------------------- MCD


def test_mcd_identical_is_zero():
    c = np.random.default_rng(0).normal(size=(50, 24))
    assert mel_cepstral_distortion(c, c.copy()) == 0.0


def test_mcd_hand_computation_ignores_c0():
    ref = np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 1.0]])
    conv = np.array([[9.0, 3.0, 4.0], [-5.0, 1.0, 1.0]])  # c0 differs a lot: must not count
    k = 10.0 / math.log(10.0)
    # frame 0: sqrt(2 * (9 + 16)) = sqrt(50); frame 1: 0
    expected = (k * math.sqrt(50.0) + 0.0) / 2
    assert mel_cepstral_distortion(ref, conv) == pytest.approx(expected)
    only_c0 = ref.copy()
    only_c0[:, 0] += 100.0
    assert mel_cepstral_distortion(ref, only_c0) == 0.0


def test_mcd_rejects_misaligned_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        mel_cepstral_distortion(np.zeros((3, 4)), np.zeros((4, 4)))


# --------------------------------------------------------------------------- DTW


def test_dtw_identical_is_diagonal():
    x = np.random.default_rng(1).normal(size=(30, 5))
    ix, iy = dtw_path(x, x)
    np.testing.assert_array_equal(ix, np.arange(30))
    np.testing.assert_array_equal(iy, np.arange(30))


def test_dtw_recovers_time_stretch():
    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(size=(40, 4)), axis=0)  # smooth, distinct frames
    stretch = np.repeat(np.arange(40), rng.integers(1, 4, size=40))  # monotone warp
    y = x[stretch]
    ix, iy = dtw_path(x, y)
    assert (ix[0], iy[0]) == (0, 0)
    assert (ix[-1], iy[-1]) == (len(x) - 1, len(y) - 1)
    steps = np.stack([np.diff(ix), np.diff(iy)], axis=1)
    assert np.all(steps >= 0) and np.all(steps.sum(axis=1) >= 1) and np.all(steps <= 1)
    # Every frame of y is aligned to the frame of x it was copied from.
    np.testing.assert_array_equal(ix, stretch[iy])
    assert path_cost(x, y, (ix, iy)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (6, 1), (9, 13), (17, 11)])
def test_dtw_cost_is_optimal(n, m):
    rng = np.random.default_rng(n * 100 + m)
    x, y = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    path = dtw_path(x, y)
    assert path_cost(x, y, path) == pytest.approx(brute_force_dtw_cost(x, y))


def test_dtw_path_of_utterance_length_inputs_is_a_valid_alignment():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(800, 23)), rng.normal(size=(900, 23))
    path = np.stack(dtw_path(x, y), axis=1)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (799, 899)
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)


# --------------------------------------------------------------------------- F0


def test_logf0_rmse_hand_computation_excludes_unvoiced():
    f0_ref = np.array([100.0, 0.0, 200.0, 150.0, 120.0])
    f0_conv = np.array([110.0, 300.0, 0.0, 160.0, 100.0])
    path = (np.arange(5), np.arange(5))
    # voiced in both: frames 0, 3, 4
    d = np.log([100.0, 150.0, 120.0]) - np.log([110.0, 160.0, 100.0])
    res = logf0_rmse(f0_ref, f0_conv, path)
    assert res.num_voiced_pairs == 3
    assert res.rmse == pytest.approx(math.sqrt(np.mean(d**2)))
    expected_corr = np.corrcoef(np.log([100.0, 150.0, 120.0]), np.log([110.0, 160.0, 100.0]))[0, 1]
    assert res.corr == pytest.approx(expected_corr)


def test_logf0_rmse_follows_path():
    f0_ref = np.array([100.0, 200.0])
    f0_conv = np.array([100.0, 100.0, 200.0])
    res = logf0_rmse(f0_ref, f0_conv, (np.array([0, 0, 1]), np.array([0, 1, 2])))
    assert res.rmse == 0.0 and res.num_voiced_pairs == 3 and res.corr == pytest.approx(1.0)


def test_logf0_rmse_no_voiced_pairs_is_none():
    res = logf0_rmse(np.array([100.0, 0.0]), np.array([0.0, 120.0]), (np.arange(2), np.arange(2)))
    assert res == (None, None, 0)
    # One pair: RMSE defined, correlation not.
    res = logf0_rmse(np.array([100.0, 0.0]), np.array([120.0, 0.0]), (np.arange(2), np.arange(2)))
    assert res.rmse == pytest.approx(abs(math.log(100 / 120))) and res.corr is None


def test_score_features_reuses_path_for_f0():
    rng = np.random.default_rng(4)
    mcep = np.cumsum(rng.normal(size=(20, 6)), axis=0)
    f0 = np.where(np.arange(20) % 3 == 0, 0.0, 100.0 + np.arange(20))
    stretch = np.repeat(np.arange(20), 2)
    power = np.zeros(20)
    res = score_features(ScoringFeatures(f0, mcep, power), ScoringFeatures(f0[stretch], mcep[stretch], power[stretch]))
    assert res["mcd"] == pytest.approx(0.0, abs=1e-9)
    assert res["logf0_rmse"] == 0.0
    assert res["num_frames_aligned"] == 40
    assert res["num_voiced_pairs"] == 2 * int(np.sum(f0 > 0))


def test_speech_mcd_leaves_out_quiet_reference_frames():
    """Frames more than 40 dB under the loudest are pauses; their errors do not count."""
    mcep = np.zeros((10, 4))
    f0 = np.zeros(10)
    power = np.array([-60.0, -60.0, 0.0, -10.0, -39.0, -41.0, -20.0, -5.0, -70.0, -70.0])
    hyp = mcep.copy()
    hyp[[0, 1, 5, 8, 9], 1] = 1.0  # errors on pause frames only
    res = score_features(ScoringFeatures(f0, mcep, power), ScoringFeatures(f0, hyp, power))
    assert res["num_speech_pairs"] == 5
    assert res["mcd_speech"] == pytest.approx(0.0, abs=1e-9)
    assert res["mcd"] == pytest.approx(5 / 10 * 10 / math.log(10) * math.sqrt(2))
    hyp[3, 2] = 2.0  # and one on speech
    res = score_features(ScoringFeatures(f0, mcep, power), ScoringFeatures(f0, hyp, power))
    assert res["mcd_speech"] == pytest.approx(2.0 / 5 * 10 / math.log(10) * math.sqrt(2))


def test_pause_power_change_is_relative_to_each_utterances_speech():
    source = np.array([-60.0, 0.0, -5.0, -60.0, -3.0, -70.0])  # pauses: frames 0, 3, 5
    assert pause_power_change(source, source + 12.0) == pytest.approx(0.0)  # louder overall: no change
    converted = source + 12.0
    converted[[0, 3, 5]] += [30.0, 20.0, 40.0]  # pauses filled with noise
    assert pause_power_change(source, converted) == pytest.approx(30.0)
    converted = source.copy()
    converted[[1, 2, 4]] += 12.0  # only the speech louder: pauses 12 dB further below it
    assert pause_power_change(source, converted) == pytest.approx(-12.0)
    assert pause_power_change(np.zeros(4), np.ones(4)) is None  # no pause at all


# --------------------------------------------------------------------------- real speech


@needs_vcc
def test_score_pair_real_speech():
    sf1, tm3 = str(VCC / "SF1/200001.wav"), str(VCC / "TM3/200001.wav")
    same = score_pair(sf1, sf1, FAST)
    assert same["mcd"] == pytest.approx(0.0, abs=1e-9)
    assert same["logf0_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert same["num_frames_aligned"] == len(extract_features(sf1, FAST).f0)
    cross = score_pair(tm3, sf1, FAST)
    assert cross["mcd"] > 5.0  # female vs male speaker: clearly apart
    assert cross["logf0_rmse"] > 0.2  # roughly an octave-ish gap in pitch
    assert cross["num_voiced_pairs"] > 100


# ------------------------------------------------ MCD against its definition


def warped_cepstrum_from_definition(sp: np.ndarray, alpha: float, order: int) -> np.ndarray:
    """Mel-cepstrum straight from its definition, independent of SPTK's freqt.

    SPTK models log|H| = sum_{m=0}^{M} c(m) cos(m w~), w~ the all-pass warped
    frequency; so c(m) = 1/pi * int_0^pi ln S(w(w~)) cos(m w~) dw~ for m >= 1
    (ln S = 2 ln|H| is the log power envelope) and half that for m = 0.
    Computed by sampling ln S, interpolated on its linear frequency bins, at
    the frequencies w that the warped grid w~ maps back to (warping by -alpha).
    """
    num_bins = sp.shape[1]
    grid = (np.arange(8192) + 0.5) * np.pi / 8192  # w~, midpoints
    linear = np.arctan2((1 - alpha**2) * np.sin(grid), (1 + alpha**2) * np.cos(grid) + 2 * alpha)
    bins = np.linspace(0.0, np.pi, num_bins)
    log_sp = np.log(sp)
    sampled = np.stack([np.interp(linear, bins, row) for row in log_sp])  # (T, K)
    basis = np.cos(np.outer(np.arange(order + 1), grid))  # (M+1, K)
    c = sampled @ basis.T / len(grid)
    c[:, 0] /= 2
    return c


def mcd_from_definition(sp_ref, sp_hyp, alpha=0.42, first=1):
    """MCD (dB) of two frame-aligned envelopes from the definition (c0 excluded by default)."""
    a = warped_cepstrum_from_definition(sp_ref, alpha, MCD_ORDER)
    b = warped_cepstrum_from_definition(sp_hyp, alpha, MCD_ORDER)
    return float(np.mean(10 / np.log(10) * np.sqrt(2 * np.sum((a[:, first:] - b[:, first:]) ** 2, axis=1))))


@needs_vcc
def test_mel_cepstrum_and_mcd_match_the_definition_on_real_speech():
    config = WorldConfig()
    assert mcd_alpha(config.fs) == 0.42
    f0_a, sp_a = analyze_envelope(load_wav(str(VCC / "SF1/200002.wav"), config.fs), config)
    f0_b, sp_b = analyze_envelope(load_wav(str(VCC / "TF2/200002.wav"), config.fs), config)
    frames = min(len(sp_a), len(sp_b))
    sp_a, sp_b = sp_a[:frames], sp_b[:frames]
    ours_a, ours_b = mel_cepstrum(sp_a, config.fs), mel_cepstrum(sp_b, config.fs)
    assert ours_a.shape == (frames, MCD_ORDER + 1)
    # Coefficient by coefficient (the definition's grid is dense, so only
    # interpolation error is left): within 0.005 of the typical |c| ~ 0.1-1.
    np.testing.assert_allclose(ours_a, warped_cepstrum_from_definition(sp_a, 0.42, MCD_ORDER), atol=5e-3)
    ours = mel_cepstral_distortion(ours_a, ours_b)
    reference = mcd_from_definition(sp_a, sp_b)
    assert reference > 4.0  # two speakers, frames not aligned: far apart
    assert ours == pytest.approx(reference, abs=0.02)
    # Deliberately wrong settings land far outside that tolerance: no
    # warping, c0 included, or the other speaker's envelope.
    assert abs(mcd_from_definition(sp_a, sp_b, alpha=0.0) - ours) > 0.2
    assert abs(mcd_from_definition(sp_a, sp_b, first=0) - ours) > 0.2
    assert abs(mcd_from_definition(sp_a, sp_a) - ours) > 2.0


@needs_vcc
def test_score_pair_mcd_is_the_definition_on_the_dtw_path():
    """score_pair = MCD of the definition's mel-cepstra along its own alignment."""
    config = FAST
    ref_wav, hyp_wav = str(VCC / "SF1/200003.wav"), str(VCC / "TM3/200003.wav")
    _, sp_ref = analyze_envelope(load_wav(ref_wav, config.fs), config)
    _, sp_hyp = analyze_envelope(load_wav(hyp_wav, config.fs), config)
    c_ref = warped_cepstrum_from_definition(sp_ref, 0.42, MCD_ORDER)
    c_hyp = warped_cepstrum_from_definition(sp_hyp, 0.42, MCD_ORDER)
    ix, iy = dtw_path(c_ref[:, 1:], c_hyp[:, 1:])
    expected = np.mean(10 / np.log(10) * np.sqrt(2 * np.sum((c_ref[ix, 1:] - c_hyp[iy, 1:]) ** 2, axis=1)))
    got = score_pair(ref_wav, hyp_wav, config)["mcd"]
    assert got == pytest.approx(expected, abs=0.05)
    assert 5.0 < got < 12.0


def test_alpha_follows_the_sampling_rate_and_unknown_rates_are_refused():
    assert (mcd_alpha(16000), mcd_alpha(22050), mcd_alpha(24000), mcd_alpha(48000)) == (0.42, 0.455, 0.466, 0.55)
    with pytest.raises(ValueError, match="fs=11111"):
        mcd_alpha(11111)
