"""Packing with a model card and model_info.yaml (bin/pack_model), and the Hub's staging and offline
paths (espnet2_cyclegan_vc.hub) with the real huggingface_hub, up to the network."""

import os
import zipfile

import pytest
import yaml

from conftest import tiny_packed_model
from espnet2_cyclegan_vc.bin.hf_upload import hf_upload
from espnet2_cyclegan_vc.bin.pack_model import pack_model
from espnet2_cyclegan_vc.hub import HubError, download_pack, is_repo_id, stage_upload, upload
from espnet2_cyclegan_vc.model_card import ModelInfo, speakers_from_config
from espnet2_cyclegan_vc.model_io import unpack_model

RESULTS = "| direction | MCD |\n|---|---|\n| ALICE->BOB | 7.1 / 8.0 (0.9) |\n"


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A tiny experiment packed from its folder, as stage 7 does: (root, zip)."""
    root = tmp_path_factory.mktemp("pack")
    (root / "results.md").write_text("# scores\n" + RESULTS)
    archive = tiny_packed_model(root, corpus="Tiny corpus", corpus_license="CC0", recipe="egs2/tiny/vc1",
                                results=str(root / "results.md"), hf_repo="someone/alice-bob")
    return root, archive


def test_the_pack_carries_its_card_and_speakers(packed, tmp_path):
    root, archive = packed
    with zipfile.ZipFile(archive) as z:
        meta = yaml.safe_load(z.read("meta.yaml"))
    assert meta["files"] == {"model_file": "exp/model.pth", "model_card": "exp/README.md"}
    assert meta["yaml_files"] == {"train_config": "exp/config.yaml", "model_info": "exp/model_info.yaml"}
    files = unpack_model(archive, tmp_path / "unpacked")  # the safe loader accepts it as it is
    info = ModelInfo.read(files["model_info"])
    assert (info.srcspk, info.trgspk, info.fs, info.corpus_license) == ("ALICE", "BOB", 16000, "CC0")
    assert info.num_updates == 0  # the tiny model was never trained
    card = open(files["model_card"], encoding="utf-8").read()
    assert card.startswith("---\nlibrary_name: espnet\n")
    for words in ("| `src_to_trg` | ALICE | BOB |", "| `trg_to_src` | BOB | ALICE |",
                  "cyclegan-vc-convert --model someone/alice-bob --to BOB", "Corpus: Tiny corpus; licence: CC0",
                  "Updates: 0 generator updates", "| ALICE->BOB | 7.1 / 8.0 (0.9) |", "### scores"):
        assert words in card, words


def test_an_unscored_model_says_so(packed, tmp_path):
    root, _ = packed
    cwd = os.getcwd()
    os.chdir(root)
    try:
        pack_model("exp", "exp/model.pth", ["exp/stats/src_logf0.npz", "exp/stats/trg_logf0.npz"], "A", "B")
    finally:
        os.chdir(cwd)
    card = (root / "exp" / "README.md").read_text()
    assert "Not scored (stage 6 had not run" in card and "licence: not stated" in card


def test_speakers_fall_back_to_the_recipe_s_statistics_layout():
    conf = {"model_conf": {"src_logf0_stats_file": "exp/stats_SF1_TM3/SF1/logf0_stats.npz",
                           "trg_logf0_stats_file": "exp/stats_SF1_TM3/TM3/logf0_stats.npz"}}
    assert speakers_from_config(conf) == ("SF1", "TM3")
    assert speakers_from_config({"model_conf": {}}) == ("source", "target")


def test_repo_ids_and_paths_are_told_apart():
    assert is_repo_id("espnet/cyclegan-vc_sf1_tm3") and is_repo_id("me/model.v2")
    for not_an_id in ("model.zip", "exp/vc/x/y", "/abs/path", "../x", "a/..", "owner/"):
        assert not is_repo_id(not_an_id), not_an_id


@pytest.fixture
def empty_hub_cache(tmp_path, monkeypatch):
    """An empty huggingface_hub cache, offline; constants are read at import, so they are patched too."""
    from huggingface_hub import constants

    cache = tmp_path / "hf_cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def test_an_uncached_repo_offline_gives_the_not_cached_message(empty_hub_cache):
    with pytest.raises(HubError, match=r"someone/alice-bob: the model is not cached .* and HF_HUB_OFFLINE is set"):
        download_pack("someone/alice-bob")


def test_a_cached_repo_is_used_offline(empty_hub_cache, packed):
    """The cache as huggingface_hub lays it out after a download (refs/main -> snapshots/<commit>/)."""
    _, archive = packed
    repo = empty_hub_cache / "models--someone--alice-bob"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "packed_model.zip").write_bytes(archive.read_bytes())
    path = download_pack("someone/alice-bob")
    assert path == str(repo / "snapshots" / commit / "packed_model.zip")


def test_upload_without_a_token_stops_and_keeps_the_staged_folder(packed, tmp_path, monkeypatch):
    from huggingface_hub import constants

    root, archive = packed
    monkeypatch.setenv("HF_TOKEN", "")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no_token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no_tokens"))
    folder = tmp_path / "hf_upload"
    (folder).mkdir()
    (folder / "stale.bin").write_bytes(b"from an earlier staging")
    with pytest.raises(HubError, match=r"no Hugging Face token .* staged folder .*hf_upload is kept: push it later"):
        hf_upload(str(archive), str(root / "exp" / "README.md"), str(folder), "someone/alice-bob")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "packed_model.zip"]
    assert (folder / "packed_model.zip").read_bytes() == archive.read_bytes()
    assert (folder / "README.md").read_text() == (root / "exp" / "README.md").read_text()


def test_upload_offline_with_a_token_stops_and_keeps_the_staged_folder(packed, tmp_path, monkeypatch):
    from huggingface_hub import constants

    root, archive = packed
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    folder = stage_upload(archive, root / "exp" / "README.md", tmp_path / "up")
    with pytest.raises(HubError, match=r"could not push to someone/alice-bob \(.*\); the staged folder .* is kept"):
        upload(folder, "someone/alice-bob", token="hf_not_a_real_token")
    assert (folder / "packed_model.zip").read_bytes() == archive.read_bytes()
