"""Converting a sound file of any format, rate, channel count and length.

:func:`convert_file` reads whatever libsndfile reads (wav, flac, ogg/opus,
mp3), mixes it to mono, resamples it to the model's rate, converts it and
writes 16-bit PCM at the input's rate (or ``output_fs``), at the input's
speech level with its peaks limited (:mod:`espnet2_cyclegan_vc.audio`).

Long recordings are converted in chunks of about ``chunk_s`` seconds, read
one after another, so memory does not grow with the file. Each chunk is
converted with ``context_s`` seconds of audio on either side (analysis,
resampling and the generator see the same neighbourhood as in one piece),
and chunks meet at the quietest 20 ms of the input within ``seam_search_s``
of the nominal boundary, normally a pause, where a 20 ms raised-cosine
cross-fade joins them. The converted signal is written to a hidden
temporary file first; its level gain is known only at the end, so a second
pass applies gain and limiter block by block and renames the result into
place. Nothing appears under the output name unless the whole file
converted.
"""

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple

import numpy as np
import soundfile

from espnet2_cyclegan_vc.audio import LIMITER_WINDOW_S, LevelMeter, fit_length, level_gain, limiter_gain, resample
from espnet2_cyclegan_vc.fileio import atomic_output
from espnet2_cyclegan_vc.world import AudioError

# A file whose peak stays below this is treated as silence (-80 dBFS, under
# the noise floor of 16-bit recordings): there is no voice to convert.
SILENCE_PEAK = 1e-4
CROSSFADE_S = 0.02
BLOCK_S = 10.0


@dataclasses.dataclass
class FileResult:
    """What converting one file did."""

    seconds: float  # duration of the input
    limited: bool  # the peak limiter lowered some samples
    chunks: int  # pieces the file was converted in
    seams: Tuple[float, ...] = ()  # chunk boundaries, seconds into the file


class _Reader:
    """Mono float64 samples of a sound file, read forward in a sliding window."""

    def __init__(self, path: str, name: str):
        self.name = name
        try:
            self._f = soundfile.SoundFile(path)
        except Exception as e:  # soundfile raises several types for bad files
            raise AudioError(f"{name}: cannot read audio ({_first_line(e)})") from None
        self.fs = int(self._f.samplerate)
        self.start = 0  # file position of buf[0]
        self.buf = np.zeros(0)
        self.eof = False

    def close(self):
        self._f.close()

    @property
    def end(self) -> int:
        return self.start + len(self.buf)

    def fill_to(self, position: int) -> None:
        """Read until the window reaches position or the file ends."""
        while not self.eof and self.end < position:
            want = max(position - self.end, int(self.fs * BLOCK_S))
            try:
                block = self._f.read(want, dtype="float64", always_2d=True)
            except Exception as e:
                raise AudioError(f"{self.name}: cannot decode audio at {self.end / self.fs:.2f} s "
                                 f"({_first_line(e)})") from None
            if len(block) == 0:
                self.eof = True
                break
            mono = block.mean(axis=1)
            if not np.all(np.isfinite(mono)):
                bad = self.end + int(np.argmax(~np.isfinite(mono)))
                raise AudioError(f"{self.name}: NaN or infinite samples (first at {bad / self.fs:.3f} s)")
            self.buf = np.concatenate([self.buf, mono])
            if len(block) < want:
                self.eof = True

    def get(self, a: int, b: int) -> np.ndarray:
        return self.buf[a - self.start: b - self.start]

    def drop_before(self, position: int) -> None:
        cut = max(0, position - self.start)
        self.buf, self.start = self.buf[cut:], self.start + cut


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _refuse_silence(name: str, peak: float) -> None:
    """AudioError for an input whose peak stays under SILENCE_PEAK."""
    if peak < SILENCE_PEAK:
        raise AudioError(f"{name}: silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS): nothing to convert")


def quietest_point(wav: np.ndarray, fs: int) -> int:
    """Index of the centre of the quietest 20 ms frame of wav."""
    n = max(1, int(0.02 * fs))
    frames = len(wav) // n
    if frames == 0:
        return len(wav) // 2
    power = np.mean(np.square(wav[: frames * n].reshape(frames, n)), axis=1)
    return int(np.argmin(power)) * n + n // 2


