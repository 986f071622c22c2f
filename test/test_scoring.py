"""Tests of espnet2_cyclegan_vc.scoring and the vc_score CLI."""

import json
import math

import numpy as np
import pytest

from espnet2_cyclegan_vc.bin import vc_score
from espnet2_cyclegan_vc.scoring import (
    ScoringFeatures,
    dtw_path,
    extract_features,
    logf0_rmse,
    mel_cepstral_distortion,
    pause_power_change,
    plot_comparison,
    score_features,
    score_pair,
)
from espnet2_cyclegan_vc.world import WorldConfig, world_conf_arg

from conftest import logged_errors, needs, vcc2016_root

VCC = vcc2016_root() / "evaluation_all"
needs_vcc = needs(VCC, "VCC2016 evaluation set")
# dio is ~5x faster than harvest and exercises the same code paths.
FAST = WorldConfig(f0_method="dio")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def test_pause_power_change_compares_pause_frames_only():
    source = np.array([-60.0, 0.0, -5.0, -60.0, -3.0, -70.0])
    converted = source.copy()
    converted[[1, 2, 4]] += 12.0  # louder speech does not count
    assert pause_power_change(source, converted) == pytest.approx(0.0)
    converted[[0, 3, 5]] += [30.0, 20.0, 40.0]  # pauses filled with noise
    assert pause_power_change(source, converted) == pytest.approx(30.0)
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


@needs_vcc
def test_plot_comparison_from_paths(tmp_path):
    out = tmp_path / "cmp.png"
    wav = str(VCC / "SF1/200002.wav")
    plot_comparison(wav, wav, str(VCC / "TM3/200002.wav"), out, FAST, title="t")
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    assert not list(tmp_path.glob(".*.tmp*"))


# --------------------------------------------------------------------------- CLI


def write_scp(path, spk, ids, prefix=None):
    prefix = spk if prefix is None else prefix
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{prefix}_{i} {VCC / spk / f'{i}.wav'}\n" for i in ids))
    return str(path)


