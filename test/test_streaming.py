"""Streaming conversion: receptive fields, the windowed generator, WORLD analysis
and synthesis block by block, and the converter's latency and bad input."""

import copy
import ctypes
import logging

import numpy as np
import pytest
import soundfile
import torch

from conftest import G, needs_vcc2016, tiny_converter, vcc2016_root
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator
from espnet2_cyclegan_vc.streaming import (
    INSTANCE_NORMS,
    StreamingAnalyzer,
    StreamingGenerator,
    StreamingSynthesizer,
    context_frames,
    receptive_field,
)
from espnet2_cyclegan_vc.world import WorldConfig, analyze, mcep_to_sp, synthesize

VC2 = dict(first_channels=4, downsample_channels=[8, 8], bottleneck_channels=8, num_residual_blocks=1,
           upsample_channels=[16, 8])
GENERATORS = {
    "cyclegan_vc": lambda: CycleGANVCGenerator(**G),
    "cyclegan_vc_cpu": lambda: CycleGANVCGenerator(first_channels=32, downsample_channels=[64, 128],
                                                   residual_hidden_channels=256, num_residual_blocks=3,
                                                   upsample_channels=[256, 128]),
    "cyclegan_vc2": lambda: CycleGANVC2Generator(**VC2),
    "maskcyclegan_vc": lambda: CycleGANVC2Generator(**VC2, mask_channel=True),
}


def without_norms(generator):
    """A float64 copy with every instance norm removed: its receptive field is its convolutions'."""
    generator = copy.deepcopy(generator).double()
    for module in list(generator.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, INSTANCE_NORMS):
                setattr(module, name, torch.nn.Identity())
    return generator


def generator(name):
    torch.manual_seed(0)
    return GENERATORS[name]().eval()


@pytest.mark.parametrize("name", GENERATORS)
def test_receptive_field_is_what_one_output_frame_depends_on(name):
    g = without_norms(generator(name))
    field, context = receptive_field(g), context_frames(g)
    frames, widths = 256, []
    for t in range(120, 120 + 2 * g.downsample_factor):  # every phase of the strides
        x = torch.randn(1, g.in_channels, frames, dtype=torch.float64, requires_grad=True)
        g(x)[0, :, t].sum().backward()
        depends = torch.nonzero(x.grad.abs().sum(1)[0] > 0).flatten()
        first, last = depends.min().item(), depends.max().item()
        widths.append(last - first + 1)
        assert t - first <= context and last - t <= context, (name, t, first, last, context)
    # The computed field is the widest a frame's dependence gets, not a loose bound.
    assert max(widths) == field, (name, widths, field)
    # The same seen from the input: perturbing one frame moves only outputs within the context.
    x = torch.randn(1, g.in_channels, frames, dtype=torch.float64)
    with torch.no_grad():
        reference = g(x)
        for p in range(120, 120 + g.downsample_factor):
            bumped = x.clone()
            bumped[0, :, p] += 1.0
            moved = torch.nonzero((g(bumped) - reference).abs().amax(dim=1)[0] > 1e-12).flatten()
            assert p - context <= moved.min().item() and moved.max().item() <= p + context, (name, p, moved)
            assert moved.max().item() - moved.min().item() + 1 <= field + g.downsample_factor, (name, p)  # stride phase


def test_the_cpu_configuration_s_field():
    # Stated in the README: 115 frames (575 ms at 5 ms), context 64 frames each side.
    g = generator("cyclegan_vc_cpu")
    assert (receptive_field(g), context_frames(g)) == (115, 64)