def convert_file(
    converter,
    path: str,
    output: str,
    direction: Optional[str] = None,
    output_fs: Optional[int] = None,
    chunk_s: float = 30.0,
    context_s: float = 1.0,
    seam_search_s: float = 3.0,
    min_duration_s: Optional[float] = None,
    progress: Optional[Callable[[float], None]] = None,
    stream_block_ms: Optional[float] = None,
) -> FileResult:
    """Convert one sound file into a 16-bit PCM wav (see the module docstring).

    Args:
        converter: A VoiceConverter.
        path: The input file.
        output: The wav to write (atomically; its folder is created).
        direction: "src_to_trg" or "trg_to_src"; None = the converter's default.
        output_fs: Sampling rate of the output; None = the input's.
        chunk_s: Nominal length of the pieces a long file is converted in.
        context_s: Audio converted on either side of a piece and then dropped.
        seam_search_s: How far from the nominal boundary a seam may move to a quieter point.
        min_duration_s: Shorter inputs are refused; None = the converter's minimum.
        progress: Called with the seconds of input converted, after each piece.
        stream_block_ms: Convert as a live source would be: blocks of this
            many milliseconds through the streaming converter
            (:mod:`espnet2_cyclegan_vc.streaming`), its output at its own
            running level; None = whole pieces (the default, best quality).

    Returns:
        FileResult.

    Raises:
        AudioError: the file is not audio, is empty, too short, silent, or
            holds NaN/inf samples; names the file. Nothing is written then.
    """
    reader = _Reader(path, path)
    min_s = converter.min_duration_s if min_duration_s is None else min_duration_s
    try:
        if stream_block_ms is not None:
            return _stream(converter, reader, output, direction, output_fs, stream_block_ms, min_s, progress)
        return _convert(converter, reader, output, direction, output_fs, chunk_s, context_s, seam_search_s,
                        min_s, progress)
    finally:
        reader.close()


def _convert(converter, reader, output, direction, output_fs, chunk_s, context_s, seam_search_s, min_s, progress):
    fs_in = reader.fs
    fs_out = int(output_fs or fs_in)
    chunk, context, search = (int(round(s * fs_in)) for s in (chunk_s, context_s, seam_search_s))
    if chunk <= 2 * search:
        raise ValueError(f"chunk_s ({chunk_s}) must be more than twice seam_search_s ({seam_search_s})")
    half_fade = int(round(CROSSFADE_S * fs_out / 2))
    to_out = lambda i: int(round(i * fs_out / fs_in))  # noqa: E731

    reader.fill_to(chunk + search + context)
    if reader.eof and reader.end < min_s * fs_in:
        what = "no samples" if reader.end == 0 else f"{reader.end / fs_in:.3f} s"
        raise AudioError(f"{reader.name}: {what}, shorter than the model's minimum of {min_s:g} s")

    out_path = Path(output)
    in_meter, out_meter = LevelMeter(fs_in), LevelMeter(fs_out)
    peak_in, seams, chunks = 0.0, [], 0
    # The first pass goes to the temporary folder, so a file that fails leaves
    # nothing in the output folder, not even the folder.
    fd, raw_tmp = tempfile.mkstemp(prefix="vc_convert.", suffix=".wav")
    os.close(fd)
    try:
        with soundfile.SoundFile(raw_tmp, "w", fs_out, 1, subtype="FLOAT", format="WAV") as raw:
            pos, tail = 0, np.zeros(0)  # tail: the previous piece's samples past its seam
            while True:
                reader.fill_to(pos + chunk + search + context)
                if reader.eof and reader.end <= pos + chunk + search:
                    end = reader.end
                else:
                    lo = pos + chunk - search
                    end = lo + quietest_point(reader.get(lo, pos + chunk + search), fs_in)
                    seams.append(end / fs_in)
                a, b = max(0, pos - context), min(reader.end, end + context)
                piece = reader.get(a, b)
                core = reader.get(pos, end)
                in_meter.add(core)
                peak_in = max(peak_in, float(np.max(np.abs(core))) if len(core) else 0.0)
                converted = fit_length(_convert_piece(converter, piece, fs_in, fs_out, direction, reader.name),
                                 to_out(b) - to_out(a))
                last = end == reader.end and reader.eof
                keep_from = to_out(pos) - (half_fade if pos > 0 else 0)
                keep_to = to_out(end) + (0 if last else half_fade)
                kept = converted[keep_from - to_out(a): keep_to - to_out(a)]
                if len(tail):
                    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(len(tail)) + 0.5) / len(tail))
                    kept = kept.copy()
                    kept[: len(tail)] = tail * (1.0 - fade) + kept[: len(tail)] * fade
                body = kept if last else kept[: len(kept) - 2 * half_fade]
                tail = np.zeros(0) if last else kept[len(kept) - 2 * half_fade:]
                raw.write(body)
                out_meter.add(body)
                chunks += 1
                if progress is not None:
                    progress((end - pos) / fs_in)
                if last:
                    break
                reader.drop_before(end - context)
                pos = end
        _refuse_silence(reader.name, peak_in)
        gain = level_gain(in_meter.level_db(), out_meter.level_db())
        limited = _write_final(raw_tmp, out_path, fs_out, gain)
    finally:
        os.unlink(raw_tmp)
    return FileResult(seconds=reader.end / fs_in, limited=limited, chunks=chunks, seams=tuple(seams))


