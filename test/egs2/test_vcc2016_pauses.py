"""Pauses stay pauses: conversion of real VCC2016 speech keeps silence silent.

Two short trainings through the real task on 20 + 20 VCC2016 training
utterances: the CPU configuration of the VCC2016 recipe
(conf/train_cyclegan_vc_cpu.yaml, cut to 2000 updates) and, as the control
that shows the check can fail, the former smoke-test configuration
(test/egs2/conf/train_cyclegan_vc_short.yaml, 200 updates), which fills pauses with
noise. Each model converts five real utterances with leading, inner and
trailing pauses; the frame power over the source's pauses is compared with
the source's, each relative to its utterance's speech level
(espnet2_cyclegan_vc.scoring.pause_power_change), averaged over the five: in
all pauses within a few dB, and no kind of pause (leading, inner, trailing)
louder by more than that.
"""

from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from conftest import REPO_ROOT, data_args, extract_training_speakers, needs_vcc2016, run, vcc2016_root
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.scoring import frame_power_db, pause_power_change, speech_frames
from espnet2_cyclegan_vc.world import WorldConfig, analyze, mcep_to_sp

pytestmark = [needs_vcc2016, pytest.mark.slow]

CONF = REPO_ROOT / "egs2/vcc2016/vc1/conf"
SHORT_CONFIG = Path(__file__).parent / "conf/train_cyclegan_vc_short.yaml"  # a test fixture, not a recipe config
WORLD = {"f0_method": "dio"}  # faster than harvest; pauses do not depend on F0
SPEAKERS = {"src": ("SF1", range(100001, 100021)), "trg": ("TM3", range(100082, 100102))}
# A converted pause may be somewhat quieter or louder than the source's (WORLD
# resynthesis alone moves it by ~1 dB), but not filled with noise.
MAX_PAUSE_CHANGE_DB = 6.0


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """WORLD features, MCEP and log-F0 statistics and the pair list of SF1/TM3."""
    root = tmp_path_factory.mktemp("pauses")
    (root / "world.yaml").write_text(yaml.safe_dump(WORLD))
    extract_training_speakers(root, tuple(SPEAKERS.values()), root / "world.yaml")
    for side, (spk, _) in SPEAKERS.items():
        feats = root / spk / "feats.scp"
        run("vc_train", "--collect_stats", "true", "--config", CONF / "train_cyclegan_vc_cpu.yaml",
            "--output_dir", root / f"stats_{spk}", "--num_workers", 0,
            *data_args("train", [(feats, f"{side}_feats")]), *data_args("valid", [(feats, f"{side}_feats")]),
            "--train_shape_file", root / spk / "utt2num_frames",
            "--valid_shape_file", root / spk / "utt2num_frames", cwd=root)
    return root


def train(root, config, name, *overrides):
    pairs = root / "pairs"
    names = [(pairs / "src_feats.scp", "src_feats"), (pairs / "trg_feats.scp", "trg_feats")]
    exp = root / name
    run("vc_train", "--config", config, "--output_dir", exp, "--world_conf", yaml.safe_dump(WORLD),
        *data_args("train", names), *data_args("valid", names),
        "--train_shape_file", pairs / "src_feats.scp", "--valid_shape_file", pairs / "src_feats.scp",
        "--src_normalize", "global_mvn",
        "--src_normalize_conf", f"stats_file={root / 'stats_SF1/train/src_feats_stats.npz'}",
        "--trg_normalize", "global_mvn",
        "--trg_normalize_conf", f"stats_file={root / 'stats_TM3/train/trg_feats_stats.npz'}",
        "--model_conf", f"src_logf0_stats_file={root / 'logf0_SF1.npz'}",
        "--model_conf", f"trg_logf0_stats_file={root / 'logf0_TM3.npz'}",
        "--keep_nbest_models", 1, "--num_workers", 0, *overrides, cwd=root)
    return VoiceConverter(exp / "config.yaml", exp / "latest.pth")


# Five utterances per speaker, each two evaluation sentences joined by a pause.
SENTENCE_PAIRS = ((200001, 200002), (200003, 200004), (200005, 200006), (200007, 200008), (200009, 200010))


