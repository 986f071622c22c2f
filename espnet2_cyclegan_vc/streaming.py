"""Streaming conversion: audio blocks in, converted audio out, with a fixed latency.

Whole-file conversion (:class:`~espnet2_cyclegan_vc.bin.vc_inference.VoiceConverter`)
sees the utterance at once; a live source gives a few milliseconds at a time.
Three parts of the chain want more than that, and each gets what it needs here:

* **WORLD analysis** (:class:`StreamingAnalyzer`): F0 (dio or harvest) runs on
  a sliding window of recent audio, and CheapTrick/D4C only at the frames that
  became ready. A frame is ready when ``analysis_lookahead_s`` of audio past its
  centre has arrived, enough for the analysis windows of the lowest F0.
* **The generator** (:class:`StreamingGenerator`): its convolutions need
  ``receptive_field(generator)`` frames around an output frame, and its
  instance normalisation needs statistics over the whole utterance. Each pass
  runs the generator over a window of past context, the frames to emit and
  ``lookahead_frames`` of future; every instance norm uses the running
  statistics of all frames the stream has emitted so far plus the window's new
  frames. With the whole utterance in one window this is exactly the
  whole-file conversion.
* **WORLD synthesis** (:class:`StreamingSynthesizer`): WORLD's own real-time
  synthesizer (``synthesisrealtime.cpp``, compiled into pyworld's extension
  module but not wrapped by it), called through ctypes. Its pulses keep their
  phase across blocks, which separate ``pyworld.synthesize`` calls would not.

:class:`StreamingConverter` ties them together and emits the converted signal
on the input's time line, delayed by exactly :attr:`StreamingConverter.latency_samples`
(the algorithmic latency, to which a live source adds its block length):
after N input samples, N - latency samples have come out.
"""

import collections
import ctypes
import importlib.util
import logging
import math
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import pyworld
import torch

from espnet2_cyclegan_vc.audio import PEAK_CEILING_DBFS, LevelMeter, level_gain
from espnet2_cyclegan_vc.directions import direction_sides
from espnet2_cyclegan_vc.f0 import convert_f0
from espnet2_cyclegan_vc.layers.gated_conv import PixelShuffle1d
from espnet2_cyclegan_vc.world import WorldConfig, estimate_f0, mcep_to_sp, refine_f0, to_mono

INSTANCE_NORMS = (torch.nn.InstanceNorm1d, torch.nn.InstanceNorm2d)

# Audio past a frame's centre before it is analysed: dio's voicing decision
# needs about 80 ms of future to agree with whole-file analysis on 99 % of the
# frames of a VCC2016 sentence (70 ms: 99.0 %, 50 ms: 93 %, 20 ms: 81 %).
ANALYSIS_LOOKAHEAD_S = 0.08

# Future feature frames the generator waits for by default: the most that keeps
# the latency within 200 ms with 20 ms blocks (165 + 20 ms); quality against
# look-ahead on VCC2016 in egs2/vcc2016/vc1/RESULTS.md ("Streaming").
DEFAULT_LOOKAHEAD_FRAMES = 8


