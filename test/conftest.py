"""Shared test helpers: where the real VCC2016 subset lives, running the entry points, a tiny model.

The tests mirror the package: the test of ``espnet2_cyclegan_vc/<dir>/<module>.py`` is
``test/<dir>/test_<module>.py`` (the networks of a folder share one file); ``test/egs2/``
runs the recipes and their shell helpers.
"""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc.espnet_model import ESPnetCycleGANVCModel
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator

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


def make_model(**kw):
    torch.manual_seed(0)
    return ESPnetCycleGANVCModel(
        CycleGANVCGenerator(**G), CycleGANVCGenerator(**G),
        CycleGANVCDiscriminator(**D), CycleGANVCDiscriminator(**D), None, None, **kw,
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
    """WORLD features and log-F0 stats of training utterances, as stage 2-3 make them.

    Args:
        root: Working directory; writes root/<spk>/{feats,f0,...}.scp and
            root/logf0_<spk>.npz, then the pair list root/pairs/.
        speakers: ((source spk, ids), (target spk, ids)).
        world_yaml: WORLD settings file.
        corpus: Folder of <spk>/<id>.wav; default VCC2016's vcc2016_training/.
    """
    corpus = corpus or vcc2016_root() / "vcc2016_training"
    for spk, ids in speakers:
        scp = root / f"{spk}.scp"
        scp.write_text("".join(f"{spk}_{i} {corpus / spk / f'{i}.wav'}\n" for i in ids))
        run("extract_world_feats", "--wav_scp", scp, "--outdir", root / spk,
            "--world_conf", world_yaml, cwd=root)
        run("compute_logf0_stats", "--f0_scp", root / spk / "f0.scp",
            "--output", root / f"logf0_{spk}.npz", "--speaker", spk, cwd=root)
    (src, _), (trg, _) = speakers
    run("make_pair_list", "--src_scp", root / src / "feats.scp", "--trg_scp", root / trg / "feats.scp",
        "--outdir", root / "pairs", cwd=root)


# --------------------------------------------------------------- HTML pages

VOID = {"meta", "br", "img", "source", "input", "link", "hr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], ""

    def iter(self, tag=None):
        for child in self.children:
            if tag is None or child.tag == tag:
                yield child
            yield from child.iter(tag)

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class StrictTree(HTMLParser):
    """An element tree that fails on a closing tag that does not match."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#root", {}, None)
        self.feed(text)
        self.close()
        assert self.current is self.root, f"unclosed <{self.current.tag}>"

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.text += data


def parse_html(source):
    """Element tree of an HTML file (a Path) or text; fails on mismatched tags."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    return StrictTree(text).root


def _unavailable(message):
    """Skip, except where the service must be there (CI, or REQUIRE_SLURM=1)."""
    if os.environ.get("CI") or os.environ.get("REQUIRE_SLURM"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """Environment of a running Slurm cluster for the client commands.

    The one SLURM_CONF names when it answers, else a one-node cluster on this
    machine started by tools/slurm_localhost.sh (root, Debian's slurm-wlm and
    munge) and stopped at the end of the session.
    """
    if os.environ.get("SLURM_CONF") and shutil.which("sinfo"):
        if subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0:
            yield {"SLURM_CONF": os.environ["SLURM_CONF"]}
            return
    missing = [p for p in ("slurmctld", "slurmd", "munged", "sbatch", "sacct") if not shutil.which(p)]
    if missing:
        _unavailable(f"Slurm not installed ({', '.join(missing)} missing): apt-get install "
                     "slurm-wlm munge (.ci/run installs them)")
    if os.geteuid() != 0:
        _unavailable("tools/slurm_localhost.sh starts the Slurm daemons as root")
    # A short path: Slurm keeps its state and logs there.
    state = Path(tempfile.mkdtemp(prefix="slurm_", dir="/tmp"))
    script = REPO_ROOT / "tools/slurm_localhost.sh"
    start = subprocess.run(["bash", script, "start", state], capture_output=True, text=True, timeout=120)
    try:
        if start.returncode != 0:
            logs = "".join(p.read_text()[-2000:] for p in sorted(state.glob("slurm*.log")))
            pytest.fail(f"the Slurm cluster did not start:\n{start.stdout}{start.stderr}\n{logs}")
        yield {"SLURM_CONF": str(state / "slurm.conf")}
    finally:
        subprocess.run(["bash", script, "stop", state], capture_output=True, timeout=60)
