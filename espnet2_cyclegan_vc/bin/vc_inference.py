#!/usr/bin/env python3
"""Convert speech with a trained CycleGAN-VC model.

Python:
    >>> from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
    >>> vc = VoiceConverter("exp/vc/config.yaml", "exp/vc/latest.pth")
    >>> wav = vc(source_wav, fs=16000)                      # source -> target
    >>> back = vc(target_wav, fs=16000, direction="trg_to_src")

Command line (the recipe's inference stage):
    python -m espnet2_cyclegan_vc.bin.vc_inference \
        --train_config exp/vc/config.yaml --model_file exp/vc/latest.pth \
        --wav_scp data/eval_SF1/wav.scp --direction src_to_trg --output_dir OUT
writes OUT/wav/<utt>.wav (16-bit PCM at the model's sampling rate, at the
input's speech level with peaks at most -1 dBFS: espnet2_cyclegan_vc.audio)
and OUT/wav.scp, the latter last, so an interrupted run never looks complete.

Any recording or folder, in any format, rate and length: vc_convert.
"""

import argparse
import dataclasses
import logging
import time
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from espnet2.utils import config_argparse
from typeguard import typechecked

from espnet2_cyclegan_vc.audio import fit_length, match_level
from espnet2_cyclegan_vc.bin import USER_ERRORS, add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.directions import DIRECTIONS, direction_sides
from espnet2_cyclegan_vc.f0 import LogF0Stats, convert_f0
from espnet2_cyclegan_vc.fileio import read_scp, write_scp, write_wav_atomic
from espnet2_cyclegan_vc.model_io import unpack_converter
from espnet2_cyclegan_vc.tasks.vc import VCTask
from espnet2_cyclegan_vc.world import (
    AudioError,
    WorldConfig,
    WorldFeatures,
    analyze,
    load_wav,
    prepare_wav,
    synthesize,
)


