"""The CycleGAN family's networks, losses and training step.

One module for CycleGAN-VC (Kaneko & Kameoka 2017), CycleGAN-VC2's two-step
adversarial loss (Kaneko et al. 2019) and MaskCycleGAN-VC's filling in frames
(Kaneko et al. 2021): the variants are options of the same step, their
networks are chosen by name in the task. Inputs are normalised features; the
ESPnet wrapper (espnet2_cyclegan_vc.espnet_model) owns normalisation, log-F0
statistics and conversion.
"""

import contextlib
import logging
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
from typeguard import typechecked

from espnet2_cyclegan_vc.cyclegan.loss import (
    DiscriminatorAdversarialLoss,
    GeneratorAdversarialLoss,
    IdentityLossSchedule,
    l1_loss,
)
from espnet2_cyclegan_vc.directions import DIRECTIONS

AUTOCAST_DTYPES = ("bfloat16", "float16", "auto")


def native_bfloat16(device_type: str) -> Optional[str]:
    """What makes bfloat16 fast on a device, or None where it would be emulated.

    Args:
        device_type: "cpu" or "cuda" (other devices: None).

    Returns:
        str: "AMX" or "AVX512-BF16" (CPU), "CUDA" (a GPU with bfloat16), else None.
    """
    if device_type == "cuda":
        return "CUDA" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else None
    if device_type == "cpu":
        cpu = torch.cpu
        for query, name in (("_is_amx_tile_supported", "AMX"), ("_is_avx512_bf16_supported", "AVX512-BF16")):
            if getattr(cpu, query, lambda: False)():
                return name
    return None


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


