"""What a packed model says about itself: speakers, corpus, training, scores.

Stage 7 writes two files beside the model and packs both:

- ``model_info.yaml``: the facts a program reads (speaker names, sampling
  rate, corpus and licence, the updates the model was trained for); the
  converter takes its speakers and directions from it;
- ``README.md``: the model card a person reads (the same facts, the training
  configuration, the experiment's stage-6 score table with baseline and
  ceiling, and the command that converts with it). It is also the card of the
  model's Hugging Face repository.
"""

import dataclasses
import subprocess
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import yaml

from espnet2_cyclegan_vc.fileio import write_text_atomic

MODEL_INFO = "model_info.yaml"
CARD = "README.md"


@dataclasses.dataclass
class ModelInfo:
    """Facts about a trained model that its files alone do not hold."""

    srcspk: str
    trgspk: str
    fs: int
    num_updates: int
    corpus: str = ""
    corpus_license: str = ""
    recipe: str = ""

    def speaker_of(self, side: str) -> str:
        return {"src": self.srcspk, "trg": self.trgspk}[side]

    def directions(self) -> Dict[str, Tuple[str, str]]:
        """{"src_to_trg": (input speaker, output speaker), "trg_to_src": (...)}."""
        return {"src_to_trg": (self.srcspk, self.trgspk), "trg_to_src": (self.trgspk, self.srcspk)}

    def write(self, path: Union[str, Path]) -> None:
        write_text_atomic(path, yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))

    @classmethod
    def read(cls, path: Union[str, Path]) -> "ModelInfo":
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        known = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not {"srcspk", "trgspk", "fs", "num_updates"} <= set(data):
            raise ValueError(f"{path}: not a model_info.yaml (needs srcspk, trgspk, fs, num_updates)")
        return cls(**{k: v for k, v in data.items() if k in known})


def speakers_from_config(train_args: dict) -> Tuple[str, str]:
    """(source, target) names from the recipe's statistics layout (<stats>/<spk>/logf0_stats.npz).

    The fallback for experiment directories and packs made before
    model_info.yaml existed: ("source", "target") when the layout is another.
    """
    conf = train_args.get("model_conf") or {}
    names = []
    for side, default in (("src", "source"), ("trg", "target")):
        path = conf.get(f"{side}_logf0_stats_file")
        names.append(Path(path).parent.name if path else default)
    return (names[0], names[1]) if names[0] != names[1] else ("source", "target")


def git_hash() -> str:
    """Commit of the checkout the recipe runs in (the working directory), or "unknown"."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _network_line(name: str, conf: dict) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in (conf or {}).items())
    return f"`{name}`" + (f" ({shown})" if shown else "")


def render_card(info: ModelInfo, train_args: dict, config_name: str, results_md: Optional[str],
                repo_id: Optional[str] = None) -> str:
    """The model card (Markdown with the Hub's YAML header)."""
    model = repo_id or "packed_model.zip"
    model_conf = train_args.get("model_conf") or {}
    iters = train_args.get("num_iters_per_epoch")
    lines = [
        "---",
        "library_name: espnet",
        "pipeline_tag: audio-to-audio",
        "tags: [espnet, voice-conversion, cyclegan-vc, audio-to-audio]",
        "---",
        f"# CycleGAN-VC voice conversion: {info.srcspk} <-> {info.trgspk}",
        "",
        "A non-parallel voice conversion model of the CycleGAN-VC family, trained with the "
        "espnet2-cyclegan-vc plugin inside [ESPnet](https://github.com/espnet/espnet)'s GAN trainer: WORLD "
        "features, the generator converts the mel-cepstra, F0 by the log-Gaussian transform, WORLD synthesis.",
        "",
        "## Speakers and directions",
        "",
        "| direction | input speaker | output speaker |",
        "|---|---|---|",
        *(f"| `{d}` | {a} | {b} |" for d, (a, b) in info.directions().items()),
        "",
        f"Audio is converted at {info.fs} Hz (any input rate and channel count is resampled and mixed "
        "down; the output comes back at the input's rate and speech level, peaks at most -1 dBFS).",
        "",
        "## Convert in one line",
        "",
        "```sh",
        f"cyclegan-vc-convert --model {model} --to {info.trgspk} --output_dir converted/ my_recording.flac my_folder/",
        "```",
        "",
        f"(`--to {info.srcspk}` converts the other way; `python -m espnet2_cyclegan_vc.bin.vc_convert` is the "
        "same command.)",
        "",
        "## Training",
        "",
        f"- Corpus: {info.corpus or 'not stated'}; licence: {info.corpus_license or 'not stated'}",
        f"- Recipe: {info.recipe or 'not stated'}, configuration `{config_name}`",
        f"- Updates: {info.num_updates:,} generator updates"
        + (f" ({train_args.get('max_epoch')} epochs x {iters})" if iters else ""),
        f"- Generator: {_network_line(train_args.get('generator', '?'), train_args.get('generator_conf'))}",
        f"- Discriminator: {_network_line(train_args.get('discriminator', '?'), train_args.get('discriminator_conf'))}",
        f"- Losses: adversarial `{model_conf.get('adversarial_loss_type', 'bce')}`, "
        f"cycle weight {model_conf.get('lambda_cycle', 10.0)}, identity weight {model_conf.get('lambda_identity', 5.0)}",
        f"- Batch {train_args.get('batch_size')} x {train_args.get('segment_frames')} frames; "
        f"WORLD: {yaml.safe_dump(train_args.get('world_conf') or {}, default_flow_style=True, width=1000).strip()}",
        "",
        "## Scores",
        "",
    ]
    if results_md and results_md.strip():
        lines += ["The experiment's stage-6 scores on the evaluation sentences (converted, the unconverted "
                  "baseline, and the target speaker's own speech as the ceiling):", "",
                  _demote_headings(_scores_only(results_md)), ""]
    else:
        lines += ["Not scored (stage 6 had not run when this model was packed).", ""]
    lines += [f"Packed by espnet2-cyclegan-vc at git {git_hash()}.", ""]
    return "\n".join(lines)


def _scores_only(results_md: str) -> str:
    """The table and its settings; the lists of the experiment's own files mean nothing in a card."""
    kept = []
    for line in results_md.strip().splitlines():
        if line.startswith(("Converted wavs", "Pictures")):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _demote_headings(markdown: str) -> str:
    return "\n".join("##" + line if line.startswith("#") else line for line in markdown.splitlines())
