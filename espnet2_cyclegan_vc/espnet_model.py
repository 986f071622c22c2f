"""CycleGAN-VC in ESPnet: feature normalisation, log-F0 statistics and
conversion around the CycleGAN family's networks, losses and step."""

from typing import Any, Dict, Optional

import torch
from typeguard import typechecked

from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_gan_espnet_model import AbsGANESPnetModel

from espnet2_cyclegan_vc.cyclegan.cyclegan import CycleGAN
from espnet2_cyclegan_vc.directions import direction_sides
from espnet2_cyclegan_vc.f0 import LogF0Stats
from espnet2_cyclegan_vc.train.progress import TrainingProgress


class ESPnetCycleGANVCModel(AbsGANESPnetModel):
    """A voice converter between a source speaker (X) and a target speaker (Y), trained as a GAN.

    ESPnet's GANTrainer calls ``forward`` with ``forward_generator`` True
    (optim_idx 0: the generators' update) and False (optim_idx 1: the
    discriminators'); the losses and the step are the wrapped
    :class:`~espnet2_cyclegan_vc.cyclegan.cyclegan.CycleGAN`'s. Features are
    normalised per speaker inside the model, so checkpoints carry their
    statistics, and so do the log-F0 statistics the converter needs.
    """

    @typechecked
    def __init__(
        self,
        cyclegan: CycleGAN,
        src_normalize: Optional[AbsNormalize] = None,
        trg_normalize: Optional[AbsNormalize] = None,
        src_logf0_stats_file: Optional[str] = None,
        trg_logf0_stats_file: Optional[str] = None,
    ):
        """Initialize ESPnetCycleGANVCModel.

        Args:
            cyclegan: The networks, losses and training step.
            src_normalize: Source-speaker feature normalisation (global_mvn).
            trg_normalize: Target-speaker feature normalisation.
            src_logf0_stats_file: Source log-F0 stats npz, kept for conversion.
            trg_logf0_stats_file: Target log-F0 stats npz, kept for conversion.
        """
        super().__init__()
        self.cyclegan = cyclegan
        self.src_normalize = src_normalize
        self.trg_normalize = trg_normalize
        # (mean, std) of natural-log F0; zeros mean "not given".
        for side, path in (("src", src_logf0_stats_file), ("trg", trg_logf0_stats_file)):
            stats = torch.zeros(2, dtype=torch.float64)
            if path is not None:
                s = LogF0Stats.load(path)
                stats = torch.tensor([s.mean, s.std], dtype=torch.float64)
            self.register_buffer(f"{side}_logf0_stats", stats)
        # Set by the task for a training run: its log then shows the time left.
        self.progress: Optional[TrainingProgress] = None

    @property
    def num_updates(self) -> torch.Tensor:
        """Generator updates done (a buffer of the checkpoint)."""
        return self.cyclegan.num_updates

    # ------------------------------------------------------------------ helpers
    def normalize(self, side: str, feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, D) raw MCEPs -> (B, D, T) normalised."""
        norm = self.src_normalize if side == "src" else self.trg_normalize
        if norm is not None:
            # GlobalMVN works in place on tensors without grad; the batch is
            # reused by the other turn, so give it a copy.
            feats, _ = norm(feats.clone(), lengths)
        return feats.transpose(1, 2)

    def denormalize(self, side: str, feats: torch.Tensor) -> torch.Tensor:
        """(B, D, T) normalised -> (B, T, D) raw MCEPs."""
        feats = feats.transpose(1, 2)
        norm = self.trg_normalize if side == "trg" else self.src_normalize
        if norm is not None:
            feats, _ = norm.inverse(feats.clone())
        return feats

    def logf0_stats(self, side: str) -> Optional[LogF0Stats]:
        mean, std = getattr(self, f"{side}_logf0_stats").tolist()
        return None if std <= 0 else LogF0Stats(mean=mean, std=std)

    @torch.no_grad()
    def convert(self, feats: torch.Tensor, direction: str = "src_to_trg") -> torch.Tensor:
        """Convert raw MCEPs of one speaker into the other's.

        Args:
            feats: (T, D) or (B, T, D) raw MCEPs of the input speaker.
            direction: "src_to_trg" or "trg_to_src".

        Returns:
            Tensor: converted raw MCEPs with the input's shape.
        """
        in_side, out_side = direction_sides(direction)
        squeeze = feats.dim() == 2
        if squeeze:
            feats = feats.unsqueeze(0)
        lengths = feats.new_full((feats.size(0),), feats.size(1), dtype=torch.long)
        x = self.normalize(in_side, feats, lengths)
        y = self.denormalize(out_side, self.cyclegan.generate(x, direction))
        return y[0] if squeeze else y

    # ---------------------------------------------------------------- training
    def forward(
        self,
        src_feats: Optional[torch.Tensor] = None,
        src_feats_lengths: Optional[torch.Tensor] = None,
        trg_feats: Optional[torch.Tensor] = None,
        trg_feats_lengths: Optional[torch.Tensor] = None,
        forward_generator: bool = True,
        **kwargs,
    ) -> Dict[str, Any]:
        """Return the generator or the discriminator loss.

        Args:
            src_feats: (B, T_x, D) source-speaker MCEP segments.
            src_feats_lengths: (B,) lengths.
            trg_feats: (B, T_y, D) target-speaker MCEP segments.
            trg_feats_lengths: (B,) lengths.
            forward_generator: Generator turn if True, else discriminator turn.

        Returns:
            Dict[str, Any]: loss, stats, weight and optim_idx (0 = G, 1 = D).
        """
        if src_feats is None or trg_feats is None:
            raise ValueError(
                "Training needs both src_feats and trg_feats data "
                "(--train_data_path_and_name_and_type ...,src_feats,kaldi_ark and "
                "...,trg_feats,kaldi_ark)"
            )
        x = self.normalize("src", src_feats, src_feats_lengths)
        y = self.normalize("trg", trg_feats, trg_feats_lengths)
        # The discriminator turn of the same batch (the same tensors) reuses
        # the generator turn's outputs.
        loss, stats = self.cyclegan(x, y, forward_generator, batch_key=(src_feats, trg_feats))
        if forward_generator and self.training and self.progress is not None:
            self.progress.update(int(self.num_updates))
        loss, stats, weight = force_gatherable((loss, stats, x.size(0)), loss.device)
        return dict(loss=loss, stats=stats, weight=weight, optim_idx=0 if forward_generator else 1)

    def collect_feats(
        self,
        src_feats: Optional[torch.Tensor] = None,
        src_feats_lengths: Optional[torch.Tensor] = None,
        trg_feats: Optional[torch.Tensor] = None,
        trg_feats_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Raw features for ESPnet's --collect_stats (one speaker at a time is fine)."""
        feats = {}
        if src_feats is not None:
            feats.update(src_feats=src_feats, src_feats_lengths=src_feats_lengths)
        if trg_feats is not None:
            feats.update(trg_feats=trg_feats, trg_feats_lengths=trg_feats_lengths)
        return feats