class VoiceConverter:
    """WORLD analysis -> MCEP conversion -> log-Gaussian F0 -> WORLD synthesis."""

    # Shorter inputs are refused by vc_convert: 20 frames of 5 ms, which the
    # generator's two stride-2 blocks leave as 5; below that there is not a
    # syllable to convert.
    min_duration_s = 0.1

    @typechecked
    def __init__(
        self,
        train_config: Union[Path, str],
        model_file: Union[Path, str, None] = None,
        device: str = "cpu",
        direction: str = "src_to_trg",
        src_logf0_stats: Union[Path, str, None] = None,
        trg_logf0_stats: Union[Path, str, None] = None,
        f0_method: Optional[str] = None,
    ):
        """Initialize VoiceConverter.

        Args:
            train_config: config.yaml written by vc_train.
            model_file: Model parameters (*.pth) of that training.
            device: Torch device of the generator.
            direction: Default direction, "src_to_trg" or "trg_to_src".
            src_logf0_stats: Override of the source log-F0 stats npz.
            trg_logf0_stats: Override of the target log-F0 stats npz.
            f0_method: F0 analysis of the input, "harvest" or "dio"; None =
                the training's (world_conf). dio is several times faster and
                changes the features a little (the benchmark measures both).
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"--direction must be one of {DIRECTIONS}, got {direction!r}")
        for path in (train_config, model_file):
            if path is not None and not Path(path).exists():
                raise FileNotFoundError(f"{path} does not exist")
        try:
            model, train_args = VCTask.build_model_from_file(train_config, model_file, device)
        except RuntimeError as e:
            raise RuntimeError(
                f"{model_file} does not match {train_config} (was it trained with "
                f"another configuration?): {e}"
            ) from e
        model.eval()
        self.model = model
        self.device = device
        self.direction = direction
        self.world = WorldConfig.from_dict(train_args.world_conf)
        if f0_method is not None:
            self.world = dataclasses.replace(self.world, f0_method=f0_method)
        feats_dim = model.cyclegan.generator["src_to_trg"].in_channels
        if feats_dim != self.world.mcep_dim:
            raise ValueError(
                f"{train_config}: generator input dim {feats_dim} != world_conf mcep_dim "
                f"{self.world.mcep_dim}"
            )
        for side in ("src", "trg"):
            norm = getattr(model, f"{side}_normalize")
            if norm is not None and norm.mean.numel() != feats_dim:
                raise ValueError(
                    f"{train_config}: {side} normalisation statistics have "
                    f"{norm.mean.numel()} dims but the model expects {feats_dim}"
                )
        self.logf0 = {}
        for side, override in (("src", src_logf0_stats), ("trg", trg_logf0_stats)):
            stats = LogF0Stats.load(override) if override else model.logf0_stats(side)
            if stats is None:
                raise ValueError(
                    f"{train_config}: no {side} log-F0 statistics in the model; train with "
                    f"model_conf {side}_logf0_stats_file or pass --{side}_logf0_stats"
                )
            self.logf0[side] = stats

    @property
    def fs(self) -> int:
        return self.world.fs

    @torch.no_grad()
    def __call__(
        self, wav: np.ndarray, fs: Optional[int] = None, direction: Optional[str] = None, name: str = "<array>"
    ) -> np.ndarray:
        """Convert a waveform.

        Args:
            wav: (T,) or (T, C) samples; (T, C) is down-mixed.
            fs: Sampling rate of wav (resampled to the model's); None = model's.
            direction: "src_to_trg" or "trg_to_src"; None = the default.
            name: Name used in error messages.

        Returns:
            np.ndarray: (T',) converted float64 waveform at self.fs.
        """
        wav = prepare_wav(wav, fs or self.fs, self.fs, name=name)
        return self.convert_features(analyze(wav, self.world, name=name), direction, name=name)

    @torch.no_grad()
    def convert_features(
        self, feats: WorldFeatures, direction: Optional[str] = None, name: str = "<array>"
    ) -> np.ndarray:
        """Convert WORLD features of the input speaker into a waveform.

        Args:
            feats: WORLD analysis (F0, MCEPs, aperiodicity) at self.world.
            direction: "src_to_trg" or "trg_to_src"; None = the default.
            name: Name used in error messages.

        Returns:
            np.ndarray: (T',) converted float64 waveform at self.fs.
        """
        direction = direction or self.direction
        mcep = torch.from_numpy(feats.mcep.astype(np.float32)).to(self.device)
        converted = self.model.convert(mcep, direction).cpu().double().numpy()
        in_side, out_side = direction_sides(direction)
        f0 = convert_f0(feats.f0, self.logf0[in_side], self.logf0[out_side])
        out = synthesize(f0, converted, feats.ap, self.world)
        if not np.all(np.isfinite(out)):
            raise FloatingPointError(f"{name}: conversion produced non-finite samples")
        return out

    def stream(self, direction: Optional[str] = None, **kwargs):
        """A :class:`~espnet2_cyclegan_vc.streaming.StreamingConverter` for live input:
        feed it blocks of any length, get converted audio with a fixed latency.

        Args:
            direction: "src_to_trg" or "trg_to_src"; None = the default.
            **kwargs: lookahead_frames, analysis_lookahead_s, fs, match_level.
        """
        from espnet2_cyclegan_vc.streaming import StreamingConverter

        return StreamingConverter(self, direction=direction, **kwargs)

    def convert_file(self, path: str, direction: Optional[str] = None) -> np.ndarray:
        """Converted samples of a sound file at self.fs, as synthesised (level not matched)."""
        return self(load_wav(path, self.fs), self.fs, direction, name=path)

    @classmethod
    def from_packed(cls, archive: Union[Path, str], outdir: Union[Path, str], **kwargs):
        """Build from an archive made by ``python -m espnet2.bin.pack`` (stage 7).

        The archive is unpacked into outdir; the unpacked config names the
        unpacked statistics by absolute paths, so it loads from any directory.
        The archive may come from anyone: it is unpacked by
        :func:`espnet2_cyclegan_vc.model_io.unpack_model`, which refuses
        members outside outdir, links and unlisted files, and the model file
        is read without unpickling code (UnsafeModelError otherwise).
        """
        files = unpack_converter(archive, outdir)
        return cls(files["train_config"], files["model_file"], **kwargs)


def inference(
    train_config: str,
    model_file: str,
    wav_scp: str,
    output_dir: str,
    direction: str = "src_to_trg",
    key_file: Optional[str] = None,
    ngpu: int = 0,
    src_logf0_stats: Optional[str] = None,
    trg_logf0_stats: Optional[str] = None,
    f0_method: Optional[str] = None,
) -> dict:
    """Convert every utterance of wav_scp (or of the keys in key_file)."""
    device = "cuda" if ngpu > 0 else "cpu"
    converter = VoiceConverter(
        train_config, model_file, device=device, direction=direction,
        src_logf0_stats=src_logf0_stats, trg_logf0_stats=trg_logf0_stats, f0_method=f0_method,
    )
    entries = read_scp(wav_scp)
    if key_file is not None:
        keys = {k for k, _ in read_scp(key_file)}
        entries = [(k, v) for k, v in entries if k in keys]
    if not entries:
        raise ValueError(f"{wav_scp}: no utterances to convert")
    wav_dir = Path(output_dir) / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    lines, skipped, audio_seconds, start = [], [], 0.0, time.perf_counter()
    limited = 0
    for i, (key, path) in enumerate(entries, 1):
        try:
            source = load_wav(path, converter.fs)
            wav = fit_length(converter(source, converter.fs, direction, name=path), len(source))
        except AudioError as e:
            logging.warning(f"Skipping {key}: {e}")
            skipped.append(key)
            continue
        wav, was_limited = match_level(wav, converter.fs, source, converter.fs)
        limited += was_limited
        out = wav_dir / f"{key}.wav"
        write_wav_atomic(out, wav, converter.fs)
        lines.append((key, str(out.resolve())))
        audio_seconds += len(wav) / converter.fs
        logging.info(f"[{i}/{len(entries)}] {key}: {len(wav) / converter.fs:.2f} s")
    if not lines:
        raise ValueError(f"{wav_scp}: no utterance could be converted ({len(skipped)} skipped)")
    elapsed = time.perf_counter() - start
    write_scp(Path(output_dir) / "wav.scp", lines)
    logging.info(
        f"Converted {len(lines)} utterances ({audio_seconds:.1f} s of audio) in {elapsed:.1f} s "
        f"(RTF {elapsed / max(audio_seconds, 1e-9):.3f}); at the input's speech level, "
        f"{limited} peak-limited to -1 dBFS; skipped {len(skipped)}"
        + (f": {' '.join(skipped)}" if skipped else "")
    )
    return {"converted": len(lines), "skipped": len(skipped), "limited": limited}


def get_parser():
    # ESPnet's parser adds --config (YAML), as the recipe's --inference_config.
    parser = config_argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train_config", required=True)
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--wav_scp", required=True, help="Kaldi-style wav.scp to convert")
    parser.add_argument("--key_file", default=None, help="Convert only these keys (split jobs)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--direction", choices=DIRECTIONS, default="src_to_trg")
    parser.add_argument("--ngpu", type=int, default=0)
    parser.add_argument("--src_logf0_stats", default=None)
    parser.add_argument("--trg_logf0_stats", default=None)
    parser.add_argument("--f0_method", choices=("harvest", "dio"), default=None,
                        help="F0 analysis of the input (default: the training's world_conf)")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    kwargs = {k: v for k, v in vars(args).items() if k not in ("log_level", "config")}
    # A model file that does not fit its config is the user's mix-up (RuntimeError from torch).
    run_main("vc_inference", lambda: inference(**kwargs), user_errors=USER_ERRORS + (RuntimeError,))


if __name__ == "__main__":
    main()