def push_in_pieces(stream, x, sizes=(3, 5, 1, 8)):
    out, i, k = [], 0, 0
    while i < x.size(1):
        out.append(stream.push(x[:, i:i + sizes[k % len(sizes)]]))
        i += sizes[k % len(sizes)]
        k += 1
    out.append(stream.finish())
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("name", GENERATORS)
def test_windows_with_full_look_ahead_are_the_whole_file_conversion(name):
    """Without instance norm, context and look-ahead of the receptive field make streaming exact."""
    g = without_norms(generator(name))
    x = torch.randn(g.in_channels, 203, dtype=torch.float64)
    with torch.no_grad():
        whole = g(x[None])[0]
    streamed = push_in_pieces(StreamingGenerator(g, context_frames(g)), x)
    torch.testing.assert_close(streamed, whole, rtol=0, atol=1e-9)
    # Without look-ahead the frames before each window's end lack their future.
    short = push_in_pieces(StreamingGenerator(g, 0), x)
    assert (short - whole).abs().max() > 1e-3


@pytest.mark.parametrize("name", GENERATORS)
def test_running_statistics_over_the_whole_stream_are_instance_norm(name):
    """With the whole utterance in one pass, the running statistics are the utterance's."""
    g = generator(name).double()
    x = torch.randn(g.in_channels, 150, dtype=torch.float64)
    with torch.no_grad():
        whole = g(x[None])[0]
    stream = StreamingGenerator(g, 1000)
    assert stream.push(x).size(1) == 0
    torch.testing.assert_close(stream.finish(), whole, rtol=0, atol=1e-9)
    # In pieces the early frames see fewer frames' statistics: close, not equal.
    pieces = push_in_pieces(StreamingGenerator(g, context_frames(g)), x)
    assert (pieces - whole).abs().max() > 1e-6


# ------------------------------------------------------------------ WORLD parts

def real_sentence():
    wav, fs = soundfile.read(vcc2016_root() / "evaluation_all/SF1/200001.wav")
    assert fs == 16000
    return wav


@needs_vcc2016
def test_analysis_block_by_block_matches_whole_file_analysis():
    config = WorldConfig(f0_method="dio")
    wav = real_sentence()
    whole = analyze(wav, config)
    analyzer = StreamingAnalyzer(config, lookahead_s=0.08)
    parts = [analyzer.push(wav[i:i + 320]) for i in range(0, len(wav), 320)] + [analyzer.finish()]
    f0, mcep, ap = (np.concatenate([p[k] for p in parts]) for k in range(3))
    assert len(f0) == len(whole.f0) == len(mcep) == len(ap)
    # dio decides voicing with ~80 ms of future: at 80 ms look-ahead nearly every frame agrees.
    agree = (f0 > 0) == (whole.f0 > 0)
    assert agree.mean() >= 0.99
    both = agree & (f0 > 0)
    np.testing.assert_allclose(f0[both], whole.f0[both], rtol=1e-6)
    assert np.abs(mcep[agree] - whole.mcep[agree]).mean() < 1e-3
    # Less look-ahead, less agreement: the look-ahead is what buys it.
    short = StreamingAnalyzer(config, lookahead_s=0.02)
    parts = [short.push(wav[i:i + 320]) for i in range(0, len(wav), 320)] + [short.finish()]
    assert ((np.concatenate([p[0] for p in parts]) > 0) == (whole.f0 > 0)).mean() < 0.95


@needs_vcc2016
def test_world_s_real_time_synthesizer_matches_whole_file_synthesis():
    config = WorldConfig(f0_method="dio")
    feats = analyze(real_sentence(), config)
    whole = synthesize(feats.f0, feats.mcep, feats.ap, config)
    synth = StreamingSynthesizer(config)
    sp = mcep_to_sp(feats.mcep, config)
    out = [synth.push(feats.f0[i:i + 4], sp[i:i + 4], feats.ap[i:i + 4]) for i in range(0, len(sp), 4)]
    tail = 20
    out.append(synth.push(np.zeros(tail), np.full((tail, sp.shape[1]), 1e-16), np.ones((tail, sp.shape[1]))))
    streamed = np.concatenate(out)[: len(whole)]
    assert len(streamed) == len(whole)
    # Same pulses at the same samples; only the noise of the aperiodic part differs.
    lags = range(-40, 41)
    corr = [np.dot(streamed[8000 + k:40000 + k], whole[8000:40000]) for k in lags]
    assert lags[int(np.argmax(corr))] == 0
    assert np.corrcoef(streamed, whole)[0, 1] > 0.95


