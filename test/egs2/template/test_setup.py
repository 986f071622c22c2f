"""Tests of egs2/TEMPLATE/vc1/setup.sh, of the files every recipe shares with the template,
and of the layout of every recipe's training configurations."""

import os
import shutil
import subprocess

import pytest

from helpers.template import TEMPLATE

SHARED_FILES = ("cmd.sh", "path.sh", "conf/slurm.conf")


def test_setup_makes_a_recipe_from_the_template(tmp_path):
    egs2 = tmp_path / "repo/egs2"
    shutil.copytree(TEMPLATE, egs2 / "TEMPLATE/vc1", symlinks=True)
    shutil.copytree(TEMPLATE.parents[1] / "vcc2016/vc1/conf", egs2 / "vcc2016/vc1/conf")
    res = subprocess.run(["bash", "TEMPLATE/vc1/setup.sh", "newcorpus/vc1"], cwd=egs2,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    recipe = egs2 / "newcorpus/vc1"
    for name in SHARED_FILES:
        assert (recipe / name).read_bytes() == (TEMPLATE / name).read_bytes(), name
    assert os.readlink(recipe / "vc.sh") == "../../TEMPLATE/vc1/vc.sh"
    example = TEMPLATE.parents[1] / "vcc2016/vc1/conf"
    for name in ("world.yaml", "decode.yaml"):
        copied = recipe / "conf" / name
        assert not copied.is_symlink() and copied.read_bytes() == (example / name).read_bytes(), name
    for name in ("train_cyclegan_vc.yaml", "train_cyclegan_vc_cpu.yaml"):  # the file in tuning/, a link in conf/
        copied = recipe / "conf/tuning" / name
        assert not copied.is_symlink() and copied.read_bytes() == (example / "tuning" / name).read_bytes(), name
        assert os.readlink(recipe / "conf" / name) == f"tuning/{name}"
    assert (recipe / "utils/slurm_job.sh").is_file()  # through the utils link
    assert os.access(recipe / "run.sh", os.X_OK) and os.access(recipe / "local/data.sh", os.X_OK)
    res = subprocess.run(["bash", "TEMPLATE/vc1/setup.sh", "newcorpus/vc1"], cwd=egs2,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "already exists" in res.stderr


@pytest.mark.parametrize("recipe", ["mini_vc", "vcc2016"])
def test_recipes_share_the_templates_cmd_path_and_slurm_conf(recipe):
    for name in SHARED_FILES:
        ours = TEMPLATE.parents[1] / recipe / "vc1" / name
        assert ours.read_bytes() == (TEMPLATE / name).read_bytes(), f"{ours} differs from the template's"


@pytest.mark.parametrize("recipe", ["mini_vc", "vcc2016"])
def test_recipe_training_configs_are_in_tuning_and_linked_from_conf(recipe):
    """The rule of TEMPLATE/vc1/README.md: every training configuration is a file
    in conf/tuning/; conf/ holds only relative links to some of them."""
    conf = TEMPLATE.parents[1] / recipe / "vc1" / "conf"
    tuning = sorted((conf / "tuning").glob("train_*.yaml"))
    assert tuning and not any(p.is_symlink() for p in tuning)
    linked = sorted(conf.glob("train_*.yaml"))
    assert linked
    for link in linked:
        assert link.is_symlink(), f"{link} is a file: move it to conf/tuning/ and link it"
        assert os.readlink(link) == f"tuning/{link.name}", link
        assert link.resolve() in {p.resolve() for p in tuning}, link
