#!/usr/bin/env python3
"""WORLD feature extraction of a wav.scp into kaldiio ark/scp files.

Writes, for every readable utterance:
    <outdir>/feats.{ark,scp}   MCEPs (T, mcep_dim), float32
    <outdir>/f0.{ark,scp}      F0 in Hz (T,), 0 when unvoiced, float32
    <outdir>/utt2num_frames    T

(Training needs only these: conversion analyses its input waveform itself,
so no aperiodicity is stored.)

Everything is first written under temporary names and renamed at the end,
so an interrupted job leaves nothing that looks complete. Audio that cannot
be used (unreadable, empty, digital silence) is skipped with a warning naming
the file and counted in the final log line; the job fails if nothing is left.
"""

import argparse
import logging
import os
from pathlib import Path

import kaldiio
import numpy as np

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.fileio import read_scp, write_text_atomic
from espnet2_cyclegan_vc.world import AudioError, WorldConfig, analyze, load_wav, world_conf_arg

OUTPUTS = ("feats", "f0")


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wav_scp", required=True, help="Kaldi-style wav.scp (key path)")
    parser.add_argument("--outdir", required=True, help="Directory for ark/scp outputs")
    parser.add_argument("--world_conf", type=world_conf_arg, default=WorldConfig(),
                        help="WORLD settings as YAML/JSON or a YAML file")
    add_log_level_argument(parser)
    return parser


def extract(wav_scp: str, outdir: str, config: WorldConfig) -> dict:
    """Extract features of every utterance; returns counts of done and skipped."""
    entries = read_scp(wav_scp)
    if not entries:
        raise ValueError(f"{wav_scp}: no utterances")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = {name: outdir / f"{name}.tmp" for name in OUTPUTS}
    writers = {
        name: kaldiio.WriteHelper(f"ark,scp:{tmp[name]}.ark,{tmp[name]}.scp")
        for name in OUTPUTS
    }
    num_frames, skipped = [], []
    try:
        for i, (key, path) in enumerate(entries, 1):
            try:
                feats = analyze(load_wav(path, config.fs), config, name=path)
            except AudioError as e:
                logging.warning(f"Skipping {key}: {e}")
                skipped.append(key)
                continue
            writers["feats"][key] = feats.mcep.astype(np.float32)
            writers["f0"][key] = feats.f0.astype(np.float32)
            num_frames.append(f"{key} {feats.num_frames}\n")
            if i % 10 == 0 or i == len(entries):
                logging.info(f"{i}/{len(entries)} utterances")
    finally:
        for w in writers.values():
            w.close()
    if not num_frames:
        raise ValueError(f"{wav_scp}: no usable utterance ({len(skipped)} skipped)")
    # The scp files point into the ark by name: rename the ark first and
    # rewrite the scp paths, then publish the scp files last.
    scp_lines = {}
    for name in OUTPUTS:
        ark = outdir / f"{name}.ark"
        os.replace(f"{tmp[name]}.ark", ark)
        with open(f"{tmp[name]}.scp", encoding="utf-8") as f:
            lines = [line.replace(f"{tmp[name]}.ark", str(ark), 1) for line in f]
        os.unlink(f"{tmp[name]}.scp")
        scp_lines[name] = lines
    write_text_atomic(outdir / "utt2num_frames", "".join(num_frames))
    for name in OUTPUTS:
        write_text_atomic(outdir / f"{name}.scp", "".join(scp_lines[name]))
    logging.info(
        f"{wav_scp}: extracted {len(num_frames)} utterances, skipped {len(skipped)}"
        + (f" ({' '.join(skipped)})" if skipped else "")
    )
    return {"done": len(num_frames), "skipped": len(skipped)}


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("extract_world_feats", lambda: extract(args.wav_scp, args.outdir, args.world_conf))


if __name__ == "__main__":
    main()
