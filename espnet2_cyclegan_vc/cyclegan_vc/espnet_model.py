"""CycleGAN-VC as an ESPnet GAN model: two generators, two discriminators."""

from typing import Any, Callable, Dict, Optional

import torch
from typeguard import typechecked

from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_gan_espnet_model import AbsGANESPnetModel

from espnet2_cyclegan_vc.cyclegan_vc.loss import (
    DiscriminatorAdversarialLoss,
    GeneratorAdversarialLoss,
    IdentityLossSchedule,
    l1_loss,
)
from espnet2_cyclegan_vc.f0 import LogF0Stats

DIRECTIONS = ("src_to_trg", "trg_to_src")
AUTOCAST_DTYPES = ("bfloat16", "float16")


def with_autocast(net: Callable[..., torch.Tensor], dtype: Optional[torch.dtype]) -> Callable[..., torch.Tensor]:
    """Wrap a network so it runs under torch.autocast on its input's device.

    Args:
        net: Generator or discriminator (or its compiled form).
        dtype: Autocast dtype (torch.bfloat16 or torch.float16); None returns
            net itself.

    Returns:
        Callable: net under autocast, its output cast to float32 so that the
        losses are computed in float32.
    """
    if dtype is None:
        return net

    def run(x: torch.Tensor, *args) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=dtype):
            y = net(x, *args)
        return y.float()

    return run


