"""espnet2_cyclegan_vc.model_io: a packed model or model file from a stranger can only convert.

A genuine packed model is made by ESPnet's own pack() from a tiny model; the
crafted archives (zip and tar.gz) each carry one attack and must be refused
before anything is written.
"""

import io
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO_ROOT, tiny_experiment
from espnet2_cyclegan_vc.bin.vc_inference import VoiceConverter
from espnet2_cyclegan_vc.model_io import UnsafeModelError, load_state_dict, unpack_model
from espnet2_cyclegan_vc.tasks.vc import VCTask


def harmonic_signal(f0=140.0, seconds=0.6, fs=16000):
    t = np.arange(int(seconds * fs)) / fs
    return sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 12))


class CommandOnLoad:
    """Unpickling this object runs a shell command: what a hostile model file carries."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A genuine packed model of a tiny CycleGAN-VC, made by ESPnet's pack()."""
    from espnet2.main_funcs.pack_funcs import pack

    root = tmp_path_factory.mktemp("packed")
    tiny_experiment(root)
    cwd = os.getcwd()
    os.chdir(root)  # pack() names members relative to the working directory, as stage 7 does
    try:
        pack(files={"model_file": "exp/model.pth"}, yaml_files={"train_config": "exp/config.yaml"},
             outpath="packed_model.zip", option=["exp/stats/src_logf0.npz", "exp/stats/trg_logf0.npz"])
    finally:
        os.chdir(cwd)
    return root


