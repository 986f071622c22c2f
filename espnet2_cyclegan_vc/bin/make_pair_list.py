#!/usr/bin/env python3
"""Write the pseudo-pair list that feeds unpaired data to ESPnet's loader.

    python -m espnet2_cyclegan_vc.bin.make_pair_list \
        --src_scp dump/train_SF1/feats.scp --trg_scp dump/train_TM3/feats.scp \
        --outdir dump/SF1_TM3/train --seed 0

See espnet2_cyclegan_vc.train.unpaired for why the list exists.
"""

import argparse
import logging

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.train.unpaired import write_pair_list


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src_scp", required=True)
    parser.add_argument("--trg_scp", required=True)
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)

    def job():
        n = write_pair_list(args.src_scp, args.trg_scp, args.outdir, seed=args.seed)
        logging.info(f"{args.outdir}: {n} pairs")

    run_main("make_pair_list", job)


if __name__ == "__main__":
    main()
