#!/usr/bin/env python3
"""Training data of one speaker pair: WORLD features, log-F0 statistics, pair list.

    python -m espnet2_cyclegan_vc.bin.prepare_pair \
        --src SF1 data/train_SF1/wav.scp --trg TM3 data/train_TM3/wav.scp \
        --outdir work --world_conf conf/world.yaml --seed 0

Runs, in this process, what the recipe's stages 2 and 3 run as separate jobs
(extract_world_feats, compute_logf0_stats, make_pair_list), for callers that
want the whole chain at once on a few utterances (the benchmark, the tests).
Writes, under --outdir:
    <spk>/{feats,f0}.{ark,scp}, <spk>/utt2num_frames   per speaker (extract_world_feats)
    <spk>/logf0_stats.npz                               per speaker (compute_logf0_stats;
                                                        the name is --logf0_stats_name)
    pairs/{src,trg}_feats.scp                           the pseudo-pair list (make_pair_list)

The recipe itself (vc.sh) keeps its stages: it splits the
extraction into parallel jobs and computes MCEP statistics with ESPnet's
--collect_stats between the two steps.
"""

import argparse
import logging
from pathlib import Path
from typing import Dict, Tuple, Union

from espnet2_cyclegan_vc.bin import add_log_level_argument, run_main, setup_logging
from espnet2_cyclegan_vc.bin.compute_logf0_stats import compute
from espnet2_cyclegan_vc.bin.extract_world_feats import extract
from espnet2_cyclegan_vc.train.unpaired import write_pair_list
from espnet2_cyclegan_vc.world import WorldConfig, world_conf_arg

PathLike = Union[str, Path]
LOGF0_STATS_NAME = "{spk}/logf0_stats.npz"


def prepare_pair(
    outdir: PathLike,
    src: Tuple[str, PathLike],
    trg: Tuple[str, PathLike],
    world_conf: Union[WorldConfig, dict, str, Path, None] = None,
    seed: int = 0,
    logf0_stats_name: str = LOGF0_STATS_NAME,
) -> Dict[str, Path]:
    """Extract both speakers' features and log-F0 statistics, then pair them.

    Args:
        outdir: Output folder (created).
        src: (source speaker name, its wav.scp).
        trg: (target speaker name, its wav.scp).
        world_conf: WORLD settings: a WorldConfig, a mapping, or what
            ``--world_conf`` takes (inline YAML/JSON or a YAML file); None:
            the defaults.
        seed: Seed of the pair list.
        logf0_stats_name: Where each speaker's log-F0 statistics go, relative
            to outdir, with ``{spk}`` for the speaker's name.

    Returns:
        Dict[str, Path]: ``<spk>`` (its feature folder) and
        ``logf0_<spk>`` (its statistics) for both speakers, and ``pairs``.
    """
    if isinstance(world_conf, dict):
        world_conf = WorldConfig.from_dict(world_conf)
    elif not isinstance(world_conf, WorldConfig):
        world_conf = world_conf_arg(None if world_conf is None else str(world_conf))
    if "{spk}" not in logf0_stats_name:
        raise ValueError(f"logf0_stats_name must contain {{spk}}, got {logf0_stats_name!r}")
    (src_spk, _), (trg_spk, _) = src, trg
    if src_spk == trg_spk:
        raise ValueError(f"the source and target speakers must differ, got {src_spk} twice")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths: Dict[str, Path] = {}
    for spk, wav_scp in (src, trg):
        feats_dir = outdir / spk
        extract(str(wav_scp), str(feats_dir), world_conf)
        stats = outdir / logf0_stats_name.format(spk=spk)
        stats.parent.mkdir(parents=True, exist_ok=True)
        compute(str(feats_dir / "f0.scp"), str(stats), spk)
        paths[spk], paths[f"logf0_{spk}"] = feats_dir, stats
    paths["pairs"] = outdir / "pairs"
    n = write_pair_list(str(outdir / src_spk / "feats.scp"), str(outdir / trg_spk / "feats.scp"),
                        str(paths["pairs"]), seed=seed)
    logging.info(f"{paths['pairs']}: {n} pairs")
    return paths


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", nargs=2, required=True, metavar=("SPEAKER", "WAV_SCP"),
                        help="Source speaker's name and wav.scp")
    parser.add_argument("--trg", nargs=2, required=True, metavar=("SPEAKER", "WAV_SCP"),
                        help="Target speaker's name and wav.scp")
    parser.add_argument("--outdir", required=True)
    parser.add_argument("--world_conf", type=world_conf_arg, default=WorldConfig(),
                        help="WORLD settings as YAML/JSON or a YAML file")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the pair list")
    parser.add_argument("--logf0_stats_name", default=LOGF0_STATS_NAME,
                        help="Log-F0 statistics file of each speaker, relative to --outdir ({spk}: its name)")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("prepare_pair", lambda: prepare_pair(
        args.outdir, tuple(args.src), tuple(args.trg), args.world_conf, args.seed, args.logf0_stats_name))


if __name__ == "__main__":
    main()