def members_of(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_archive(path, members, kind):
    """members: name -> bytes, or name -> ("symlink", target)."""
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                if isinstance(data, tuple):
                    info = zipfile.ZipInfo(name)
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    zf.writestr(info, data[1])
                else:
                    zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                if isinstance(data, tuple):
                    info.type, info.linkname = tarfile.SYMTYPE, data[1]
                    tf.addfile(info)
                else:
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
    return path


def with_meta(members, **files):
    meta = yaml.safe_load(members["meta.yaml"])
    meta["files"].update(files)
    return {**members, "meta.yaml": yaml.safe_dump(meta).encode()}


def test_a_genuine_packed_model_converts_exactly_like_the_unpacked_one(packed, tmp_path, monkeypatch):
    wav = harmonic_signal()
    monkeypatch.chdir(packed)
    unpacked = VoiceConverter("exp/config.yaml", "exp/model.pth")
    from_zip = VoiceConverter.from_packed(packed / "packed_model.zip", tmp_path / "out")
    np.testing.assert_array_equal(from_zip(wav, fs=16000), unpacked(wav, fs=16000))
    # The same archive as tar.gz unpacks the same way.
    tgz = write_archive(tmp_path / "model.tgz", members_of(packed / "packed_model.zip"), "tar")
    from_tgz = VoiceConverter.from_packed(tgz, tmp_path / "out_tgz")
    np.testing.assert_array_equal(from_tgz(wav, fs=16000), unpacked(wav, fs=16000))
    config = yaml.safe_load((tmp_path / "out" / "exp" / "config.yaml").read_text())
    assert config["model_conf"]["src_logf0_stats_file"] == str((tmp_path / "out" / "exp/stats/src_logf0.npz").resolve())


ATTACKS = {
    "traversal": (lambda m: with_meta({**m, "../escaped.pth": m["exp/model.pth"]}, model_file="../escaped.pth"),
                  "'..' component"),
    "absolute": (lambda m: {**m, "/tmp/cyclegan_vc_absolute.pth": b"x"}, "absolute path"),
    "symlink": (lambda m: {**{k: v for k, v in m.items() if k != "exp/model.pth"},
                           "exp/model.pth": ("symlink", "/etc/passwd")}, "not a regular file|symbolic link"),
    "unlisted": (lambda m: {**m, "exp/run_me.sh": b"#!/bin/sh\necho hi\n"}, "neither listed in meta.yaml"),
}


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_crafted_archive_is_refused_before_anything_is_written(packed, tmp_path, kind, attack):
    craft, message = ATTACKS[attack]
    archive = write_archive(tmp_path / f"evil.{kind}", craft(members_of(packed / "packed_model.zip")), kind)
    outdir = tmp_path / "sandbox" / "out"
    with pytest.raises(UnsafeModelError, match=message) as err:
        VoiceConverter.from_packed(archive, outdir)
    assert str(archive) in str(err.value) and "\n" not in str(err.value)
    assert not outdir.exists()
    assert [p.name for p in tmp_path.rglob("*")] == [f"evil.{kind}"]
    assert not Path("/tmp/cyclegan_vc_absolute.pth").exists()


def test_a_pickled_command_in_the_model_file_never_runs(packed, tmp_path, monkeypatch):
    marker = tmp_path / "MARKER"
    state = torch.load(packed / "exp" / "model.pth", weights_only=True)
    state["extra"] = CommandOnLoad(marker)
    evil = tmp_path / "exp" / "model.pth"
    evil.parent.mkdir()
    torch.save(state, evil)
    members = members_of(packed / "packed_model.zip")
    members["exp/model.pth"] = evil.read_bytes()
    archive = write_archive(tmp_path / "evil.zip", members, "zip")

    with pytest.raises(UnsafeModelError, match="model.pth: refused: not a plain state dict"):
        VoiceConverter.from_packed(archive, tmp_path / "out")
    monkeypatch.chdir(packed)
    with pytest.raises(UnsafeModelError, match="refused"):
        VoiceConverter("exp/config.yaml", evil)
    with pytest.raises(UnsafeModelError):
        load_state_dict(evil)
    assert not marker.exists()
    # Control: the payload is live; an unrestricted unpickler does run it.
    subprocess.run([sys.executable, "-c", f"import torch; torch.load({str(evil)!r}, weights_only=False)"],
                   cwd=REPO_ROOT / "test", check=False, capture_output=True)
    assert marker.exists()


def test_a_state_dict_that_does_not_fit_the_config_is_refused(packed, tmp_path, monkeypatch):
    monkeypatch.chdir(packed)
    state = torch.load(packed / "exp" / "model.pth", weights_only=True)
    state["unexpected.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(RuntimeError, match="does not match"):
        VoiceConverter("exp/config.yaml", tmp_path / "extra.pth")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(UnsafeModelError, match="not a mapping of parameter names to tensors"):
        load_state_dict(tmp_path / "list.pth")


def test_meta_yaml_must_be_plain_yaml(packed, tmp_path):
    members = members_of(packed / "packed_model.zip")
    members["meta.yaml"] = b"!!python/object/apply:os.system ['touch nothing']\n"
    archive = write_archive(tmp_path / "evil.zip", members, "zip")
    with pytest.raises(UnsafeModelError, match="'meta.yaml' is refused: not plain YAML"):
        unpack_model(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_model_file_of_the_one_module_layout_loads_into_the_split_model(tmp_path, monkeypatch):
    """Checkpoints saved before the networks moved into model.cyclegan (keys
    generator.*, discriminator.*, num_updates) still build the same model."""
    monkeypatch.chdir(tmp_path)
    exp = tiny_experiment(tmp_path)
    state = torch.load(exp / "model.pth", map_location="cpu")
    old = {key.removeprefix("cyclegan."): value for key, value in state.items()}
    assert "num_updates" in old and any(key.startswith("generator.") for key in old)
    torch.save(old, exp / "old_layout.pth")
    model, _ = VCTask.build_model_from_file(exp / "config.yaml", exp / "old_layout.pth")
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[key], value) for key, value in state.items())


def test_an_archive_that_names_no_model_is_not_a_converter(tmp_path):
    import zipfile

    from espnet2_cyclegan_vc.model_io import unpack_converter

    archive = tmp_path / "other_task.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("meta.yaml", "files: {}\nyaml_files: {}\n")
    with pytest.raises(UnsafeModelError, match="meta.yaml names no train_config: not a packed model of this task"):
        unpack_converter(archive, tmp_path / "out")
