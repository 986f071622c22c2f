#!/usr/bin/env python3
"""Convert dev sentences under several conversion-side variants (STUDIES.md, study 6).

Each variant changes one thing after the generator, or swaps one of its
parts for the source's, so that stage 6's scorer (vc_score) can tell what
limits the converted speech. Every wav is trimmed to its source's length and
brought to its speech level with peaks limited, as stage 5 does.

    local/conversion_variants.py --exp_dir exp/vc_cpu_SF1_TM3 \
        --model_file valid.generator_cycle_loss.ave_5best.pth \
        --wav_scp src_to_trg=dev_SF1.scp trg_to_src=dev_TM3.scp \
        --variants plain emphasis1=0.2 emphasis2=0.4 gv_source smooth=3 source_f0 f0_only \
        --outdir exp/study6/SF1_TM3

writes OUTDIR/<variant>/<direction>/<utt>.wav and wav.scp. Variants:
    plain          the converter as stage 5 runs it
    emphasis1=B    coded-envelope coefficients c1.. scaled by 1 + B (formant emphasis)
    emphasis2=B    the same from c2 on (spectral tilt, c1, kept)
    gv_source      per coefficient (c1..), the converted utterance's spread
                   over time scaled to the source utterance's
    smooth=K       a K-frame moving average of c1.. over time
    source_f0      converted envelope with the source's F0 (no F0 conversion)
    f0_only        the source's envelope with the converted F0 (the generator left out)
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from espnet2_cyclegan_vc.audio import fit_length, match_level
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.directions import DIRECTIONS, direction_sides
from espnet2_cyclegan_vc.f0 import convert_f0
from espnet2_cyclegan_vc.fileio import read_scp, write_scp, write_wav_atomic
from espnet2_cyclegan_vc.world import analyze, load_wav, synthesize


def emphasize(mcep: np.ndarray, beta: float, first: int) -> np.ndarray:
    out = mcep.copy()
    out[:, first:] *= 1.0 + beta
    return out


def match_spread(mcep: np.ndarray, reference: np.ndarray) -> np.ndarray:
    out = mcep.copy()
    mean = out[:, 1:].mean(0)
    out[:, 1:] = mean + (out[:, 1:] - mean) * reference[:, 1:].std(0) / (out[:, 1:].std(0) + 1e-8)
    return out


def moving_average(mcep: np.ndarray, frames: int) -> np.ndarray:
    pad = frames // 2
    padded = np.pad(mcep, ((pad, frames - 1 - pad), (0, 0)), mode="edge")
    out = np.stack([padded[i:i + len(mcep)] for i in range(frames)]).mean(0)
    out[:, 0] = mcep[:, 0]
    return out


def variant_features(name: str, converted: np.ndarray, f0: np.ndarray, feats) -> tuple:
    """(F0, mel-cepstra) to synthesise for a variant."""
    kind, _, value = name.partition("=")
    if kind == "plain":
        return f0, converted
    if kind in ("emphasis1", "emphasis2"):
        return f0, emphasize(converted, float(value), int(kind[-1]))
    if kind == "gv_source":
        return f0, match_spread(converted, feats.mcep)
    if kind == "smooth":
        return f0, moving_average(converted, int(value))
    if kind == "source_f0":
        return feats.f0, converted
    if kind == "f0_only":
        return f0, feats.mcep
    raise ValueError(f"unknown variant {name!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--model_file", required=True, help="model file name in --exp_dir")
    parser.add_argument("--wav_scp", required=True, nargs="+", metavar="DIRECTION=SCP")
    parser.add_argument("--variants", required=True, nargs="+")
    parser.add_argument("--outdir", required=True, type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    vc = VoiceConverter(args.exp_dir / "config.yaml", args.exp_dir / args.model_file)
    for job in args.wav_scp:
        direction, _, scp = job.partition("=")
        if direction not in DIRECTIONS:
            parser.error(f"--wav_scp {job}: the direction must be one of {DIRECTIONS}")
        in_side, out_side = direction_sides(direction)
        written = {v: [] for v in args.variants}
        for key, path in read_scp(scp):
            source = load_wav(path, vc.fs)
            feats = analyze(source, vc.world, name=path)
            converted = vc.model.convert(torch.from_numpy(feats.mcep.astype(np.float32)), direction)
            converted = converted.double().numpy()
            f0 = convert_f0(feats.f0, vc.logf0[in_side], vc.logf0[out_side])
            for variant in args.variants:
                f0_v, mcep_v = variant_features(variant, converted, f0, feats)
                wav = fit_length(synthesize(f0_v, mcep_v, feats.ap, vc.world), len(source))
                wav, _ = match_level(wav, vc.fs, source, vc.fs)
                out = args.outdir / variant / direction / f"{key}.wav"
                out.parent.mkdir(parents=True, exist_ok=True)
                write_wav_atomic(out, wav, vc.fs)
                written[variant].append((key, str(out.resolve())))
        for variant, lines in written.items():
            write_scp(args.outdir / variant / direction / "wav.scp", lines)


if __name__ == "__main__":
    main()
