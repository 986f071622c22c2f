"""Loss terms against hand computations, and the identity-loss schedule."""

import math

import pytest
import torch

from espnet2_cyclegan_vc.cyclegan.loss import (
    DiscriminatorAdversarialLoss,
    GeneratorAdversarialLoss,
    IdentityLossSchedule,
    l1_loss,
)


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def test_generator_bce_is_minus_log_d_of_fake():
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    expected = -sum(math.log(sigmoid(v)) for v in (0.0, 2.0, -1.0)) / 3
    assert GeneratorAdversarialLoss("bce")(logits).item() == pytest.approx(expected, rel=1e-6)


def test_discriminator_bce_real_and_fake_parts():
    real, fake = torch.tensor([[1.0, -0.5]]), torch.tensor([[0.3, -2.0]])
    real_loss, fake_loss = DiscriminatorAdversarialLoss("bce")(real, fake)
    assert real_loss.item() == pytest.approx(-(math.log(sigmoid(1.0)) + math.log(sigmoid(-0.5))) / 2, rel=1e-6)
    assert fake_loss.item() == pytest.approx(
        -(math.log(1 - sigmoid(0.3)) + math.log(1 - sigmoid(-2.0))) / 2, rel=1e-6
    )


def test_least_squares_option():
    fake = torch.tensor([[0.5, 2.0]])
    assert GeneratorAdversarialLoss("mse")(fake).item() == pytest.approx(((0.5 - 1) ** 2 + 1.0) / 2)
    real_loss, fake_loss = DiscriminatorAdversarialLoss("mse")(torch.tensor([[0.0, 1.0]]), fake)
    assert real_loss.item() == pytest.approx(0.5)
    assert fake_loss.item() == pytest.approx((0.25 + 4.0) / 2)


def test_unknown_loss_type_is_refused():
    with pytest.raises(ValueError, match="loss_type"):
        GeneratorAdversarialLoss("hinge")


def test_l1_is_mean_absolute_error_not_a_matrix_norm():
    a = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    b = torch.zeros(2, 2)
    assert l1_loss(a, b).item() == pytest.approx(6.0 / 4)
    # The max-column-sum matrix norm would give 4.
    assert l1_loss(a, b).item() != pytest.approx(torch.linalg.matrix_norm(a, ord=1).item())
    # Against a non-zero target it is the mean of |prediction - target|.
    target = torch.tensor([[2.0, 1.0], [-1.0, 0.5]])
    assert l1_loss(a, target).item() == pytest.approx((1.0 + 3.0 + 4.0 + 0.5) / 4)


def test_identity_schedule_switches_off_after_n_updates():
    schedule = IdentityLossSchedule(weight=5.0, num_updates=10000)
    assert schedule(0) == 5.0
    assert schedule(9999) == 5.0
    assert schedule(10000) == 0.0
    assert schedule(200000) == 0.0
    assert IdentityLossSchedule(5.0, 0)(0) == 0.0