def test_the_synthesizer_refuses_a_pyworld_it_does_not_know(monkeypatch):
    import espnet2_cyclegan_vc.streaming as streaming

    fields = dict(streaming._SynthesizerHead._fields_)
    order = ["buffer_size", "frame_period", "fs"] + [n for n in fields if n not in ("fs", "frame_period", "buffer_size")]

    class Head(ctypes.Structure):  # fs and buffer_size swapped: the check must notice
        _fields_ = [(n, fields[n]) for n in order]

    monkeypatch.setattr(streaming, "_SynthesizerHead", Head)
    with pytest.raises(RuntimeError, match="not laid out as expected"):
        StreamingSynthesizer(WorldConfig())


# ------------------------------------------------------------------ the converter

@pytest.fixture(scope="module")
def converter(tmp_path_factory):
    return tiny_converter(tmp_path_factory.mktemp("stream"))


def speech_like(fs=16000, seconds=2.0, onset=0.6):
    """Silence, then a 150 Hz pulse train with formant-ish colour and a pitch glide."""
    t = np.arange(int(seconds * fs)) / fs
    f0 = 150 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    voiced = np.sign(np.sin(phase)) * 0.2 + 0.05 * np.sin(3 * phase)
    wav = np.where(t >= onset, voiced, 0.0) + 1e-4 * np.random.default_rng(0).standard_normal(len(t))
    return wav


def frame_db(wav, n=80):
    frames = len(wav) // n
    return 10 * np.log10(np.mean(wav[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-12)


def test_stream_emits_exactly_the_stated_latency_on_the_input_s_time_line(converter):
    wav = speech_like()
    stream = converter.stream()
    assert stream.latency_s + 0.02 <= 0.2  # the default's latency, with the 20 ms block: 200 ms at most
    out, fed = [], 0
    for i in range(0, len(wav), 320):  # 20 ms blocks
        block = wav[i:i + 320]
        fed += len(block)
        out.append(stream.feed(block))
        assert sum(map(len, out)) == max(0, fed - stream.latency_samples)
    out.append(stream.finish())
    streamed = np.concatenate(out)
    assert len(streamed) == len(wav) and stream.underruns == 0
    # On the input's time line: the frame powers line up with the whole-file
    # conversion's at lag 0, not a latency (>= 20 frames) later.
    whole = converter(wav, 16000)[: len(wav)]
    a, b = frame_db(streamed), frame_db(whole)
    a, b = a - a.mean(), b - b.mean()
    lags = list(range(-30, 1)) + list(range(1, 30))
    n = min(len(a), len(b)) - 30
    corr = [np.dot(a[30 + k:n + k], b[30:n]) for k in lags]
    assert abs(lags[int(np.argmax(corr))]) <= 1


def test_bad_blocks_are_skipped_or_refused_and_the_stream_goes_on(converter, caplog):
    wav = speech_like(seconds=1.0, onset=0.1)
    stream = converter.stream()
    first = stream.feed(wav[:3200])
    assert len(stream.feed(np.zeros(0))) == 0
    with caplog.at_level(logging.WARNING):
        dropout = stream.feed(np.full(320, np.nan))
    assert stream.skipped_blocks == 1 and "NaN" in caplog.text
    with pytest.raises(ValueError, match="at 8000 Hz but the stream is at 16000 Hz"):
        stream.feed(wav[:160], fs=8000)
    rest = stream.feed(wav[3520:])
    out = np.concatenate([first, dropout, rest, stream.finish()])
    assert len(out) == len(wav) and np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="after finish"):
        stream.feed(wav[:320])


def test_a_stream_at_another_rate_is_resampled_to_the_model_s(converter):
    wav = speech_like(fs=48000, seconds=1.0, onset=0.2)
    stream = converter.stream(fs=48000)
    out = np.concatenate([stream.feed(wav[i:i + 960]) for i in range(0, len(wav), 960)] + [stream.finish()])
    assert abs(len(out) - 16000) <= 16  # a second at the model's rate
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 10 ** (-1 / 20) + 1e-12
