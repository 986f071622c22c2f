"""Unpaired data for ESPnet's data loader.

ESPnet indexes every data file by one utterance key, so the recipe writes a
pair list (:func:`write_pair_list`): keys ``<n>-<source utt>`` whose src_feats
entry is a source utterance and whose trg_feats entry is a target utterance.
That list only fixes the epoch length and the key set. In training,
:class:`UnpairedSegmentPreprocessor` replaces the listed target by a target
utterance drawn uniformly at random for every step, and crops a random segment
from each side, so source and target are chosen independently, as the paper's
non-parallel training requires. Validation and --collect_stats use the list as
written and whole utterances.
"""

import logging
import os
import random
from pathlib import Path
from typing import Collection, Dict, List, Optional, Tuple

import kaldiio
import numpy as np
import torch

from espnet2_cyclegan_vc.fileio import read_scp, write_scp


def write_pair_list(src_scp, trg_scp, outdir, seed: int = 0) -> int:
    """Write src_feats.scp and trg_feats.scp sharing pseudo-pair keys.

    There are max(#source, #target) pairs; each side is shuffled and cycled,
    so every utterance of the larger side appears once and every utterance of
    the smaller side once or more. Returns the number of pairs.
    """
    src, trg = read_scp(src_scp), read_scp(trg_scp)
    for path, entries in ((src_scp, src), (trg_scp, trg)):
        if not entries:
            raise ValueError(f"{path}: no utterances")
    rng = random.Random(seed)
    rng.shuffle(src)
    rng.shuffle(trg)
    num_pairs = max(len(src), len(trg))
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    keys = [f"{i:06d}-{src[i % len(src)][0]}" for i in range(num_pairs)]
    write_scp(outdir / "src_feats.scp", ((key, src[i % len(src)][1]) for i, key in enumerate(keys)))
    write_scp(outdir / "trg_feats.scp", ((key, trg[i % len(trg)][1]) for i, key in enumerate(keys)))
    return num_pairs


def distributed_rank() -> int:
    """Rank of this process in distributed training (0 when not distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    # DataLoader workers, or a launcher that sets RANK before initialising.
    return int(os.environ.get("RANK", 0))


class UnpairedSegmentPreprocessor:
    """Crop (train) segments and draw the target independently of the source.

    Utterances shorter than the segment are repeated end to end up to its
    length (a warning names each one the first time it is met, with a running
    count), so they are trained on, never a crash.
    """

    def __init__(
        self,
        train: bool,
        segment_frames: int = 128,
        target_pool_scp: Optional[str] = None,
    ):
        if segment_frames < 1:
            raise ValueError(f"--segment_frames must be >= 1, got {segment_frames}")
        self.train = train
        self.segment_frames = segment_frames
        self.target_pool = None
        if train and target_pool_scp is not None:
            # Distinct target utterances (the pair list may repeat some).
            self.target_pool = sorted({value for _, value in read_scp(target_pool_scp)})
        self._rng = None
        self._rng_seed = None
        self._short_seen = set()

    @property
    def rng(self) -> np.random.Generator:
        # torch seeds each DataLoader worker (from --seed) differently; follow
        # it, so runs are reproducible and workers do not repeat each other.
        # Every distributed rank gets the same --seed, so the rank is mixed in
        # too: otherwise all GPUs would draw the same targets and crops.
        seed = (torch.initial_seed(), distributed_rank())
        if self._rng is None or seed != self._rng_seed:
            self._rng = np.random.default_rng(list(seed))
            self._rng_seed = seed
        return self._rng

    def _segment(self, uid: str, name: str, feats: np.ndarray) -> np.ndarray:
        frames = len(feats)
        if frames == 0:
            raise ValueError(f"{uid}: {name} has no frames")
        if frames < self.segment_frames:
            if (uid, name) not in self._short_seen:
                self._short_seen.add((uid, name))
                logging.warning(
                    f"{uid}: {name} has {frames} frames < segment {self.segment_frames}; "
                    f"repeating it to fill the segment "
                    f"({len(self._short_seen)} short utterance(s) so far in this worker)"
                )
            reps = -(-self.segment_frames // frames)
            return np.concatenate([feats] * reps, axis=0)[: self.segment_frames]
        start = int(self.rng.integers(0, frames - self.segment_frames + 1))
        return feats[start : start + self.segment_frames]

    def __call__(self, uid: str, data: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        if not self.train:
            return data
        data = dict(data)
        if self.target_pool is not None and "trg_feats" in data:
            rxfile = self.target_pool[int(self.rng.integers(len(self.target_pool)))]
            data["trg_feats"] = kaldiio.load_mat(rxfile).astype(np.float32)
            trg_uid = rxfile
        else:
            trg_uid = uid
        for name in ("src_feats", "trg_feats"):
            if name in data:
                data[name] = self._segment(uid if name == "src_feats" else trg_uid, name, data[name])
        return data


class FeatsCollateFn:
    """Zero-pad (T, D) features to a (B, T_max, D) batch with <name>_lengths."""

    def __call__(
        self, batch: Collection[Tuple[str, Dict[str, np.ndarray]]]
    ) -> Tuple[List[str], Dict[str, torch.Tensor]]:
        uttids = [u for u, _ in batch]
        names = batch[0][1].keys()
        output = {}
        for name in names:
            arrays = [torch.from_numpy(np.asarray(d[name])) for _, d in batch]
            lengths = torch.tensor([len(a) for a in arrays], dtype=torch.long)
            padded = arrays[0].new_zeros((len(arrays), int(lengths.max())) + arrays[0].shape[1:])
            for i, a in enumerate(arrays):
                padded[i, : len(a)] = a
            output[name] = padded
            output[f"{name}_lengths"] = lengths
        return uttids, output
