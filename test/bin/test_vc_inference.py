"""VoiceConverter on a tiny model and generated speech-like signals (real pyworld): which
generator and which statistics a direction uses, where F0 lands, and that aperiodicity
reaches synthesis."""

import dataclasses
import os

import numpy as np
import pyworld
import pytest
import torch

from conftest import tiny_experiment
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.world import analyze

FS = 16000
SRC_F0, TRG_F0 = 220.0, 120.0


def harmonic_signal(f0, seconds=0.8):
    t = np.arange(int(seconds * FS)) / FS
    return sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 20))


@pytest.fixture(scope="module")
def converter(tmp_path_factory):
    root = tmp_path_factory.mktemp("vc")
    tiny_experiment(root, src_f0=SRC_F0, trg_f0=TRG_F0)
    cwd = os.getcwd()
    os.chdir(root)  # the config names its statistics relative to the recipe folder
    try:
        return VoiceConverter("exp/config.yaml", "exp/model.pth")
    finally:
        os.chdir(cwd)


def median_f0(wav):
    f0, _ = pyworld.dio(wav, FS, frame_period=5.0)
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.5 * len(f0), "the converted speech should stay voiced"
    return float(np.median(voiced))


@pytest.mark.parametrize("direction", ["src_to_trg", "trg_to_src"])
def test_a_direction_runs_its_own_generator(converter, direction):
    feats = analyze(harmonic_signal(SRC_F0), converter.world)
    mcep = torch.from_numpy(feats.mcep.astype(np.float32))
    with torch.no_grad():
        # No normalisation in this model: the generator of the direction, by hand.
        expected = converter.model.cyclegan.generator[direction](mcep.T[None])[0].T
        other = "trg_to_src" if direction == "src_to_trg" else "src_to_trg"
        elsewhere = converter.model.cyclegan.generator[other](mcep.T[None])[0].T
    torch.testing.assert_close(converter.model.convert(mcep, direction), expected)
    assert (expected - elsewhere).abs().mean() > 0.1
    a = converter.convert_features(feats, direction)
    b = converter.convert_features(feats, other)
    assert np.abs(a - b).mean() > 0.1 * np.abs(a).mean()


@pytest.mark.parametrize("direction,source_hz,expected_hz", [
    ("src_to_trg", SRC_F0, TRG_F0),  # the source speaker's mean F0 lands on the target's
    ("trg_to_src", TRG_F0, SRC_F0),
])
def test_converted_f0_lands_on_the_output_speaker_s_statistics(converter, direction, source_hz, expected_hz):
    out = converter(harmonic_signal(source_hz), fs=FS, direction=direction)
    assert median_f0(out) == pytest.approx(expected_hz, rel=0.05)


def test_aperiodicity_reaches_synthesis(converter):
    feats = analyze(harmonic_signal(SRC_F0), converter.world)
    periodic = converter.convert_features(feats)
    noisy = converter.convert_features(dataclasses.replace(feats, ap=np.full_like(feats.ap, 0.999)))
    assert np.sqrt(np.mean((periodic - noisy) ** 2)) > 0.3 * np.sqrt(np.mean(periodic**2))
