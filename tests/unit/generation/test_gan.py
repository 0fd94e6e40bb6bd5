"""Image generation (backbones.generation): SAGAN's networks with every zoo mixer, the two-optimizer GAN step, the
metric's pieces against known answers, exact resume with two optimizers, and the tools end to end on tiny runs."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from backbones.generation import MixerAttention2d, SAGANDiscriminator, SAGANGenerator
from backbones.generation.metrics import (
    feature_frechet_distance,
    frechet_distance,
    precision_recall,
)
from tests.support.gan import batch, optimizers, snapshot, tiny_gan

MIXERS = ["SelfAttention", "FeedForwardMixer", "ReAttention", "ExternalAttention", "IdentityMixer"]


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {k for k, p in module.named_parameters() if not torch.equal(p, before[k])}


# --- networks ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mixer", MIXERS)
def test_attention_block_starts_as_the_identity(mixer: str) -> None:
    torch.manual_seed(0)
    block = MixerAttention2d(16, (8, 8), mixer, num_heads=2).train()
    x = torch.randn(2, 16, 8, 8)
    assert block.gamma.item() == 0.0
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    if mixer != "IdentityMixer":  # with the gate open the mixer's output is added
        assert not torch.allclose(block(x), x)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("mixer", [*MIXERS, None])
def test_every_mixer_and_the_controls_generate_images(mixer: str | None, channels: int) -> None:
    torch.manual_seed(0)
    attention = None if mixer is None else dict(mixer=mixer, num_heads=2)
    g = SAGANGenerator(10, channels, base_width=8, noise_dim=16, attention=attention)
    d = SAGANDiscriminator(10, channels, base_width=8, attention=attention)
    labels = torch.tensor([0, 3, 9])
    images = g(torch.randn(3, 16), labels)
    assert images.shape == (3, channels, 32, 32) and images.abs().max() <= 1
    assert d(images, labels).shape == (3,)
    blocks = [m for net in (g, d) for m in net.modules() if isinstance(m, MixerAttention2d)]
    assert len(blocks) == (0 if mixer is None else 2)  # one attention block per network, none for SNGAN
    assert all(type(b.mixer).__name__ == mixer for b in blocks)


def test_projection_discriminator_depends_on_the_label() -> None:
    torch.manual_seed(0)
    d = SAGANDiscriminator(10, 1, base_width=8).eval()
    x = torch.randn(2, 1, 32, 32)
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([1, 1])))


# --- the deploy form --------------------------------------------------------------------------------------------

#: relative error (norm of the difference / norm of float32's output) of each precision's deploy form
DEPLOY_TOLERANCE = {"fp32": 1e-5, "bf16": 0.03, "int8": 0.1}


def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got - want).norm() / want.norm()).item()


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8"])
@pytest.mark.parametrize("mixer", [*MIXERS, None])
def test_deploy_form_of_both_networks_in_every_precision(mixer: str | None, precision: str) -> None:
    """Spectral norms baked, the mixer's own branch form: what the eval-mode networks compute, in each precision;
    every Linear int8 in int8; a deep copy converted leaves the original working (torch's parametrised classes are
    shared between copies)."""
    from backbones.deploy import convert_to_deploy, precision_summary
    from backbones.generation.layers import DeployAttention2d

    torch.manual_seed(0)
    gan = tiny_gan(mixer).train()
    labels = torch.tensor([0, 3, 9, 1])
    with torch.no_grad():
        for _ in range(3):  # power iterations: the stored singular vectors move away from their start
            gan.discriminator(gan.generator(torch.randn(4, 16), labels), labels)
        for block in (m for m in gan.modules() if isinstance(m, MixerAttention2d)):
            block.gamma.fill_(0.5)  # the gate open
        gan.eval()
        noise = torch.randn(4, 16)
        images = gan.generator(noise, labels)
        scores = gan.discriminator(images, labels)
        deployed = convert_to_deploy(copy.deepcopy(gan), precision)
        assert _relative(deployed.generator(noise, labels), images) < DEPLOY_TOLERANCE[precision]
        assert _relative(deployed.discriminator(images, labels), scores) < DEPLOY_TOLERANCE[precision]
        assert torch.equal(gan.generator(noise, labels), images)  # the original is untouched
    assert not any(hasattr(m, "parametrizations") for m in deployed.modules())
    blocks = [m for m in deployed.modules() if isinstance(m, DeployAttention2d)]
    assert len(blocks) == (0 if mixer is None else 3)  # generator, discriminator, the generator's EMA
    summary = precision_summary(deployed)
    if precision == "int8":
        fp32 = precision_summary(convert_to_deploy(copy.deepcopy(gan)))  # + the products read as matrices
        products = [n for n in fp32["float_matrices"] if n.endswith((".w1", ".w2", ".in_w", ".out_w"))]
        assert summary["float_linears"] == 0 and summary["int8_linears"] == fp32["float_linears"] + len(products) > 0
    if precision == "bf16":
        assert summary["bf16_modules"] == ["generator", "discriminator", "generator_ema.module"]


# --- the GAN step ----------------------------------------------------------------------------------------------

def test_each_optimizer_holds_only_its_network() -> None:
    model = tiny_gan()
    wrappers = optimizers(model)
    for name in ("generator", "discriminator"):
        held = {id(p) for group in wrappers[name].optimizer.param_groups for p in group["params"]}
        assert held == {id(p) for p in getattr(model, name).parameters()}
    assert not any(p.requires_grad for p in model.generator_ema.parameters())


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_gan_step_updates_each_network_with_its_own_optimizer(frozen: str) -> None:
    """With one network's learning rate 0, a step changes the other network and leaves this one bit for bit:
    neither optimizer reaches the other's parameters (and no gradient of one step leaks into the other)."""
    torch.manual_seed(0)
    model = tiny_gan()
    wrappers = optimizers(model, g_lr=0.0 if frozen == "generator" else 1e-3,
                          d_lr=0.0 if frozen == "discriminator" else 1e-3)
    other = "discriminator" if frozen == "generator" else "generator"
    g0, d0 = snapshot(model.generator), snapshot(model.discriminator)
    log = model.train_step(batch(), wrappers)
    assert set(log) == {"loss_d_real", "loss_d_fake", "loss_g"}
    moved = changed(g0 if other == "generator" else d0, getattr(model, other))
    assert not changed(g0 if frozen == "generator" else d0, getattr(model, frozen))
    assert len(moved) > len(list(getattr(model, other).parameters())) // 2, moved