@needs_vcc
def test_cli_end_to_end(tmp_path, capsys, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200002", "200001", "200003"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001", "200002"])
    # The source wavs stand in for converted speech: converted == baseline exactly.
    conv = write_scp(tmp_path / "conv/wav.scp", "SF1", ["200001", "200002"])
    out = tmp_path / "score"
    (out).mkdir()
    (out / "summary.json").write_text("{}")  # stale summary from an earlier run
    vc_score.main([
        "--converted_scp", conv, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--nj", "2",
    ])

    lines = (out / "scores.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:10] == [
        "id", "mcd_converted", "mcd_baseline", "mcd_speech_converted", "mcd_speech_baseline",
        "logf0_rmse_converted", "logf0_rmse_baseline", "f0corr_converted", "f0corr_baseline",
        "pause_power_change",
    ]
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert [r["id"] for r in rows] == ["SF1_200001", "SF1_200002"]
    for r in rows:
        for m in ("mcd", "logf0_rmse", "f0corr"):
            assert r[f"{m}_converted"] == r[f"{m}_baseline"]
        assert float(r["mcd_converted"]) > 5.0

    summary = json.loads((out / "summary.json").read_text())
    assert summary["direction"] == "SF1->TM3"
    assert summary["num_scored"] == 2
    assert summary["num_unmatched"] == {"converted": 0, "source": 1, "target": 0}
    assert summary["unmatched_ids"]["source"] == ["SF1_200003"]
    assert summary["settings"]["world_config"] == WorldConfig(f0_method="dio").to_dict()
    mcd = summary["metrics"]["mcd_converted"]
    assert mcd["count"] == 2
    assert mcd["mean"] == pytest.approx(np.mean([float(r["mcd_converted"]) for r in rows]), abs=1e-5)
    assert summary["metrics"]["mcd_baseline"]["mean"] == pytest.approx(mcd["mean"])
    assert set(summary["metrics"]) == {
        f"{m}_{s}" for m in ("mcd", "mcd_speech", "logf0_rmse", "f0corr") for s in ("converted", "baseline")
    } | {"pause_power_change"}
    speech = summary["metrics"]["mcd_speech_converted"]
    assert speech["count"] == 2 and speech["mean"] > 5.0
    # Source used as converted speech: its pauses are exactly the source's.
    assert summary["metrics"]["pause_power_change"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert all(int(r["num_speech_pairs_converted"]) < int(r["num_frames_aligned_converted"]) for r in rows)

    png = (out / "200001.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 10_000
    assert not list(out.glob(".*.tmp*"))

    printed = capsys.readouterr().out
    assert "SF1_200001" in printed and "mean" in printed and "base" in printed
    assert "SF1_200003" in caplog.text  # unmatched source id is named


@needs_vcc
def test_cli_converted_and_baseline_columns_are_not_swapped(tmp_path):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    # A perfect conversion: the target's own recording under the source's id.
    conv = write_scp(tmp_path / "conv/wav.scp", "TM3", ["200001"], prefix="SF1")
    out = tmp_path / "score"
    vc_score.main([
        "--converted_scp", conv, "--source_scp", src, "--target_scp", trg,
        "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(out),
        "--world_conf", '{"f0_method": "dio"}', "--num_plots", "0",
    ])
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert metrics["mcd_converted"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["logf0_rmse_converted"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["mcd_baseline"]["mean"] > 5.0 and metrics["logf0_rmse_baseline"]["mean"] > 0.2
    row = dict(zip(*[line.split("\t") for line in (out / "scores.tsv").read_text().splitlines()]))
    assert float(row["mcd_converted"]) == pytest.approx(0.0, abs=1e-3) and float(row["mcd_baseline"]) > 5.0


@needs_vcc
def test_cli_no_match_names_scp_files(tmp_path, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200002"])
    with pytest.raises(SystemExit) as exc:
        vc_score.main([
            "--converted_scp", src, "--source_scp", src, "--target_scp", trg,
            "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(tmp_path / "o"),
        ])
    msg = logged_errors(caplog)
    assert exc.value.code == 1 and src in msg and trg in msg
    assert not (tmp_path / "o" / "summary.json").exists()


def test_world_conf_parsing(tmp_path):
    assert world_conf_arg('{"f0_method": "dio"}').f0_method == "dio"
    assert world_conf_arg("mcep_dim: 36\n").mcep_dim == 36
    conf_file = tmp_path / "world.yaml"
    conf_file.write_text("f0_floor: 60\n")
    assert world_conf_arg(str(conf_file)).f0_floor == 60
    with pytest.raises(SystemExit):
        vc_score.get_parser().parse_args([
            "--converted_scp", "a", "--source_scp", "b", "--target_scp", "c",
            "--source_spk", "S", "--target_spk", "T", "--outdir", "o",
            "--world_conf", '{"frame_shift": 5}',
        ])


@needs_vcc
def test_cli_unreadable_wav_names_file(tmp_path, caplog):
    src = write_scp(tmp_path / "eval_SF1/wav.scp", "SF1", ["200001"])
    trg = write_scp(tmp_path / "eval_TM3/wav.scp", "TM3", ["200001"])
    conv = tmp_path / "conv/wav.scp"
    conv.parent.mkdir()
    missing = tmp_path / "conv/SF1_200001.wav"
    conv.write_text(f"SF1_200001 {missing}\n")
    with pytest.raises(SystemExit) as exc:
        vc_score.main([
            "--converted_scp", str(conv), "--source_scp", src, "--target_scp", trg,
            "--source_spk", "SF1", "--target_spk", "TM3", "--outdir", str(tmp_path / "o"),
            "--world_conf", "f0_method: dio",
        ])
    assert exc.value.code == 1 and str(missing) in logged_errors(caplog)
    assert not (tmp_path / "o" / "summary.json").exists()