@contextlib.contextmanager
def no_parameter_grads(module: torch.nn.Module) -> Iterator[None]:
    """Build the graph without gradients for module's parameters (gradients still
    flow through module to its inputs); their requires_grad is restored on exit."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class CycleGAN(torch.nn.Module):
    """Two generators (G_X->Y, G_Y->X), two or four discriminators, their losses and step.

    The generator turn updates G_X->Y and G_Y->X with adversarial +
    lambda_cycle * cycle + lambda_identity * identity losses; the discriminator
    turn updates D_X and D_Y (and D2_X, D2_Y). The number of generator updates
    is a buffer (``num_updates``): it is saved in every checkpoint, restored by
    ``--resume``, and drives the identity-loss schedule.

    Batched passes (``batched_passes``, the default): every network is
    instance-normalised, so a pass over a batch is the same computation as
    passes over its parts. A generator therefore runs once over the forward
    conversion's input and the identity mapping's input together, and a
    discriminator once over its real and fake inputs together: four generator
    passes of twice the batch instead of six, when the two speakers' segments
    have the same length (training; validation falls back to separate passes
    when they differ). ``batched_passes: false`` keeps the separate passes.

    The successors:
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

    Two speed options, off by default: autocast of the network passes
    (``autocast_dtype``; the losses stay float32) and torch.compile of the
    networks (``compile_networks``).
    """

    @typechecked
    def __init__(
        self,
        generator_src_to_trg: torch.nn.Module,
        generator_trg_to_src: torch.nn.Module,
        discriminator_src: torch.nn.Module,
        discriminator_trg: torch.nn.Module,
        discriminator_src_cycle: Optional[torch.nn.Module] = None,
        discriminator_trg_cycle: Optional[torch.nn.Module] = None,
        adversarial_loss_type: str = "bce",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 5.0,
        identity_loss_updates: int = 10000,
        two_step_adversarial: bool = False,
        fif_max_frames: int = 0,
        batched_passes: bool = True,
        autocast_dtype: Optional[str] = None,
        compile_networks: bool = False,
    ):
        """Initialize CycleGAN.

        Args:
            generator_src_to_trg: Generator G_X->Y.
            generator_trg_to_src: Generator G_Y->X.
            discriminator_src: Discriminator D_X (real source vs converted).
            discriminator_trg: Discriminator D_Y (real target vs converted).
            discriminator_src_cycle: D2_X of the two-step adversarial loss
                (real source vs cycled source); only with two_step_adversarial.
            discriminator_trg_cycle: D2_Y (real target vs cycled target).
            adversarial_loss_type: "bce" (the paper's) or "mse" (least squares).
            lambda_cycle: Weight of the cycle-consistency L1 loss.
            lambda_identity: Weight of the identity-mapping L1 loss.
            identity_loss_updates: Generator updates during which the identity
                loss is used (0 disables it).
            two_step_adversarial: CycleGAN-VC2's second adversarial loss on
                the cycled features (needs both *_cycle discriminators).
            fif_max_frames: MaskCycleGAN-VC's filling in frames: the longest
                run of frames masked out of a training input (the length is
                drawn uniformly from 0..fif_max_frames per segment); 0 is off.
                Needs generators that read a mask (generator_conf:
                mask_channel: true).
            batched_passes: Run each network once over all the inputs of a
                turn that it can take together (the same math, fewer and
                larger passes); False runs every input separately.
            autocast_dtype: "bfloat16" or "float16" to run the network passes
                of training and validation under torch.autocast on the input's
                device (float16 has no loss scaling here: prefer bfloat16);
                the losses are computed in float32. "auto": bfloat16 where the
                device has it natively (a CPU with AMX or AVX512-BF16, a GPU
                with bfloat16), else float32; decided on the first pass and
                logged. None: float32 throughout.
            compile_networks: torch.compile the networks on their first
                training pass. Validation and conversion run them uncompiled
                (their lengths vary, which would recompile).
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
        self.batched_passes = batched_passes
        self.generator_adv_loss = GeneratorAdversarialLoss(adversarial_loss_type)
        self.discriminator_adv_loss = DiscriminatorAdversarialLoss(adversarial_loss_type)
        self.lambda_cycle = lambda_cycle
        self.identity_weight = IdentityLossSchedule(lambda_identity, identity_loss_updates)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))
        self.autocast_request = autocast_dtype
        self.autocast_dtype = None if autocast_dtype in (None, "auto") else getattr(torch, autocast_dtype)
        self._autocast_device: Optional[str] = None  # the device type "auto" was decided for
        self.compile_networks = compile_networks
        # A plain dict, not submodules: the state dict keeps its keys.
        self._compiled: Dict[str, Callable] = {}
        self._cache = None

    # ------------------------------------------------------------- conversion
    def generate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """Convert normalised features with one direction's generator (unmasked).

        Args:
            x: (B, D, T) normalised features of the direction's input speaker.
            direction: "src_to_trg" or "trg_to_src".

        Returns:
            Tensor: (B, D, T) normalised features of the output speaker.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return self.generator[direction](x)

    # ---------------------------------------------------------------- helpers
    def _net(self, kind: str, name: str) -> Callable[..., torch.Tensor]:
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

    def _batched(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        """Whether the two speakers' inputs can share passes (same shape)."""
        return self.batched_passes and x.shape == y.shape

    @staticmethod
    def _run(net: Callable[..., torch.Tensor], feats: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        return net(feats) if mask is None else net(feats, mask)

    def _generator_passes(self, x: torch.Tensor, y: torch.Tensor, identity: bool, cycle: bool = True):
        """All generator outputs of a turn.

        Returns:
            (fake_y, fake_x, cycle_x, cycle_y, identity_y, identity_x): the
            forward conversions (with the FIF masks, in training), the cycled
            features (None without cycle) and the identity mappings
            G_X->Y(y), G_Y->X(x) when they shared the forward passes (else
            None: the turn runs them after its other losses, the order of
            the unbatched step).
        """
        g_xy, g_yx = self._net("generator", "src_to_trg"), self._net("generator", "trg_to_src")
        mask_x, mask_y = self.fif_mask(x), self.fif_mask(y)
        identity_y = identity_x = None
        if identity and self._batched(x, y):
            # G_X->Y converts x (masked) and maps y to itself (unmasked) in one pass.
            def with_identity(g, source, other, mask):
                full = None if mask is None else torch.cat([mask, torch.ones_like(mask)])
                return self._run(g, torch.cat([source, other]), full).chunk(2)

            fake_y, identity_y = with_identity(g_xy, x, y, mask_x)
            fake_x, identity_x = with_identity(g_yx, y, x, mask_y)
        else:
            fake_y = self._run(g_xy, x, mask_x)
            fake_x = self._run(g_yx, y, mask_y)
        cycle_x = cycle_y = None
        if cycle:
            cycle_x, cycle_y = g_yx(fake_y), g_xy(fake_x)
        return fake_y, fake_x, cycle_x, cycle_y, identity_y, identity_x

    def _real_and_fake(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Discriminator outputs for its real and fake inputs (one pass when batched)."""
        d = self._net("discriminator", name)
        if self._batched(real, fake):
            return d(torch.cat([real, fake])).chunk(2)
        return d(real), d(fake)

    def _decide_autocast(self, device_type: str) -> None:
        """autocast_dtype "auto": bfloat16 where the device has it natively, logged once per device type."""
        native = native_bfloat16(device_type)
        self.autocast_dtype = torch.bfloat16 if native else None
        self._autocast_device = device_type
        if native:
            logging.info(f"model_conf autocast_dtype=auto: the networks run under bfloat16 autocast on "
                         f"{device_type} ({native})")
        else:
            logging.info(f"model_conf autocast_dtype=auto: float32 on {device_type} (no native bfloat16)")

    def _check_finite(self, loss: torch.Tensor, turn: str) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"The {turn} loss is {loss.item()} at generator update "
                f"{int(self.num_updates)}: training diverged. Resume from an earlier "
                "checkpoint with a lower learning rate, or check the features and "
                "statistics for NaN/inf."
            )

    # --------------------------------------------------------------- training
    def forward(
        self, x: torch.Tensor, y: torch.Tensor, forward_generator: bool = True, batch_key=None
    ) -> Tuple[torch.Tensor, Dict[str, Optional[float]]]:
        """The generator or the discriminator turn's loss.

        Args:
            x: (B, D, T_x) normalised source-speaker features.
            y: (B, D, T_y) normalised target-speaker features.
            forward_generator: Generator turn if True, else discriminator turn.
            batch_key: Identity of the batch: the discriminator turn reuses
                the generator turn's outputs of the same key (None: recompute).

        Returns:
            Tensor: scalar loss.
            Dict[str, Optional[float]]: the loss and its parts, to report.
        """
        if self.autocast_request == "auto" and self._autocast_device != x.device.type:
            self._decide_autocast(x.device.type)
        if forward_generator:
            return self._generator_turn(x, y, batch_key)
        return self._discriminator_turn(x, y, batch_key)

    def _generator_turn(self, x, y, batch_key):
        # The discriminators' own gradients of this turn would be thrown away
        # (ESPnet's GANTrainer zeroes both optimisers after every turn), so
        # the graph leaves them out: only the gradient through them to the
        # generators is computed, the same update with less work.
        with no_parameter_grads(self.discriminator):
            return self._generator_turn_losses(x, y, batch_key)

    def _generator_turn_losses(self, x, y, batch_key):
        d = {name: self._net("discriminator", name) for name in self.discriminator}
        identity_weight = self.identity_weight(int(self.num_updates))
        # Skip the identity passes once the weight is 0, except in validation,
        # where the loss is reported throughout.
        identity = identity_weight > 0 or not self.training
        fake_y, fake_x, cycle_x, cycle_y, identity_y, identity_x = self._generator_passes(x, y, identity)
        adv_loss = self.generator_adv_loss(d["trg"](fake_y)) + self.generator_adv_loss(d["src"](fake_x))
        cycle_loss = l1_loss(cycle_x, x) + l1_loss(cycle_y, y)
        loss = adv_loss + self.lambda_cycle * cycle_loss
        adv2_loss = None
        if self.two_step_adversarial:
            adv2_loss = self.generator_adv_loss(d["src_cycle"](cycle_x)) + self.generator_adv_loss(
                d["trg_cycle"](cycle_y)
            )
            loss = loss + adv2_loss
        identity_loss = None
        if identity:
            if identity_y is None:
                identity_y, identity_x = self._net("generator", "src_to_trg")(y), self._net("generator", "trg_to_src")(x)
            identity_loss = l1_loss(identity_y, y) + l1_loss(identity_x, x)
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
        return loss, stats

    def _cached_outputs(self, batch_key):
        cache, self._cache = self._cache, None
        if cache is None or batch_key is None or len(cache[0]) != len(batch_key):
            return None
        if not all(a is b for a, b in zip(cache[0], batch_key)):
            return None
        return cache[1:]

    def _discriminator_turn(self, x, y, batch_key):
        cached = self._cached_outputs(batch_key)
        if cached is not None:
            fake_y, fake_x, cycle_x, cycle_y = cached
        else:
            with torch.no_grad():
                fake_y, fake_x, cycle_x, cycle_y, _, _ = self._generator_passes(
                    x, y, identity=False, cycle=self.two_step_adversarial
                )
        real_y_loss, fake_y_loss = self.discriminator_adv_loss(*self._real_and_fake("trg", y, fake_y))
        real_x_loss, fake_x_loss = self.discriminator_adv_loss(*self._real_and_fake("src", x, fake_x))
        real_loss = real_x_loss + real_y_loss
        fake_loss = fake_x_loss + fake_y_loss
        loss = real_loss + fake_loss
        adv2_loss = None
        if self.two_step_adversarial:
            adv2_loss = sum(self.discriminator_adv_loss(*self._real_and_fake("src_cycle", x, cycle_x))) + sum(
                self.discriminator_adv_loss(*self._real_and_fake("trg_cycle", y, cycle_y))
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
        return loss, stats
