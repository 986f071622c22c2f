"""Shared test helpers: where the real VCC2016 subset lives, running the entry points, a tiny model.

The tests mirror the package: the test of ``espnet2_cyclegan_vc/<dir>/<module>.py`` is
``test/<dir>/test_<module>.py`` (the networks of a folder share one file); ``test/egs2/``
runs the recipes and their shell helpers. Helpers only some tests need are in
``test/helpers/`` (``from helpers.html import parse_html``); the ``slurm_cluster``
fixture of ``helpers/slurm.py`` is imported here, so every test can use it.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from espnet2_cyclegan_vc.cyclegan.cyclegan import CycleGAN
from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.espnet_model import ESPnetCycleGANVCModel
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from helpers.slurm import slurm_cluster  # noqa: F401 (a fixture: importing it here offers it to every test)

REPO_ROOT = Path(__file__).resolve().parents[1]


def vcc2016_root() -> Path:
    """VCC2016 corpus: $VCC2016, else the shared/ folder beside the repository."""
    env = os.environ.get("VCC2016")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "vcc2016"


def needs(path: Path, what: str):
    """Skip a test when path is missing, except under CI (CI=true).

    CI has the real speech (../shared/vcc2016), so there a missing corpus must
    fail the real-speech tests instead of skipping them with exit code 0.
    """
    return pytest.mark.skipif(
        not path.exists() and not os.environ.get("CI"), reason=f"{what} not found at {path}"
    )


needs_vcc2016 = needs(vcc2016_root() / "vcc2016_training", "VCC2016 corpus (set VCC2016=/path/to/extracted/corpus)")


# ------------------------------------------------ a tiny model and a random batch

G = dict(first_channels=8, downsample_channels=[16, 32], residual_hidden_channels=32,
         num_residual_blocks=1, upsample_channels=[32, 16])
D = dict(first_channels=8, downsample_channels=[8, 16, 16])


def build_model(g_xy, g_yx, d_x, d_y, src_normalize=None, trg_normalize=None,
                src_logf0_stats_file=None, trg_logf0_stats_file=None, **cyclegan_conf):
    """The ESPnet model around a CycleGAN of these networks, as the task builds it."""
    return ESPnetCycleGANVCModel(
        CycleGAN(g_xy, g_yx, d_x, d_y, **cyclegan_conf), src_normalize, trg_normalize,
        src_logf0_stats_file, trg_logf0_stats_file,
    )


def make_model(**kw):
    torch.manual_seed(0)
    return build_model(
        CycleGANVCGenerator(**G), CycleGANVCGenerator(**G),
        CycleGANVCDiscriminator(**D), CycleGANVCDiscriminator(**D), **kw,
    )


def tiny_experiment(root: Path, src_f0: float = 220.0, trg_f0: float = 120.0) -> Path:
    """A tiny CycleGAN-VC experiment as training leaves it: exp/config.yaml (naming
    the statistics relative to root, as a recipe's config does), exp/model.pth and
    the log-F0 statistics (speakers at src_f0 and trg_f0 Hz). Build and load it
    with root as the working directory. Returns root / "exp"."""
    import numpy as np
    import yaml

    from espnet2_cyclegan_vc.f0 import accumulate_logf0, save_logf0_stats
    from espnet2_cyclegan_vc.tasks.vc import VCTask

    stats = root / "exp" / "stats"
    stats.mkdir(parents=True, exist_ok=True)
    for side, f0 in (("src", src_f0), ("trg", trg_f0)):
        save_logf0_stats(accumulate_logf0([f0 * np.exp(np.linspace(-0.2, 0.2, 500))]), stats / f"{side}_logf0.npz")
    config = dict(
        world_conf={"f0_method": "dio"}, feats_dim=None,
        generator="cyclegan_vc", generator_conf=G, discriminator="cyclegan_vc", discriminator_conf=D,
        src_normalize=None, src_normalize_conf={}, trg_normalize=None, trg_normalize_conf={},
        model_conf=dict(src_logf0_stats_file="exp/stats/src_logf0.npz",
                        trg_logf0_stats_file="exp/stats/trg_logf0.npz"),
    )
    (root / "exp" / "config.yaml").write_text(yaml.safe_dump(config))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        torch.manual_seed(0)
        model, _ = VCTask.build_model_from_file("exp/config.yaml", None)
        torch.save(model.state_dict(), "exp/model.pth")
    finally:
        os.chdir(cwd)
    return root / "exp"


def tiny_converter(root: Path):
    """A VoiceConverter of tiny_experiment(root), loaded from root as a recipe does."""
    from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter

    tiny_experiment(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return VoiceConverter("exp/config.yaml", "exp/model.pth")
    finally:
        os.chdir(cwd)


def tiny_packed_model(root: Path, srcspk: str = "ALICE", trgspk: str = "BOB", **card) -> Path:
    """tiny_experiment(root) packed as stage 7 packs (bin/pack_model, run from root); the zip's path."""
    from espnet2_cyclegan_vc.bin.pack_model import pack_model

    tiny_experiment(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        out = pack_model("exp", "exp/model.pth", ["exp/stats/src_logf0.npz", "exp/stats/trg_logf0.npz"],
                         srcspk, trgspk, **card)
    finally:
        os.chdir(cwd)
    return root / out


def batch(seed=0, frames=32):
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([frames, frames])
    return dict(src_feats=torch.randn(2, frames, 24, generator=gen), src_feats_lengths=lengths,
                trg_feats=torch.randn(2, frames, 24, generator=gen), trg_feats_lengths=lengths)


def logged_errors(caplog) -> str:
    """The ERROR lines an entry point logged, joined (how every bin/ reports a user error)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def run(module, *args, cwd, check=True):
    """Run ``python -m espnet2_cyclegan_vc.bin.<module>`` as the recipe does."""
    proc = subprocess.run(
        [sys.executable, "-m", f"espnet2_cyclegan_vc.bin.{module}", *map(str, args)],
        cwd=cwd, capture_output=True, text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed:\n{proc.stderr[-4000:]}")
    return proc


def data_args(mode, names):
    """--<mode>_data_path_and_name_and_type options for (scp, name) pairs."""
    args = []
    for path, name in names:
        args += [f"--{mode}_data_path_and_name_and_type", f"{path},{name},kaldi_ark"]
    return args


def extract_training_speakers(root, speakers, world_yaml, corpus=None):
    """WORLD features and log-F0 stats of training utterances, as stages 2-3 make them
    (espnet2_cyclegan_vc.bin.prepare_pair).

    Args:
        root: Working directory; writes root/<spk>.scp, root/<spk>/{feats,f0,...}.scp and
            root/logf0_<spk>.npz, then the pair list root/pairs/.
        speakers: ((source spk, ids), (target spk, ids)).
        world_yaml: WORLD settings file.
        corpus: Folder of <spk>/<id>.wav; default VCC2016's vcc2016_training/.
    """
    from espnet2_cyclegan_vc.bin.prepare_pair import prepare_pair

    corpus = corpus or vcc2016_root() / "vcc2016_training"
    scps = []
    for spk, ids in speakers:
        scp = root / f"{spk}.scp"
        scp.write_text("".join(f"{spk}_{i} {corpus / spk / f'{i}.wav'}\n" for i in ids))
        scps.append((spk, scp))
    prepare_pair(root, *scps, world_conf=world_yaml, logf0_stats_name="logf0_{spk}.npz")
