"""CycleGAN-VC losses: adversarial, cycle-consistency and identity-mapping."""

import torch
import torch.nn.functional as F
from typeguard import typechecked

ADVERSARIAL_LOSS_TYPES = ("bce", "mse")


def _check_loss_type(loss_type: str) -> str:
    if loss_type not in ADVERSARIAL_LOSS_TYPES:
        raise ValueError(f"adversarial loss_type must be one of {ADVERSARIAL_LOSS_TYPES}, got {loss_type!r}")
    return loss_type


class GeneratorAdversarialLoss(torch.nn.Module):
    """Generator side of the adversarial loss.

    "bce" is the paper's log-likelihood form with a sigmoid discriminator,
    -log D(G(x)), computed from logits for numerical stability. "mse" is the
    least-squares form (D(G(x)) - 1)^2 used by later CycleGAN-VC versions.
    """

    @typechecked
    def __init__(self, loss_type: str = "bce"):
        super().__init__()
        self.loss_type = _check_loss_type(loss_type)

    def forward(self, fake_outputs: torch.Tensor) -> torch.Tensor:
        """Calculate the loss.

        Args:
            fake_outputs: (B, T') discriminator logits for converted features.

        Returns:
            Tensor: scalar loss, averaged over all outputs.
        """
        if self.loss_type == "bce":
            return F.binary_cross_entropy_with_logits(
                fake_outputs, torch.ones_like(fake_outputs)
            )
        return F.mse_loss(fake_outputs, torch.ones_like(fake_outputs))


class DiscriminatorAdversarialLoss(torch.nn.Module):
    """Discriminator side: -log D(y) - log(1 - D(G(x))), or the LS form."""

    @typechecked
    def __init__(self, loss_type: str = "bce"):
        super().__init__()
        self.loss_type = _check_loss_type(loss_type)

    def forward(self, real_outputs: torch.Tensor, fake_outputs: torch.Tensor):
        """Calculate the loss.

        Args:
            real_outputs: (B, T') logits for real features.
            fake_outputs: (B, T') logits for converted features.

        Returns:
            Tensor: real-part loss (scalar).
            Tensor: fake-part loss (scalar).
        """
        if self.loss_type == "bce":
            real = F.binary_cross_entropy_with_logits(real_outputs, torch.ones_like(real_outputs))
            fake = F.binary_cross_entropy_with_logits(fake_outputs, torch.zeros_like(fake_outputs))
        else:
            real = F.mse_loss(real_outputs, torch.ones_like(real_outputs))
            fake = F.mse_loss(fake_outputs, torch.zeros_like(fake_outputs))
        return real, fake


def l1_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every element (not a matrix norm)."""
    return (prediction - target).abs().mean()


class IdentityLossSchedule:
    """Weight of the identity-mapping loss: lambda_id for the first N updates, then 0.

    The paper uses the identity loss only at the start of training to keep the
    linguistic content; N = 0 disables it.
    """

    def __init__(self, weight: float, num_updates: int):
        self.weight = weight
        self.num_updates = num_updates

    def __call__(self, update: int) -> float:
        return self.weight if update < self.num_updates else 0.0
