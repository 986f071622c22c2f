"""prepare_pair: the recipe's stages 2-3 chain (features, log-F0 statistics, pair list) in one call."""

import kaldiio
import numpy as np
import pytest
from conftest import needs_vcc2016, run, vcc2016_root

from espnet2_cyclegan_vc.bin.prepare_pair import main, prepare_pair
from espnet2_cyclegan_vc.world import WorldConfig

SPEAKERS = (("SF1", (100001, 100002)), ("TM3", (100082, 100083, 100084)))


def write_scps(root):
    corpus = vcc2016_root() / "vcc2016_training"
    scps = []
    for spk, ids in SPEAKERS:
        scp = root / f"{spk}.scp"
        scp.write_text("".join(f"{spk}_{i} {corpus / spk / f'{i}.wav'}\n" for i in ids))
        scps.append((spk, scp))
    return scps


@needs_vcc2016
def test_prepare_pair_is_the_three_entry_points(tmp_path):
    """The same files as extract_world_feats, compute_logf0_stats and
    make_pair_list run one after another (what vc.sh stages 2-3 run)."""
    world = tmp_path / "world.yaml"
    world.write_text("f0_method: dio\n")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir(), theirs.mkdir()
    scps = write_scps(tmp_path)
    paths = prepare_pair(ours, *scps, world_conf=world, seed=3, logf0_stats_name="stats/logf0_{spk}.npz")
    for spk, scp in scps:
        run("extract_world_feats", "--wav_scp", scp, "--outdir", theirs / spk, "--world_conf", world, cwd=tmp_path)
        run("compute_logf0_stats", "--f0_scp", theirs / spk / "f0.scp", "--output", theirs / f"{spk}.npz",
            cwd=tmp_path)
    run("make_pair_list", "--src_scp", theirs / "SF1/feats.scp", "--trg_scp", theirs / "TM3/feats.scp",
        "--outdir", theirs / "pairs", "--seed", 3, cwd=tmp_path)

    assert paths == {"SF1": ours / "SF1", "logf0_SF1": ours / "stats/logf0_SF1.npz", "TM3": ours / "TM3",
                     "logf0_TM3": ours / "stats/logf0_TM3.npz", "pairs": ours / "pairs"}
    for spk, _ in scps:
        assert (ours / spk / "utt2num_frames").read_text() == (theirs / spk / "utt2num_frames").read_text()
        for name in ("feats", "f0"):
            a = dict(kaldiio.load_scp_sequential(str(ours / spk / f"{name}.scp")))
            b = dict(kaldiio.load_scp_sequential(str(theirs / spk / f"{name}.scp")))
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        with np.load(paths[f"logf0_{spk}"]) as x, np.load(theirs / f"{spk}.npz") as y:
            assert set(x.files) == set(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)
    for side in ("src", "trg"):
        ours_pairs = (ours / "pairs" / f"{side}_feats.scp").read_text().replace(str(ours), "")
        assert ours_pairs == (theirs / "pairs" / f"{side}_feats.scp").read_text().replace(str(theirs), "")
    assert len((ours / "pairs/src_feats.scp").read_text().splitlines()) == 3  # max(2, 3) pseudo-pairs


@needs_vcc2016
def test_command_line_and_world_settings(tmp_path):
    scps = write_scps(tmp_path)
    main(["--src", "SF1", str(scps[0][1]), "--trg", "TM3", str(scps[1][1]), "--outdir", str(tmp_path / "out"),
          "--world_conf", '{"f0_method": "dio"}'])
    for spk in ("SF1", "TM3"):
        assert (tmp_path / "out" / spk / "logf0_stats.npz").is_file()
    assert (tmp_path / "out/pairs/trg_feats.scp").is_file()
    # a WorldConfig and a mapping are taken as they are
    for conf in (WorldConfig(f0_method="dio"), {"f0_method": "dio"}):
        prepare_pair(tmp_path / "again", *scps, world_conf=conf)


def test_refuses_one_speaker_twice_and_a_stats_name_without_the_speaker(tmp_path):
    with pytest.raises(ValueError, match="must differ"):
        prepare_pair(tmp_path, ("SF1", "a.scp"), ("SF1", "b.scp"))
    with pytest.raises(ValueError, match="spk"):
        prepare_pair(tmp_path, ("SF1", "a.scp"), ("TM3", "b.scp"), logf0_stats_name="stats.npz")