def _stream(converter, reader, output, direction, output_fs, block_ms, min_s, progress):
    """convert_file through the streaming converter, fed block_ms blocks at the file's rate."""
    import soxr

    fs_in = reader.fs
    fs_out = int(output_fs or fs_in)
    block = int(round(block_ms * fs_in / 1000.0))
    if block < 1:
        raise ValueError(f"--block_ms {block_ms} is less than one sample at {fs_in} Hz")
    stream = converter.stream(direction=direction, fs=fs_in)
    to_out = None if fs_out == converter.fs else soxr.ResampleStream(converter.fs, fs_out, 1, dtype="float64",
                                                                     quality="VHQ")
    peak_in = 0.0
    fd, raw_tmp = tempfile.mkstemp(prefix="vc_convert.", suffix=".wav")
    os.close(fd)
    try:
        with soundfile.SoundFile(raw_tmp, "w", fs_out, 1, subtype="FLOAT", format="WAV") as raw:
            pos = 0
            while True:
                reader.fill_to(pos + block)
                piece = reader.get(pos, pos + block)
                last = reader.eof and pos + len(piece) >= reader.end
                peak_in = max(peak_in, float(np.max(np.abs(piece))) if len(piece) else 0.0)
                converted = stream.feed(piece)
                if last:
                    converted = np.concatenate([converted, stream.finish()])
                if to_out is not None:
                    converted = to_out.resample_chunk(converted, last=last)
                raw.write(converted)
                pos += len(piece)
                reader.drop_before(pos)
                if progress is not None and (last or pos % (10 * fs_in) < block):
                    progress(pos / fs_in)
                if last:
                    break
        if pos < min_s * fs_in:
            raise AudioError(f"{reader.name}: {pos / fs_in:.3f} s, shorter than the model's minimum of {min_s:g} s")
        _refuse_silence(reader.name, peak_in)
        limited = _write_final(raw_tmp, Path(output), fs_out, 1.0)
    finally:
        os.unlink(raw_tmp)
    logging.info(f"{reader.name}: streamed in {block_ms:g} ms blocks, algorithmic latency "
                 f"{1000 * stream.latency_s:.0f} ms + the block; {stream.skipped_blocks} block(s) skipped")
    return FileResult(seconds=pos / fs_in, limited=limited, chunks=1)


def _convert_piece(converter, piece, fs_in, fs_out, direction, name) -> np.ndarray:
    if np.max(np.abs(piece)) < SILENCE_PEAK:  # a silent stretch of a longer file stays silent
        return np.zeros(int(round(len(piece) * fs_out / fs_in)))
    wav = converter(resample(piece, fs_in, converter.fs), converter.fs, direction, name=name)
    return resample(wav, converter.fs, fs_out)


def _blocks(f: soundfile.SoundFile, size: int, context: int) -> Iterator[Tuple[np.ndarray, int, int]]:
    """(window, start of the block in it, block length) over a file, with context either side."""
    total = f.frames
    for start in range(0, total, size):
        a, b = max(0, start - context), min(total, start + size + context)
        f.seek(a)
        yield f.read(b - a, dtype="float64"), start - a, min(size, total - start)


def _write_final(raw_path: str, out_path: Path, fs: int, gain: float) -> bool:
    """Gain and limiter applied block by block to the first pass, written as 16-bit PCM; True if limited."""
    context = 2 * (2 * max(1, int(round(LIMITER_WINDOW_S * fs))) + 1)  # the limiter's reach
    limited = False
    with soundfile.SoundFile(raw_path) as raw, atomic_output(out_path) as tmp:
        with soundfile.SoundFile(tmp, "w", fs, 1, subtype="PCM_16", format="WAV") as out:
            for window, offset, length in _blocks(raw, int(BLOCK_S * fs), context):
                window = window * gain
                limit = limiter_gain(window, fs)
                limited |= bool(limit[offset: offset + length].min() < 1.0)
                out.write(window[offset: offset + length] * limit[offset: offset + length])
    return limited