class ESPnetCycleGANVCModel(AbsGANESPnetModel):
    """CycleGAN-VC (and its successors) between a source speaker (X) and a target speaker (Y).

    The generator turn (optim_idx 0) updates G_X->Y and G_Y->X with
    adversarial + lambda_cycle * cycle + lambda_identity * identity losses; the
    discriminator turn (optim_idx 1) updates D_X and D_Y. Features are
    normalised per speaker inside the model, so checkpoints carry their
    statistics, and so do the log-F0 statistics the converter needs.

    The number of generator updates is a buffer (``num_updates``): it is saved
    in every checkpoint, restored by ``--resume``, and drives the identity-loss
    schedule.

    Two speed-ups are options of the model, off by default: autocast of the
    generator and discriminator passes (``autocast_dtype``) and torch.compile
    of the four networks (``compile_networks``). ESPnet's own ``--use_amp``
    is not used for this: in GANTrainer it is CUDA-only float16 autocast with
    a GradScaler around the whole forward, losses included, with no choice of
    bfloat16; a model option also runs on CPU and keeps the losses in float32.

    The successors are options of the same training step, with their networks
    chosen by name in the task:
      - CycleGAN-VC2's two-step adversarial loss (``two_step_adversarial``):
        two more discriminators, D2_X and D2_Y, judge the cycled features
        G_Y->X(G_X->Y(x)) and G_X->Y(G_Y->X(y)) against the real ones, in
        both turns;
      - MaskCycleGAN-VC's filling in frames (``fif_max_frames``): in training,
        the input of each forward conversion (x into G_X->Y, y into G_Y->X) has
        a random run of up to that many frames masked out, and the generator
        reads the mask as a second input plane; the cycled and identity passes
        and every discriminator input are unmasked, and so is validation and
        conversion (an all-ones mask).
    """

    @typechecked
    def __init__(
        self,
        generator_src_to_trg: torch.nn.Module,
        generator_trg_to_src: torch.nn.Module,
        discriminator_src: torch.nn.Module,
        discriminator_trg: torch.nn.Module,
        src_normalize: Optional[AbsNormalize] = None,
        trg_normalize: Optional[AbsNormalize] = None,
        discriminator_src_cycle: Optional[torch.nn.Module] = None,
        discriminator_trg_cycle: Optional[torch.nn.Module] = None,
        adversarial_loss_type: str = "bce",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 5.0,
        identity_loss_updates: int = 10000,
        src_logf0_stats_file: Optional[str] = None,
        trg_logf0_stats_file: Optional[str] = None,
        autocast_dtype: Optional[str] = None,
        compile_networks: bool = False,
        two_step_adversarial: bool = False,
        fif_max_frames: int = 0,
    ):
        """Initialize ESPnetCycleGANVCModel.

        Args:
            generator_src_to_trg: Generator G_X->Y.
            generator_trg_to_src: Generator G_Y->X.
            discriminator_src: Discriminator D_X (real source vs converted).
            discriminator_trg: Discriminator D_Y (real target vs converted).
            src_normalize: Source-speaker feature normalisation (global_mvn).
            trg_normalize: Target-speaker feature normalisation.
            discriminator_src_cycle: D2_X of the two-step adversarial loss
                (real source vs cycled source); only with two_step_adversarial.
            discriminator_trg_cycle: D2_Y (real target vs cycled target).
            adversarial_loss_type: "bce" (the paper's) or "mse" (least squares).
            lambda_cycle: Weight of the cycle-consistency L1 loss.
            lambda_identity: Weight of the identity-mapping L1 loss.
            identity_loss_updates: Generator updates during which the identity
                loss is used (0 disables it).
            src_logf0_stats_file: Source log-F0 stats npz, kept for conversion.
            trg_logf0_stats_file: Target log-F0 stats npz, kept for conversion.
            autocast_dtype: "bfloat16" or "float16" to run the generator and
                discriminator passes of training and validation under
                torch.autocast on the input's device (float16 has no loss
                scaling here: prefer bfloat16); the losses are computed in
                float32. None (default): float32 throughout.
            compile_networks: torch.compile the four networks on their first
                training pass. Validation and conversion run them uncompiled
                (their lengths vary, which would recompile).
            two_step_adversarial: CycleGAN-VC2's second adversarial loss on
                the cycled features (needs both *_cycle discriminators).
            fif_max_frames: MaskCycleGAN-VC's filling in frames: the longest
                run of frames masked out of a training input (the length is
                drawn uniformly from 0..fif_max_frames per segment); 0 is off.
                Needs generators that read a mask (generator_conf:
                mask_channel: true).
        """
        super().__init__()
        if autocast_dtype is not None and autocast_dtype not in AUTOCAST_DTYPES:
            raise ValueError(
                f"autocast_dtype must be None or one of {AUTOCAST_DTYPES}, got {autocast_dtype!r}"
            )
        given = [d is not None for d in (discriminator_src_cycle, discriminator_trg_cycle)]
        if given != [two_step_adversarial] * 2:
            raise ValueError(
                "model_conf two_step_adversarial=true needs discriminator_src_cycle and "
                "discriminator_trg_cycle, and they are only used with it"
            )
        if fif_max_frames < 0:
            raise ValueError(f"model_conf fif_max_frames must be >= 0, got {fif_max_frames}")
        if fif_max_frames > 0:
            for name, g in (("src_to_trg", generator_src_to_trg), ("trg_to_src", generator_trg_to_src)):
                if not getattr(g, "accepts_mask", False):
                    raise ValueError(
                        f"model_conf fif_max_frames={fif_max_frames} needs generators that read a mask, "
                        f"but the {name} generator ({type(g).__name__}) does not "
                        "(use generator: cyclegan_vc2 with generator_conf mask_channel: true)"
                    )
        self.generator = torch.nn.ModuleDict(
            {"src_to_trg": generator_src_to_trg, "trg_to_src": generator_trg_to_src}
        )
        discriminators = {"src": discriminator_src, "trg": discriminator_trg}
        if two_step_adversarial:
            discriminators.update(src_cycle=discriminator_src_cycle, trg_cycle=discriminator_trg_cycle)
        self.discriminator = torch.nn.ModuleDict(discriminators)
        self.two_step_adversarial = two_step_adversarial
        self.fif_max_frames = fif_max_frames
        self.src_normalize = src_normalize
        self.trg_normalize = trg_normalize
        self.generator_adv_loss = GeneratorAdversarialLoss(adversarial_loss_type)
        self.discriminator_adv_loss = DiscriminatorAdversarialLoss(adversarial_loss_type)
        self.lambda_cycle = lambda_cycle
        self.identity_weight = IdentityLossSchedule(lambda_identity, identity_loss_updates)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))
        # (mean, std) of natural-log F0; zeros mean "not given".
        for side, path in (("src", src_logf0_stats_file), ("trg", trg_logf0_stats_file)):
            stats = torch.zeros(2, dtype=torch.float64)
            if path is not None:
                s = LogF0Stats.load(path)
                stats = torch.tensor([s.mean, s.std], dtype=torch.float64)
            self.register_buffer(f"{side}_logf0_stats", stats)
        self.autocast_dtype = None if autocast_dtype is None else getattr(torch, autocast_dtype)
        self.compile_networks = compile_networks
        # A plain dict, not submodules: the state dict keeps its keys.
        self._compiled: Dict[str, Callable] = {}
        self._cache = None

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
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        squeeze = feats.dim() == 2
        if squeeze:
            feats = feats.unsqueeze(0)
        in_side, out_side = ("src", "trg") if direction == "src_to_trg" else ("trg", "src")
        lengths = feats.new_full((feats.size(0),), feats.size(1), dtype=torch.long)
        x = self.normalize(in_side, feats, lengths)
        y = self.denormalize(out_side, self.generator[direction](x))
        return y[0] if squeeze else y

    def _net(self, kind: str, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """A generator or discriminator as training calls it: compiled and
        under autocast when the options ask for it, output in float32."""
        net = getattr(self, kind)[name]
        if self.compile_networks and self.training:
            key = f"{kind}.{name}"
            if key not in self._compiled:
                self._compiled[key] = torch.compile(net)
            net = self._compiled[key]
        return with_autocast(net, self.autocast_dtype)

    def fif_mask(self, feats: torch.Tensor) -> Optional[torch.Tensor]:
        """Filling-in-frames mask of a training batch, or None (option off,
        or not training).

        Args:
            feats: (B, D, T) normalised features the mask is for.

        Returns:
            Tensor: (B, T) float mask, 0 on one random run of 0..fif_max_frames
                frames per segment (cut at the segment's end), 1 elsewhere.
        """
        if self.fif_max_frames == 0 or not self.training:
            return None
        batch, _, frames = feats.shape
        device = feats.device
        lengths = torch.randint(0, self.fif_max_frames + 1, (batch, 1), device=device).clamp(max=frames)
        starts = (torch.rand(batch, 1, device=device) * (frames - lengths + 1)).long()
        steps = torch.arange(frames, device=device).unsqueeze(0)
        masked = (steps >= starts) & (steps < starts + lengths)
        return (~masked).to(feats.dtype)

    def _check_finite(self, loss: torch.Tensor, turn: str) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"The {turn} loss is {loss.item()} at generator update "
                f"{int(self.num_updates)}: training diverged. Resume from an earlier "
                "checkpoint with a lower learning rate, or check the features and "
                "statistics for NaN/inf."
            )

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
        batch_key = (src_feats, trg_feats)
        x = self.normalize("src", src_feats, src_feats_lengths)
        y = self.normalize("trg", trg_feats, trg_feats_lengths)
        if forward_generator:
            return self._forward_generator(x, y, batch_key)
        return self._forward_discriminator(x, y, batch_key)

    def _convert_pair(self, x, y, cycle: bool = True):
        """The forward conversions of both directions (with the FIF masks, in
        training) and, if asked, the cycled features: (fake_y, fake_x, cycle_x,
        cycle_y), the last two None without cycle."""
        g_xy, g_yx = self._net("generator", "src_to_trg"), self._net("generator", "trg_to_src")
        mask_x, mask_y = self.fif_mask(x), self.fif_mask(y)
        fake_y = g_xy(x) if mask_x is None else g_xy(x, mask_x)
        fake_x = g_yx(y) if mask_y is None else g_yx(y, mask_y)
        if not cycle:
            return fake_y, fake_x, None, None
        return fake_y, fake_x, g_yx(fake_y), g_xy(fake_x)

    def _forward_generator(self, x, y, batch_key) -> Dict[str, Any]:
        g_xy, g_yx = self._net("generator", "src_to_trg"), self._net("generator", "trg_to_src")
        d = {name: self._net("discriminator", name) for name in self.discriminator}
        fake_y, fake_x, cycle_x, cycle_y = self._convert_pair(x, y)
        adv_loss = self.generator_adv_loss(d["trg"](fake_y)) + self.generator_adv_loss(d["src"](fake_x))
        cycle_loss = l1_loss(cycle_x, x) + l1_loss(cycle_y, y)
        loss = adv_loss + self.lambda_cycle * cycle_loss
        adv2_loss = None
        if self.two_step_adversarial:
            adv2_loss = self.generator_adv_loss(d["src_cycle"](cycle_x)) + self.generator_adv_loss(
                d["trg_cycle"](cycle_y)
            )
            loss = loss + adv2_loss
        identity_weight = self.identity_weight(int(self.num_updates))
        identity_loss = None
        # Skip the two extra generator passes once the weight is 0, except in
        # validation, where the loss is reported throughout.
        if identity_weight > 0 or not self.training:
            identity_loss = l1_loss(g_xy(y), y) + l1_loss(g_yx(x), x)
            loss = loss + identity_weight * identity_loss
        self._check_finite(loss, "generator")
        if self.training:
            self.num_updates += 1
            # The discriminator turn of the same batch reuses these outputs.
            self._cache = (batch_key, *(t.detach() for t in (fake_y, fake_x, cycle_x, cycle_y)))
        stats = dict(
            generator_loss=loss.item(),
            generator_adv_loss=adv_loss.item(),
            generator_cycle_loss=cycle_loss.item(),
            generator_identity_loss=None if identity_loss is None else identity_loss.item(),
            identity_weight=identity_weight,
        )
        if adv2_loss is not None:
            stats["generator_adv2_loss"] = adv2_loss.item()
        loss, stats, weight = force_gatherable((loss, stats, x.size(0)), loss.device)
        return dict(loss=loss, stats=stats, weight=weight, optim_idx=0)

    def _forward_discriminator(self, x, y, batch_key) -> Dict[str, Any]:
        cache, self._cache = self._cache, None
        if cache is not None and cache[0][0] is batch_key[0] and cache[0][1] is batch_key[1]:
            fake_y, fake_x, cycle_x, cycle_y = cache[1:]
        else:
            with torch.no_grad():
                fake_y, fake_x, cycle_x, cycle_y = self._convert_pair(x, y, cycle=self.two_step_adversarial)
        d = {name: self._net("discriminator", name) for name in self.discriminator}
        real_y_loss, fake_y_loss = self.discriminator_adv_loss(d["trg"](y), d["trg"](fake_y))
        real_x_loss, fake_x_loss = self.discriminator_adv_loss(d["src"](x), d["src"](fake_x))
        real_loss = real_x_loss + real_y_loss
        fake_loss = fake_x_loss + fake_y_loss
        loss = real_loss + fake_loss
        adv2_loss = None
        if self.two_step_adversarial:
            adv2_loss = sum(self.discriminator_adv_loss(d["src_cycle"](x), d["src_cycle"](cycle_x))) + sum(
                self.discriminator_adv_loss(d["trg_cycle"](y), d["trg_cycle"](cycle_y))
            )
            loss = loss + adv2_loss
        self._check_finite(loss, "discriminator")
        stats = dict(
            discriminator_loss=loss.item(),
            discriminator_real_loss=real_loss.item(),
            discriminator_fake_loss=fake_loss.item(),
        )
        if adv2_loss is not None:
            stats["discriminator_adv2_loss"] = adv2_loss.item()
        loss, stats, weight = force_gatherable((loss, stats, x.size(0)), loss.device)
        return dict(loss=loss, stats=stats, weight=weight, optim_idx=1)

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
