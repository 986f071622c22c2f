#!/usr/bin/env python3
"""Per-speaker log-F0 statistics over voiced frames, in ESPnet's stats npz layout.

    python -m espnet2_cyclegan_vc.bin.compute_logf0_stats \
        --f0_scp dump/train_SF1/f0.scp --output exp/stats/SF1/logf0_stats.npz --speaker SF1
"""

import argparse
import logging

import kaldiio
import numpy as np

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.f0 import LogF0Stats, accumulate_logf0, save_logf0_stats


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--f0_scp", required=True, help="F0 scp written by extract_world_feats")
    parser.add_argument("--output", required=True, help="Output npz (count, sum, sum_square)")
    parser.add_argument("--speaker", default=None, help="Speaker name used in messages")
    add_log_level_argument(parser)
    return parser


def compute(f0_scp: str, output: str, speaker: str = None) -> LogF0Stats:
    name = speaker or f0_scp
    f0_list = []
    for key, f0 in kaldiio.load_scp_sequential(f0_scp):
        if not np.all(np.isfinite(f0)):
            raise ValueError(f"{f0_scp}: utterance {key} has non-finite F0")
        f0_list.append(f0)
    if not f0_list:
        raise ValueError(f"{f0_scp}: no utterances for speaker {name}")
    arrays = accumulate_logf0(f0_list)
    stats = LogF0Stats.from_npz_arrays(arrays, f"speaker {name} ({f0_scp})")
    save_logf0_stats(arrays, output)
    logging.info(
        f"{name}: log-F0 mean {stats.mean:.4f}, std {stats.std:.4f} over "
        f"{int(arrays['count'][0])} voiced frames of {len(f0_list)} utterances"
    )
    return stats


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("compute_logf0_stats", lambda: compute(args.f0_scp, args.output, args.speaker))


if __name__ == "__main__":
    main()
