#!/usr/bin/env python3
"""Speaker centroid: the mean speaker embedding of one speaker's utterances.

Stage 6 computes one per speaker from the training set, and compares the
converted speech with the centroids of both speakers (``vc_score
--target_centroid/--source_centroid``):

    python -m espnet2_cyclegan_vc.bin.speaker_centroid \
        --wav_scp data/train_TM3/wav.scp --output exp/speaker_centroids/TM3.npz

The encoder is Resemblyzer's pretrained speaker encoder
(:mod:`espnet2_cyclegan_vc.scoring.speaker`); silent or too short utterances
are logged, counted and left out. The npz (written atomically) holds the
unit-norm centroid, the number of utterances in it and the skipped ids.
"""

import argparse
import logging
from typing import Optional, Sequence

from espnet2_cyclegan_vc.bin import add_log_level_argument, int_at_least, run_main, setup_logging
from espnet2_cyclegan_vc.scoring.matching import read_wav_scp
from espnet2_cyclegan_vc.scoring.speaker import SpeakerEncoder, speaker_centroid


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wav_scp", required=True, help="wav.scp of one speaker's utterances")
    parser.add_argument("--output", required=True, help="output .npz")
    parser.add_argument("--num_utts", type=int_at_least(0), default=0,
                        help="use the first N utterances (sorted ids); 0 = all")
    add_log_level_argument(parser)
    return parser


def compute(wav_scp: str, output: str, num_utts: int = 0) -> None:
    entries = sorted(read_wav_scp(wav_scp).items())
    if num_utts:
        entries = entries[:num_utts]
    encoder = SpeakerEncoder()
    centroid = speaker_centroid(encoder, entries, wav_scp)
    centroid.save(output)
    logging.info(
        "%s: centroid of %d utterance(s) (%d skipped) -> %s",
        wav_scp, centroid.num_utts, len(centroid.skipped), output,
    )


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("speaker_centroid", lambda: compute(args.wav_scp, args.output, args.num_utts))


if __name__ == "__main__":
    main()