def utterance_with_pauses(spk, sentences=SENTENCE_PAIRS[0]):
    """Two real evaluation sentences joined by 0.5 s of the recording's own pause.

    VCC2016 files begin and end with silence, so the result has a leading, an
    inner and a trailing pause, all of them real background noise.
    """
    wavs = []
    for i in sentences:
        wav, fs = soundfile.read(vcc2016_root() / f"evaluation_all/{spk}/{i}.wav")
        wavs.append(wav)
    gap = wavs[0][: fs // 2]  # the leading silence of the first file
    return np.concatenate([wavs[0], gap, wavs[1]]), fs


def pause_regions(power_db):
    """Frame masks of the leading, inner and trailing pauses of an utterance."""
    pauses = ~speech_frames(power_db)
    speech = np.flatnonzero(~pauses)
    first, last = speech[0], speech[-1]
    index = np.arange(len(power_db))
    return {
        "leading": pauses & (index < first),
        "inner": pauses & (index > first) & (index < last),
        "trailing": pauses & (index > last),
    }


def pause_changes(converter):
    """Per direction: overall and per-region power change over the source's pauses,
    each utterance's power taken relative to its own speech level (as the scorer
    does), so a conversion that is louder overall does not read as noise; the
    mean over the utterances of SENTENCE_PAIRS (one utterance's pauses are a few
    seconds of frames: at 2000 updates the same region moves by +-8 dB from one
    utterance to the next)."""
    config = WorldConfig(**WORLD)
    out = {}
    for direction, spk in (("src_to_trg", "SF1"), ("trg_to_src", "TM3")):
        changes = []
        for sentences in SENTENCE_PAIRS:
            wav, fs = utterance_with_pauses(spk, sentences)
            source = frame_power_db(mcep_to_sp(analyze(wav, config).mcep, config))
            converted_wav = converter(wav, fs, direction=direction)
            converted = frame_power_db(mcep_to_sp(analyze(converted_wav, config).mcep, config))
            n = min(len(source), len(converted))
            source, converted = source[:n], converted[:n]
            speech = speech_frames(source)
            relative = converted - converted[speech].mean() - (source - source[speech].mean())
            change = {name: float(np.mean(relative[m])) for name, m in pause_regions(source).items()}
            change["all"] = pause_power_change(source, converted)
            changes.append(change)
        out[direction] = {key: float(np.mean([c[key] for c in changes])) for key in changes[0]}
    return out


@pytest.mark.parametrize("spk", ["SF1", "TM3"])
@pytest.mark.parametrize("sentences", SENTENCE_PAIRS)
def test_the_utterances_have_leading_inner_and_trailing_pauses(spk, sentences):
    config = WorldConfig(**WORLD)
    wav, _ = utterance_with_pauses(spk, sentences)
    regions = pause_regions(frame_power_db(mcep_to_sp(analyze(wav, config).mcep, config)))
    for name, mask in regions.items():
        assert mask.sum() >= 20, f"{spk} {sentences} {name} pause has {mask.sum()} frames"


def test_cpu_configuration_keeps_pauses_quiet(features):
    # 2000 updates: with the identity weight 0.5 the pauses are still settling
    # at 1000 (TM3->SF1 +9 dB there; weight 1 was within 6 dB at 1000). The
    # full 20,000-update runs of 2026-12-07 keep their pauses within -1.5 to
    # +4.6 dB (stage 6's pause_power_change, ave_80best, mean per direction).
    converter = train(features, CONF / "train_cyclegan_vc_cpu.yaml", "exp_cpu",
                      "--max_epoch", 8, "--num_iters_per_epoch", 250)
    changes = pause_changes(converter)
    print("pause power change [dB], CPU configuration:", changes)
    for direction, change in changes.items():
        assert abs(change["all"]) <= MAX_PAUSE_CHANGE_DB, f"{direction} pauses: {change['all']:+.1f} dB"
        # No kind of pause is filled with noise. (A quieter one is still a
        # pause: at weight 1 after 1000 updates one trailing pause came out ~16 dB quieter.)
        for region in ("leading", "inner", "trailing"):
            value = change[region]
            assert value <= MAX_PAUSE_CHANGE_DB, f"{direction} {region} pause: {value:+.1f} dB"


def test_former_smoke_configuration_fills_pauses_with_noise(features):
    """The control: the check above fails for a configuration known to add noise."""
    converter = train(features, SHORT_CONFIG, "exp_short",
                      "--max_epoch", 1, "--num_iters_per_epoch", 200)
    changes = pause_changes(converter)
    print("pause power change [dB], short configuration:", changes)
    assert max(c["all"] for c in changes.values()) > 2 * MAX_PAUSE_CHANGE_DB
