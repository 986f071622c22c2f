#!/usr/bin/env python3
"""Pack a trained model with its statistics, its facts and its model card (stage 7).

    python -m espnet2_cyclegan_vc.bin.pack_model --exp_dir exp/vc_x --model_file exp/vc_x/latest.pth \
        --stats exp/stats/SF1/feats_stats.npz ... --srcspk SF1 --trgspk TM3 \
        --corpus "VCC2016 ..." --corpus_license "..." --results exp/vc_x/decode_latest/results.md

writes exp/vc_x/model_info.yaml, exp/vc_x/README.md (the model card) and
exp/vc_x/packed_model.zip (ESPnet's pack format: meta.yaml names the config,
the model, the card and the facts; the statistics are the packed options),
each atomically. Paths are packed relative to the working directory, as
ESPnet's ``pack`` does, so run it from the recipe folder.
"""

import argparse
import contextlib
import io
import logging
from pathlib import Path

import yaml

from espnet2_cyclegan_vc.bin import add_log_level_argument, main_with_options
from espnet2_cyclegan_vc.fileio import atomic_output, write_text_atomic
from espnet2_cyclegan_vc.model_card import CARD, MODEL_INFO, ModelInfo, render_card
from espnet2_cyclegan_vc.model_io import load_state_dict
from espnet2_cyclegan_vc.world import WorldConfig


def num_updates(model_file: str) -> int:
    """The generator-update counter saved in a model file (0 if it has none)."""
    state = load_state_dict(model_file)
    counters = [v for k, v in state.items() if k.endswith("num_updates")]
    return int(counters[0]) if counters else 0


def pack_model(exp_dir, model_file, stats, srcspk, trgspk, corpus="", corpus_license="", recipe="",
               results=None, hf_repo=None, train_config=None) -> Path:
    exp_dir = Path(exp_dir)
    train_config = Path(train_config or exp_dir / "config.yaml")
    for path in [train_config, model_file, *stats]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} does not exist")
    with open(train_config, encoding="utf-8") as f:
        train_args = yaml.safe_load(f)
    info = ModelInfo(srcspk=srcspk, trgspk=trgspk, fs=WorldConfig.from_dict(train_args.get("world_conf")).fs,
                     num_updates=num_updates(model_file), corpus=corpus, corpus_license=corpus_license,
                     recipe=recipe)
    results_md = Path(results).read_text(encoding="utf-8") if results and Path(results).is_file() else None
    config_name = Path(train_args.get("config") or train_config).name
    info.write(exp_dir / MODEL_INFO)
    write_text_atomic(exp_dir / CARD, render_card(info, train_args, config_name, results_md, hf_repo))

    from espnet2.main_funcs.pack_funcs import pack

    out = exp_dir / "packed_model.zip"
    with atomic_output(out) as tmp, contextlib.redirect_stdout(io.StringIO()):
        pack(files={"model_file": model_file, "model_card": exp_dir / CARD},
             yaml_files={"train_config": train_config, "model_info": exp_dir / MODEL_INFO},
             option=list(stats), outpath=tmp)
    logging.info(f"{out}: {srcspk} <-> {trgspk}, {info.num_updates} updates, card {exp_dir / CARD}"
                 + ("" if results_md else " (no scores: stage 6 has not run)"))
    return out


def get_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", required=True, help="Experiment directory (config.yaml; outputs go here)")
    parser.add_argument("--model_file", required=True)
    parser.add_argument("--train_config", default=None, help="Default: <exp_dir>/config.yaml")
    parser.add_argument("--stats", nargs="+", required=True, help="Statistics the config names (packed too)")
    parser.add_argument("--srcspk", required=True)
    parser.add_argument("--trgspk", required=True)
    parser.add_argument("--corpus", default="", help="Corpus of the training, for the card")
    parser.add_argument("--corpus_license", default="", help="Its licence, for the card")
    parser.add_argument("--recipe", default="", help="Recipe that trained it, for the card")
    parser.add_argument("--results", default=None, help="Stage 6's results.md, for the card's scores")
    parser.add_argument("--hf_repo", default=None, help="Hub repo id, for the card's command")
    add_log_level_argument(parser)
    return parser


def main(cmd=None):
    main_with_options("pack_model", get_parser(), pack_model, cmd)


if __name__ == "__main__":
    main()