# --------------------------------------------------------------- receptive field
def receptive_field(generator: torch.nn.Module) -> int:
    """Input frames the widest output frame of a generator depends on through its
    convolutions (instance normalisation aside, which reaches every frame).

    Walks back from one output frame through the convolutions and resolution
    changes, in reverse of the order the generators of this package register
    them (their forward order): n frames after a convolution of time kernel k
    and stride s need (n - 1) * s + k before it; n frames after a pixel
    shuffle of factor r come from at most ceil((n - 1) / r) + 1 frames before
    it (n frames straddle group boundaries at worst).
    """
    frames = 1
    for module in reversed(list(generator.modules())):
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)):
            frames = (frames - 1) * module.stride[-1] + (module.kernel_size[-1] - 1) * module.dilation[-1] + 1
        elif isinstance(module, (PixelShuffle1d, torch.nn.PixelShuffle)):
            frames = -(-(frames - 1) // module.upscale_factor) + 1
    return frames


def context_frames(generator: torch.nn.Module) -> int:
    """Frames of context either side that make a window's inner frames exact:
    half the receptive field plus a downsampling step (strided layers do not
    centre their fields), rounded up to a multiple of the downsampling factor."""
    factor = generator.downsample_factor
    half = (receptive_field(generator) - 1) // 2 + factor
    return -(-half // factor) * factor


# ----------------------------------------------------------------- generator
class _RunningInstanceNorm:
    """Instance norm whose statistics are the stream's so far plus the window's new frames.

    Patched over every InstanceNorm module of a generator for one pass: the
    window covers input frames [start, end); frames before ``emitted`` were
    emitted by earlier passes and are already in the running sums; frames
    [emitted, commit) are emitted by this pass and join the sums after it.
    """

    def __init__(self, modules: List[torch.nn.Module]):
        self.modules = modules
        self.sums: Dict[int, Tuple[torch.Tensor, torch.Tensor, float]] = {}
        self.window = (0, 0, 0, 0)  # start, emitted, commit, end (input frames)

    def forward(self, index: int, module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        start, emitted, commit, end = self.window
        scale = x.size(-1) / (end - start)  # this layer's frames per input frame
        new_from = int(round((emitted - start) * scale))
        new_to = int(round((commit - start) * scale))
        dims = [0] + list(range(2, x.dim()))
        x64 = x.double()
        new = x64[..., new_from:]
        total, squares, count = self.sums.get(index, (0.0, 0.0, 0.0))
        per_frame = new.numel() / (new.size(1) * max(new.size(-1), 1))
        n = count + new.size(-1) * per_frame
        mean = (total + new.sum(dim=dims)) / n
        var = ((squares + new.square().sum(dim=dims)) / n - mean.square()).clamp_min(0.0)
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = (x64 - mean.view(shape)) / torch.sqrt(var.view(shape) + module.eps)
        if module.affine:
            y = y * module.weight.double().view(shape) + module.bias.double().view(shape)
        done = x64[..., new_from:new_to]
        self.sums[index] = (total + done.sum(dim=dims), squares + done.square().sum(dim=dims),
                            count + done.size(-1) * per_frame)
        return y.to(x.dtype)

    def patch(self):
        for i, module in enumerate(self.modules):
            module.forward = (lambda m, k: (lambda x: self.forward(k, m, x)))(module, i)

    def unpatch(self):
        for module in self.modules:
            del module.forward


class StreamingGenerator:
    """Runs a generator over a stream of (normalised) feature frames.

    Frames come in with :meth:`push` in any number; converted frames come out
    in groups of the downsampling factor, each group once ``lookahead_frames``
    frames after it have arrived. :meth:`finish` converts the rest.
    """

    def __init__(self, generator: torch.nn.Module, lookahead_frames: int, context: Optional[int] = None):
        """Initialize StreamingGenerator.

        Args:
            generator: One direction's generator, input and output (B, D, T).
            lookahead_frames: Future frames each output frame waits for; rounded
                up to a multiple of the downsampling factor.
            context: Past frames each pass sees; None = :func:`context_frames`.
        """
        self.generator = generator
        self.factor = int(generator.downsample_factor)
        if lookahead_frames < 0:
            raise ValueError(f"lookahead_frames must be >= 0, got {lookahead_frames}")
        self.lookahead = -(-lookahead_frames // self.factor) * self.factor
        context = context_frames(generator) if context is None else context
        self.context = -(-context // self.factor) * self.factor  # windows start on the strides' grid
        self.norm = _RunningInstanceNorm([m for m in generator.modules() if isinstance(m, INSTANCE_NORMS)])
        self._frames: Optional[torch.Tensor] = None  # (D, T) from absolute frame _start
        self._start = 0
        self.emitted = 0  # frames converted so far

    @property
    def received(self) -> int:
        return self._start + (0 if self._frames is None else self._frames.size(1))

    def push(self, frames: torch.Tensor) -> torch.Tensor:
        """Add (D, T) frames; returns the (D, T') frames that became ready (T' may be 0)."""
        self._frames = frames if self._frames is None else torch.cat([self._frames, frames], dim=1)
        ready = (self.received - self.lookahead - self.emitted) // self.factor * self.factor
        # The first pass waits for two downsampled frames (the generator's minimum input).
        if ready <= 0 or self.received < 2 * self.factor:
            return frames.new_zeros(frames.size(0), 0)
        return self._convert(self.emitted + ready, self.emitted + ready + self.lookahead)

    def finish(self) -> torch.Tensor:
        """The frames not converted yet (the end of the stream needs no look-ahead)."""
        if self._frames is None or self.emitted >= self.received:
            return torch.zeros(0 if self._frames is None else self._frames.size(0), 0)
        return self._convert(self.received, self.received)

    @torch.no_grad()
    def _convert(self, commit: int, end: int) -> torch.Tensor:
        start = max(0, self.emitted - self.context)
        window = self._frames[:, start - self._start:end - self._start]
        # The generator pads its input as pad_frames does; the statistics count
        # the padded frames, as instance norm over the whole padded file does.
        frames = window.size(1)
        padded = max(frames + (-frames) % self.factor, 2 * self.factor)
        self.norm.window = (start, self.emitted, commit, start + padded)
        self.norm.patch()
        try:
            out = self.generator(window.unsqueeze(0))[0]
        finally:
            self.norm.unpatch()
        out = out[:, self.emitted - start:commit - start]
        self.emitted = commit
        keep_from = max(0, self.emitted - self.context)
        self._frames = self._frames[:, keep_from - self._start:]
        self._start = keep_from
        return out


# ------------------------------------------------------------------ analysis
class StreamingAnalyzer:
    """WORLD features of a signal fed in blocks, frame by frame as they become ready.

    Frame k (centre at k frame periods) is analysed once ``lookahead`` samples
    past its centre have arrived: F0 over a window of ``history`` samples before
    the first new frame up to the newest sample, CheapTrick and D4C at the new
    frames only. :meth:`finish` analyses the frames the end of the signal
    leaves (as many as whole-file analysis has).
    """

    def __init__(self, config: WorldConfig, lookahead_s: float = 0.08, history_s: float = 0.1):
        self.config = config
        self.hop = int(round(config.fs * config.frame_period / 1000.0))
        if abs(self.hop - config.fs * config.frame_period / 1000.0) > 1e-9:
            raise ValueError(f"world_conf frame_period {config.frame_period} ms is not a whole number of samples")
        self.lookahead = int(round(lookahead_s * config.fs))
        self.history = -(-int(round(history_s * config.fs)) // self.hop) * self.hop
        self.fft_size = config.resolved_fft_size
        self._buf = np.zeros(0)
        self._start = 0  # absolute sample of _buf[0], a multiple of hop
        self.frames = 0  # frames analysed so far

    @property
    def received(self) -> int:
        return self._start + len(self._buf)

    def push(self, samples: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Add samples; returns (f0, mcep, ap) of the frames that became ready."""
        self._buf = np.concatenate([self._buf, np.asarray(samples, dtype=np.float64)])
        ready = (self.received - self.lookahead) // self.hop + 1  # frames 0 .. ready-1 analysable
        return self._analyse(min(ready, self.config.num_frames(self.received)))

    def finish(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._analyse(self.config.num_frames(self.received) if self.received else 0)

    def _analyse(self, upto: int):
        c = self.config
        count = upto - self.frames
        if count <= 0:
            width = c.mcep_dim, self.fft_size // 2 + 1
            return np.zeros(0), np.zeros((0, width[0])), np.zeros((0, width[1]))
        win_start = max(self._start, self.frames * self.hop - self.history)
        x = np.ascontiguousarray(self._buf[win_start - self._start:])
        local = np.arange(self.frames, upto) - win_start // self.hop  # the new frames in the window
        f0, _ = estimate_f0(x, c)
        # The window ends before the centre of its last frame when a block ends mid-frame.
        f0 = np.ascontiguousarray(f0[np.minimum(local, len(f0) - 1)])
        t = np.ascontiguousarray(local * c.frame_period / 1000.0)
        f0 = refine_f0(x, f0, t, c)
        sp = pyworld.cheaptrick(x, f0, t, c.fs, f0_floor=c.f0_floor, fft_size=self.fft_size)
        ap = pyworld.d4c(x, f0, t, c.fs, fft_size=self.fft_size)
        mcep = pyworld.code_spectral_envelope(sp, c.fs, c.mcep_dim)
        self.frames = upto
        keep = max(0, self.frames * self.hop - self.history - self.hop)
        keep -= keep % self.hop
        if keep > self._start:
            self._buf = self._buf[keep - self._start:]
            self._start = keep
        return f0, mcep, ap


# ----------------------------------------------------------------- synthesis
class _SynthesizerHead(ctypes.Structure):
    """The leading fields of WORLD's WorldSynthesizer (synthesisrealtime.h),
    the only ones read here; the rest of the struct is WORLD's business."""

    _fields_ = [
        ("fs", ctypes.c_int),
        ("frame_period", ctypes.c_double),
        ("buffer_size", ctypes.c_int),
        ("number_of_pointers", ctypes.c_int),
        ("fft_size", ctypes.c_int),
        ("buffer", ctypes.POINTER(ctypes.c_double)),
        ("current_pointer", ctypes.c_int),
        ("i", ctypes.c_int),
    ]


_STRUCT_BYTES = 1 << 14  # more than WorldSynthesizer's size in any WORLD version
_DOUBLE_PP = ctypes.POINTER(ctypes.POINTER(ctypes.c_double))
_world_lib = None


def _world():
    global _world_lib
    if _world_lib is None:
        lib = ctypes.CDLL(importlib.util.find_spec("pyworld.pyworld").origin)  # pyworld's compiled module
        for name in ("InitializeSynthesizer", "AddParameters", "Synthesis2", "DestroySynthesizer", "IsLocked"):
            if not hasattr(lib, name):
                raise RuntimeError(f"pyworld {pyworld.__version__} has no WORLD real-time synthesizer ({name})")
        lib.InitializeSynthesizer.argtypes = [ctypes.c_int, ctypes.c_double, ctypes.c_int, ctypes.c_int,
                                              ctypes.c_int, ctypes.c_void_p]
        lib.InitializeSynthesizer.restype = None
        lib.AddParameters.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_int, _DOUBLE_PP, _DOUBLE_PP,
                                      ctypes.c_void_p]
        lib.AddParameters.restype = ctypes.c_int
        lib.Synthesis2.argtypes = [ctypes.c_void_p]
        lib.Synthesis2.restype = ctypes.c_int
        lib.IsLocked.argtypes = [ctypes.c_void_p]
        lib.IsLocked.restype = ctypes.c_int
        lib.DestroySynthesizer.argtypes = [ctypes.c_void_p]
        lib.DestroySynthesizer.restype = None
        _world_lib = lib
    return _world_lib


class StreamingSynthesizer:
    """WORLD's real-time synthesizer: frames in, samples out, one frame period at a time.

    WORLD keeps pointers to the parameters it is given (it does not copy them),
    so the arrays of the last ``ring`` additions are held here until it is done
    with them.
    """

    def __init__(self, config: WorldConfig, ring: int = 256):
        self.config = config
        self.hop = int(round(config.fs * config.frame_period / 1000.0))
        self.bins = config.resolved_fft_size // 2 + 1
        # Frames past a sample that synthesis needs before it: the next pulse
        # (one period of the lowest F0) and the frame WORLD interpolates towards.
        self.lookahead_frames = int(math.ceil(config.fs / config.f0_floor / self.hop)) + 2
        self._lib = _world()
        self._mem = ctypes.create_string_buffer(_STRUCT_BYTES)
        self._lib.InitializeSynthesizer(config.fs, config.frame_period, config.resolved_fft_size, self.hop, ring,
                                        self._mem)
        self._head = _SynthesizerHead.from_buffer(self._mem)
        got = (self._head.fs, self._head.buffer_size, self._head.number_of_pointers, self._head.fft_size)
        if got != (config.fs, self.hop, ring, config.resolved_fft_size):
            raise RuntimeError(f"pyworld {pyworld.__version__}: WORLD's synthesizer struct is not laid out as "
                               f"expected (read {got}); streaming synthesis is unavailable")
        self._alive = collections.deque(maxlen=ring + 2)

    def push(self, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
        """Add frames (f0 (T,), power envelope (T, bins), aperiodicity (T, bins));
        returns the samples that can be synthesised now."""
        out = [self._drain()]
        if len(f0):
            arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (f0, sp, ap)]
            rows = [(a.ctypes.data + np.arange(len(a)) * a.strides[0]).astype(np.uintp) for a in arrays[1:]]
            self._alive.append((arrays, rows))
            if not self._lib.AddParameters(arrays[0].ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(f0),
                                           rows[0].ctypes.data_as(_DOUBLE_PP), rows[1].ctypes.data_as(_DOUBLE_PP),
                                           self._mem):
                raise RuntimeError("WORLD synthesizer: ring buffer full (frames pushed faster than drained)")
            out.append(self._drain())
        return np.concatenate(out)

    def _drain(self) -> np.ndarray:
        blocks = []
        while self._lib.Synthesis2(self._mem):
            blocks.append(np.ctypeslib.as_array(self._head.buffer, shape=(self.hop,)).copy())
        return np.concatenate(blocks) if blocks else np.zeros(0)

    def close(self):
        if self._mem is not None:
            self._lib.DestroySynthesizer(self._mem)
            self._mem = None

    def __del__(self):
        self.close()


# ----------------------------------------------------------------- converter
class StreamingConverter:
    """Converts a live signal block by block with a fixed algorithmic latency.

    >>> stream = voice_converter.stream(direction="src_to_trg")
    >>> for block in microphone_blocks:          # any lengths, at stream.fs
    ...     play(stream.feed(block))
    >>> play(stream.finish())

    Output sample n is the conversion of input sample n, emitted once input
    sample n + latency_samples has been fed. The output is brought to the
    input's speech level as measured so far, with peaks kept under -1 dBFS.
    """

    def __init__(self, converter, direction: Optional[str] = None, lookahead_frames: Optional[int] = None,
                 analysis_lookahead_s: float = ANALYSIS_LOOKAHEAD_S, fs: Optional[int] = None, match_level: bool = True):
        """Initialize StreamingConverter (usually through ``VoiceConverter.stream``).

        Args:
            converter: A VoiceConverter (model, WORLD settings, log-F0 statistics).
            direction: "src_to_trg" or "trg_to_src"; None = the converter's default.
            lookahead_frames: Future feature frames the generator sees; None =
                DEFAULT_LOOKAHEAD_FRAMES, clipped to the generator's context.
            analysis_lookahead_s: Audio past a frame's centre before it is analysed.
            fs: Sampling rate of the blocks; None = the model's. Another rate is
                resampled (soxr's streaming resampler).
            match_level: Bring the output to the input's running speech level.
        """
        self.converter = converter
        self.direction = direction or converter.direction
        in_side, out_side = direction_sides(self.direction)
        self.world = converter.world
        self.model = converter.model
        self._sides = in_side, out_side
        self._logf0 = converter.logf0[in_side], converter.logf0[out_side]
        generator = self.model.cyclegan.generator[self.direction]
        full = context_frames(generator)
        lookahead = DEFAULT_LOOKAHEAD_FRAMES if lookahead_frames is None else lookahead_frames
        self.generator = StreamingGenerator(generator, min(lookahead, full), context=full)
        self.analyzer = StreamingAnalyzer(self.world, lookahead_s=analysis_lookahead_s)
        self.synthesizer = StreamingSynthesizer(self.world)
        self.fs = fs or self.world.fs
        self._resampler, resampler_delay = None, 0
        if self.fs != self.world.fs:
            import soxr

            self._resampler = soxr.ResampleStream(self.fs, self.world.fs, 1, dtype="float64", quality="HQ")
            # soxr keeps its output on the input's time line but holds back its
            # filter's delay until more input comes: that is latency too.
            probe = soxr.ResampleStream(self.fs, self.world.fs, 1, dtype="float64", quality="HQ")
            probe.resample_chunk(np.zeros(self.fs))
            resampler_delay = int(math.ceil(probe.delay()))
            logging.info(f"stream at {self.fs} Hz resampled to the model's {self.world.fs} Hz "
                         f"({1000 * resampler_delay / self.world.fs:.0f} ms of filter delay)")
        hop = self.analyzer.hop
        # Sample n of the output needs: the generator's group and look-ahead,
        # what synthesis needs past it, and each frame's analysis look-ahead.
        frames = self.generator.factor + self.generator.lookahead + self.synthesizer.lookahead_frames
        self.latency_samples = frames * hop + self.analyzer.lookahead + resampler_delay
        self.match_level = match_level
        self._in_level, self._out_level = LevelMeter(self.world.fs), LevelMeter(self.world.fs)
        self._gain = 1.0
        self._f0_ap: List[Tuple[np.ndarray, np.ndarray]] = []  # converted F0 and aperiodicity awaiting their envelopes
        self._out = np.zeros(0)  # synthesised, not emitted yet
        self._received = 0  # samples fed to the stream, at its own rate
        self._emitted = 0
        self.skipped_blocks = 0
        self.underruns = 0
        self.part_seconds = {"analysis": 0.0, "network": 0.0, "synthesis": 0.0}  # processing time so far, by part
        self._blocks = 0
        self._finished = False

    @property
    def latency_s(self) -> float:
        """Algorithmic latency in seconds (a live source adds its block length)."""
        return self.latency_samples / self.world.fs

    def feed(self, block: np.ndarray, fs: Optional[int] = None) -> np.ndarray:
        """Convert the next block of samples (1-D, or (T, C) down-mixed).

        Returns:
            np.ndarray: the converted samples that are now due (float64, at the
            model's rate), possibly none.

        Raises:
            ValueError: fs differs from the stream's, or the stream has finished.
        """
        if self._finished:
            raise ValueError("feed() after finish(): start a new stream")
        if fs is not None and fs != self.fs:
            raise ValueError(f"block {self._blocks} is at {fs} Hz but the stream is at {self.fs} Hz; "
                             "start a new stream for another rate")
        self._blocks += 1
        block = to_mono(block, name=f"block {self._blocks - 1}")
        if len(block) == 0:
            return np.zeros(0)
        if not np.all(np.isfinite(block)):
            # A dropout of the source: keep the time line, convert silence in its place.
            self.skipped_blocks += 1
            logging.warning(f"block {self._blocks - 1}: NaN or infinite samples, replaced by silence "
                            f"({self.skipped_blocks} so far)")
            block = np.zeros_like(block)
        self._received += len(block)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        return self._step(block, last=False)

    def finish(self) -> np.ndarray:
        """The rest of the converted signal, up to the length of the input."""
        if self._finished:
            return np.zeros(0)
        rest = np.zeros(0)
        if self._resampler is not None:
            rest = self._resampler.resample_chunk(np.zeros(0), last=True)
        out = self._step(rest, last=True)
        self._finished = True
        self.synthesizer.close()
        return out

    def _step(self, block: np.ndarray, last: bool) -> np.ndarray:
        self._in_level.add(block)
        clock = time.perf_counter()
        analysed = [self.analyzer.push(block)]
        if last:
            analysed.append(self.analyzer.finish())
        clock = self._lap("analysis", clock)
        converted = []
        for f0, mcep, ap in analysed:
            if len(f0):
                self._f0_ap.append((convert_f0(f0, *self._logf0), ap))
                converted.append(self._denormalise(self.generator.push(self._normalise(mcep))))
        if last:
            converted.append(self._denormalise(self.generator.finish()))
        clock = self._lap("network", clock)
        self._synthesise(np.concatenate(converted) if converted else np.zeros((0, self.world.mcep_dim)), last)
        self._lap("synthesis", clock)
        # Due: the input's length on the model's time line, less the latency.
        received = self._received * self.world.fs // self.fs
        due = received if last else received - self.latency_samples
        return self._emit(due - self._emitted)

    def _lap(self, part: str, since: float) -> float:
        now = time.perf_counter()
        self.part_seconds[part] += now - since
        return now

    @torch.no_grad()
    def _normalise(self, mcep: np.ndarray) -> torch.Tensor:
        """(T, D) raw MCEPs -> (D, T) normalised generator input."""
        feats = torch.from_numpy(mcep.astype(np.float32)).unsqueeze(0)
        return self.model.normalize(self._sides[0], feats, torch.tensor([feats.size(1)]))[0]

    @torch.no_grad()
    def _denormalise(self, frames: torch.Tensor) -> np.ndarray:
        """(D, T) generator output -> (T, D) raw MCEPs of the output speaker."""
        if frames.size(1) == 0:
            return np.zeros((0, self.world.mcep_dim))
        return self.model.denormalize(self._sides[1], frames.unsqueeze(0))[0].double().numpy()

    def _synthesise(self, mcep: np.ndarray, last: bool) -> None:
        """Synthesise converted frames with the F0 and aperiodicity of the same frames."""
        n = len(mcep)
        if n:
            f0 = np.concatenate([p[0] for p in self._f0_ap])
            ap = np.concatenate([p[1] for p in self._f0_ap])
            self._f0_ap = [(f0[n:], ap[n:])] if n < len(f0) else []
            sp = mcep_to_sp(mcep, self.world)
            self._out = np.concatenate([self._out, self.synthesizer.push(f0[:n], sp, ap[:n])])
        if last:
            # Silent frames push the last pulses' responses out of WORLD's buffer.
            tail = self.synthesizer.lookahead_frames + 6
            bins = self.synthesizer.bins
            flush = self.synthesizer.push(np.zeros(tail), np.full((tail, bins), 1e-16), np.ones((tail, bins)))
            self._out = np.concatenate([self._out, flush])

    def _emit(self, count: int) -> np.ndarray:
        """The next count samples of the output (fewer only if synthesis fell behind), level-matched."""
        if count > len(self._out):  # the latency was not enough: should never happen (tested)
            self.underruns += 1
            logging.warning(f"stream: {count - len(self._out)} samples late (underrun {self.underruns})")
        count = max(0, min(count, len(self._out)))
        out, self._out = self._out[:count], self._out[count:]
        self._emitted += len(out)
        if not self.match_level or not len(out):
            return out
        self._out_level.add(out)
        gain = level_gain(self._in_level.level_db(), self._out_level.level_db())
        out = out * np.linspace(self._gain, gain, len(out), endpoint=False)  # no step between blocks
        self._gain = gain
        ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0)
        peak = float(np.max(np.abs(out)))
        if peak > ceiling:
            out = out * (ceiling / peak)
        return out