def test_n_disc_discriminator_steps_per_generator_step() -> None:
    torch.manual_seed(0)
    model = tiny_gan(n_disc=2)
    wrappers = optimizers(model)
    g0, d0 = snapshot(model.generator), snapshot(model.discriminator)
    log = model.train_step(batch(), wrappers)  # D step only
    assert "loss_g" not in log and not changed(g0, model.generator) and changed(d0, model.discriminator)
    assert int(model.generator_ema.steps) == 0
    d1 = snapshot(model.discriminator)
    log = model.train_step(batch(), wrappers)  # D step and G step
    assert "loss_g" in log and changed(g0, model.generator) and changed(d1, model.discriminator)
    assert int(model.d_steps) == 2 and int(model.generator_ema.steps) == 1


def test_predict_gives_one_fixed_sample_per_real_image() -> None:
    torch.manual_seed(0)
    model = tiny_gan().eval()
    data = model.data_preprocessor(batch(4), False)
    assert data["inputs"].min() >= -1 and data["inputs"].max() <= 1
    first = [s.fake_img.clone() for s in model.predict(data["inputs"], copy.deepcopy(data["data_samples"]))]
    torch.manual_seed(123)  # the global generator does not decide the evaluation noise
    again = model.predict(data["inputs"], data["data_samples"])
    assert all(torch.equal(a, s.fake_img) for a, s in zip(first, again))
    assert again[0].fake_img.dtype == torch.uint8 and again[0].fake_img.shape == (1, 32, 32)
    raw = batch(4)["inputs"][0]
    assert torch.equal(again[0].real_img, raw)  # [-1, 1] and back is exact for uint8


# --- the metric's pieces -----------------------------------------------------------------------------------------

def test_frechet_distance_of_gaussians_in_closed_form() -> None:
    """N(m1, diag a) vs N(m2, diag b): FD = |m1 - m2|^2 + sum (sqrt a - sqrt b)^2. Exact from the parameters
    (1e-9), and from 200,000 samples per set within 0.05 (the value is 7.55; the estimate's spread is ~0.01)."""
    m1, m2 = np.zeros(4), np.array([1.0, 0.0, -1.0, 2.0])
    a, b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([2.0, 1.0, 0.5, 3.0])
    want = float(((m1 - m2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert abs(frechet_distance(m1, np.diag(a), m2, np.diag(b)) - want) < 1e-9
    rng = np.random.default_rng(0)
    x = m1 + rng.standard_normal((200_000, 4)) * np.sqrt(a)
    y = m2 + rng.standard_normal((200_000, 4)) * np.sqrt(b)
    assert abs(feature_frechet_distance(x, y) - want) < 0.05
    assert feature_frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_with_non_commuting_covariances() -> None:
    """Against Tr sqrtm(S1 S2) from scipy for full covariances."""
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(1)
    s1, s2 = (m @ m.T + 0.1 * np.eye(5) for m in rng.standard_normal((2, 5, 5)))
    mu1, mu2 = rng.standard_normal((2, 5))
    want = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-8)


def test_precision_recall_on_identical_disjoint_and_collapsed_sets() -> None:
    rng = np.random.default_rng(0)
    real = rng.standard_normal((400, 8))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    two_modes = np.concatenate([real[:200] - 20, real[200:] + 20])
    p, r = precision_recall(two_modes, two_modes[:200] + 0.01)  # one mode only: precise, half the recall
    assert p == 1.0 and 0.45 < r < 0.55


def test_inception_features_from_a_local_weights_file(tmp_path: Path) -> None:
    """torchvision's Inception-v3 layout read from a file through the safe loader (random weights here)."""
    from torchvision.models import inception_v3

    from backbones.generation.features import InceptionFeatures

    torch.manual_seed(0)
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), tmp_path / "inc.pth")
    net = InceptionFeatures(str(tmp_path / "inc.pth"))
    feats = net(torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8))
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()


# --- training through the tools ----------------------------------------------------------------------------------
