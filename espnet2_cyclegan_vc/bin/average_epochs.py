#!/usr/bin/env python3
"""Average the epoch models that convert best by a quality curve.

ESPnet averages the n best epoch models by a validation loss
(``valid.generator_cycle_loss.ave_5best.pth``); for a GAN that loss says
little about the voices. This averages instead the n epochs with the lowest
MCD in one or more curves written by ``vc_learning_curve`` (for example on
the dev sentences of each direction, scored against the other speaker's
recordings of the same sentences), mean over all the curves' directions:

    python -m espnet2_cyclegan_vc.bin.average_epochs --exp_dir exp/vc_x \
        --curves exp/vc_x/dev_curve_src_to_trg/curve.json exp/vc_x/dev_curve_trg_to_src/curve.json \
        --nbest 5 --output exp/vc_x/dev_mcd.ave_5best.pth

Floating-point tensors are averaged; integer buffers (the update counter)
are taken from the latest chosen epoch. Select on the dev set, never on the
evaluation sentences you report.
"""

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from espnet2_cyclegan_vc.bin import add_log_level_argument, positive_int, run_main, setup_logging
from espnet2_cyclegan_vc.fileio import atomic_output
from espnet2_cyclegan_vc.model_io import load_state_dict


class SelectionError(ValueError):
    """The curves cannot rank the epochs (missing points, no common epochs)."""


def rank_epochs(curves: Sequence[Path], metric: str = "mcd") -> List[Tuple[int, float]]:
    """(epoch, mean metric over every curve and direction), best first.

    Only epochs scored in every (curve, direction) are ranked.
    """
    scores: Dict[int, Dict[Tuple[str, str], float]] = defaultdict(dict)
    columns = set()
    for curve in curves:
        try:
            points = json.loads(Path(curve).read_text())["points"]
        except (OSError, ValueError, KeyError) as e:
            raise SelectionError(f"{curve}: not a vc_learning_curve curve.json ({e})") from e
        for p in points:
            if metric not in p:
                raise SelectionError(f"{curve}: no {metric!r} in its points")
            column = (str(curve), p["direction"])
            columns.add(column)
            scores[int(p["epoch"])][column] = float(p[metric])
    complete = {e: s for e, s in scores.items() if len(s) == len(columns)}
    if not complete:
        raise SelectionError(f"no epoch is scored in every curve and direction of {list(map(str, curves))}")
    ranked = [(e, sum(s.values()) / len(s)) for e, s in complete.items()]
    return sorted(ranked, key=lambda item: (item[1], -item[0]))


def average_state_dicts(paths: Sequence[Path]) -> Dict[str, torch.Tensor]:
    """Mean of the floating-point tensors; other tensors from the last path."""
    states = [load_state_dict(p) for p in paths]
    keys = set(states[0])
    for p, s in zip(paths, states):
        if set(s) != keys:
            raise SelectionError(f"{p} holds other parameters than {paths[0]}")
    averaged = {}
    for k in states[0]:
        if states[0][k].is_floating_point():
            averaged[k] = sum(s[k] for s in states) / len(states)
        else:
            averaged[k] = states[-1][k]
    return averaged


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", required=True, type=Path, help="training output dir with <n>epoch.pth")
    parser.add_argument("--curves", required=True, nargs="+", type=Path, help="curve.json files of vc_learning_curve")
    parser.add_argument("--metric", default="mcd", choices=("mcd", "mcd_speech"), help="lower is better")
    parser.add_argument("--nbest", type=positive_int, default=5)
    parser.add_argument("--output", type=Path, default=None,
                        help="default: EXP_DIR/<curve dir name>.<metric>.ave_<nbest>best.pth")
    add_log_level_argument(parser)
    return parser


def average(args: argparse.Namespace) -> Path:
    """Average the n best epochs by the curves; returns the written model file."""
    ranked = rank_epochs(args.curves, args.metric)
    chosen = sorted(e for e, _ in ranked[: args.nbest])
    if len(chosen) < args.nbest:
        raise SelectionError(f"--nbest {args.nbest}: only {len(chosen)} epoch(s) are scored in every curve")
    paths = [args.exp_dir / f"{e}epoch.pth" for e in chosen]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SelectionError(f"missing epoch models {missing} (keep them with --keep_nbest_models)")
    averaged = average_state_dicts(paths)
    output = args.output or args.exp_dir / f"{args.curves[0].parent.name}.{args.metric}.ave_{args.nbest}best.pth"
    for e, value in ranked[: args.nbest]:
        logging.info("epoch %d: mean %s %.3f", e, args.metric, value)
    with atomic_output(output) as tmp:
        torch.save(averaged, tmp)
    logging.info("Averaged epochs %s -> %s", chosen, output)
    return output


def main(cmd: Optional[Sequence[str]] = None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    run_main("average_epochs", lambda: average(args))


if __name__ == "__main__":
    main()
