"""Shared test helpers: where the real VCC2016 subset lives, and running the entry points."""

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def vcc2016_root() -> Path:
    """VCC2016 corpus: $VCC2016, else the shared/ folder beside the repository."""
    env = os.environ.get("VCC2016")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "vcc2016"


needs_vcc2016 = pytest.mark.skipif(
    not (vcc2016_root() / "vcc2016_training").is_dir(),
    reason="VCC2016 corpus not found (set VCC2016=/path/to/extracted/corpus)",
)


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


def extract_training_speakers(root, speakers, world_yaml):
    """WORLD features and log-F0 stats of VCC2016 training utterances, as stage 2-3 make them.

    Args:
        root: Working directory; writes root/<spk>/{feats,f0,...}.scp and
            root/logf0_<spk>.npz, then the pair list root/pairs/.
        speakers: ((source spk, ids), (target spk, ids)).
        world_yaml: WORLD settings file.
    """
    corpus = vcc2016_root() / "vcc2016_training"
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
