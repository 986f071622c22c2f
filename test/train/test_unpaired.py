"""The unpaired segment preprocessor: short utterances, and distributed ranks that draw their own
targets and crops (two real gloo processes)."""

import os

import kaldiio
import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from espnet2_cyclegan_vc.train.unpaired import UnpairedSegmentPreprocessor

NUM_DRAWS = 20


def _write_pool(root):
    """Ten target utterances whose frames hold (utterance, frame) ids."""
    rng = np.random.default_rng(0)
    scp = os.path.join(root, "trg.scp")
    with kaldiio.WriteHelper(f"ark,scp:{root}/trg.ark,{scp}") as writer:
        for i in range(10):
            frames = int(rng.integers(300, 400))
            writer[f"utt{i}"] = np.stack([np.full(frames, i), np.arange(frames)], 1).astype(np.float32)
    return scp


def _draw(rank, world_size, root, port, with_dist):
    if with_dist:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(0)  # what ESPnet does on every rank with the same --seed
    pre = UnpairedSegmentPreprocessor(train=True, segment_frames=16, target_pool_scp=os.path.join(root, "trg.scp"))
    src = np.stack([np.zeros(200), np.arange(200)], 1).astype(np.float32)
    draws = []
    for _ in range(NUM_DRAWS):
        out = pre("key", {"src_feats": src, "trg_feats": src})
        draws.append((int(out["trg_feats"][0, 0]), int(out["trg_feats"][0, 1]), int(out["src_feats"][0, 1])))
    np.save(os.path.join(root, f"draws_{rank}_{int(with_dist)}.npy"), np.array(draws))
    if with_dist:
        dist.destroy_process_group()


def test_ranks_draw_different_segments_and_runs_repeat(tmp_path):
    root = str(tmp_path)
    _write_pool(root)
    port = 29000 + os.getpid() % 1000
    mp.spawn(_draw, args=(2, root, port, True), nprocs=2, join=True)
    rank0 = np.load(tmp_path / "draws_0_1.npy")
    rank1 = np.load(tmp_path / "draws_1_1.npy")
    # (target utterance, target offset, source offset) per step
    assert not np.array_equal(rank0, rank1)
    assert (rank0 != rank1).any(axis=1).mean() > 0.9
    # Reproducible: the same rank with the same seed draws the same again.
    mp.spawn(_draw, args=(2, root, port + 1, True), nprocs=2, join=True)
    assert np.array_equal(rank0, np.load(tmp_path / "draws_0_1.npy"))
    # Not distributed: rank 0's stream.
    _draw(0, 1, root, port, False)
    assert np.array_equal(rank0, np.load(tmp_path / "draws_0_0.npy"))


def test_short_utterances_are_repeated_to_the_segment_with_a_warning(caplog):
    pre = UnpairedSegmentPreprocessor(train=True, segment_frames=128)
    short = np.arange(50 * 24, dtype=np.float32).reshape(50, 24)
    out = pre("000001-SF1_1", {"src_feats": short, "trg_feats": np.ones((300, 24), np.float32)})
    assert out["src_feats"].shape == (128, 24) and out["trg_feats"].shape == (128, 24)
    np.testing.assert_array_equal(out["src_feats"][50:100], short)
    assert "50 frames < segment 128" in caplog.text and "1 short utterance" in caplog.text
    # Validation and collect-stats keep whole utterances.
    pre_valid = UnpairedSegmentPreprocessor(train=False, segment_frames=128)
    assert pre_valid("k", {"src_feats": short})["src_feats"].shape == (50, 24)


def test_targets_and_crops_vary_from_draw_to_draw(tmp_path):
    _write_pool(str(tmp_path))
    torch.manual_seed(0)
    pre = UnpairedSegmentPreprocessor(train=True, segment_frames=16, target_pool_scp=str(tmp_path / "trg.scp"))
    src = np.stack([np.full(200, -1.0), np.arange(200)], 1).astype(np.float32)
    targets, target_starts, source_starts = set(), set(), set()
    for _ in range(60):
        out = pre("key", {"src_feats": src, "trg_feats": src})
        # The target comes from the pool, never the listed (source-like) entry.
        assert out["trg_feats"][0, 0] >= 0
        # A segment is a contiguous run of frames.
        np.testing.assert_array_equal(np.diff(out["src_feats"][:, 1]), np.ones(15))
        targets.add(int(out["trg_feats"][0, 0]))
        target_starts.add(int(out["trg_feats"][0, 1]))
        source_starts.add(int(out["src_feats"][0, 1]))
    assert len(targets) >= 8  # of 10, drawn uniformly
    assert len(target_starts) > 30 and len(source_starts) > 30
    assert min(source_starts) >= 0 and max(source_starts) <= 200 - 16


def test_the_task_draws_targets_from_the_target_speaker_s_features(tmp_path):
    from espnet2_cyclegan_vc.tasks.vc import VCTask

    trg_scp = _write_pool(str(tmp_path))
    src_scp = tmp_path / "src.scp"
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/src.ark,{src_scp}") as writer:
        for i in range(3):
            writer[f"src{i}"] = np.stack([np.full(300, -1.0 - i), np.arange(300)], 1).astype(np.float32)
    args = VCTask.get_parser().parse_args([
        "--output_dir", str(tmp_path / "exp"),
        "--train_data_path_and_name_and_type", f"{src_scp},src_feats,kaldi_ark",
        "--train_data_path_and_name_and_type", f"{trg_scp},trg_feats,kaldi_ark",
    ])
    pre = VCTask.build_preprocess_fn(args, train=True)
    src = kaldiio.load_scp(str(src_scp))["src0"]
    torch.manual_seed(0)
    drawn = {int(pre("k", {"src_feats": src, "trg_feats": src})["trg_feats"][0, 0]) for _ in range(30)}
    assert drawn <= set(range(10)) and len(drawn) >= 5  # target utterances 0..9, never a source one
