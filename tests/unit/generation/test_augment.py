"""Data-efficient GAN training (backbones.generation.augment and its use in ConditionalGAN): the augmentation sees
real and fake images in both steps with one policy, is differentiable (the generator's gradient passes through
it), each transformation does what it says, ADA's probability follows the overfitting signal, LeCam's term on
known inputs, and the EMA start."""
from __future__ import annotations

import pytest
import torch

from backbones.generation import ConditionalGAN
from backbones.generation.augment import DiffAugment, cutout, lecam_regulariser, parse_policy, translation
from tests.support.gan import batch, optimizers, snapshot, tiny_gan


def augmented_gan(policy: str = "translation,cutout", **kwargs) -> ConditionalGAN:  # noqa: ANN003
    attention = dict(mixer="SelfAttention", num_heads=2)
    return ConditionalGAN(
        generator=dict(type="SAGANGenerator", out_channels=1, base_width=8, noise_dim=16, attention=attention),
        discriminator=dict(type="SAGANDiscriminator", in_channels=1, base_width=8, attention=attention),
        ema_momentum=0.01, augment=dict(policy=policy), **kwargs)


def test_augmentation_sees_real_and_fake_in_both_steps() -> None:
    """D step: the augmentation gets the real batch and the fakes together; G step: the fakes, with gradient; the
    discriminator gets exactly the augmentation's output (never an un-augmented image)."""
    torch.manual_seed(0)
    model = augmented_gan()
    aug_in, aug_out, d_in = [], [], []

    def record_aug(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        aug_in.append(inputs[0])
        aug_out.append(output)

    def record_d(module: torch.nn.Module, inputs: tuple) -> None:
        d_in.append(inputs[0])

    model.augment.register_forward_hook(record_aug)
    model.discriminator.register_forward_pre_hook(record_d)
    data = batch(6)
    real = model.data_preprocessor(data, True)["inputs"]
    log = model.train_step(data, optimizers(model))
    assert "loss_g" in log and float(log["aug_p"]) == 1.0
    assert [len(x) for x in aug_in] == [12, 6] and len(d_in) == 2
    assert torch.equal(aug_in[0][:6], real)  # the real images, then the fakes, one call: one policy for both
    assert not aug_in[0][6:].requires_grad and aug_in[1].requires_grad  # G step: fakes with the generator's graph
    for i in range(2):
        assert d_in[i] is aug_out[i]
        assert not torch.equal(aug_out[i], aug_in[i])  # the transformations did something


def test_gradient_reaches_the_generator_through_the_augmentation() -> None:
    torch.manual_seed(0)
    model = augmented_gan("color,translation,cutout")
    labels = torch.arange(4)
    fake = model.generator(model.noise(4, torch.device("cpu")), labels)
    fake.retain_grad()
    model.discriminate(fake, labels)[0].mean().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    grads = [p.grad for p in model.generator.parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_each_transformation_has_the_gradient_of_what_it_computes(policy: str) -> None:
    """gradcheck (numerical against analytical Jacobian) with the random draws fixed."""
    aug = DiffAugment(policy)
    x = torch.randn(3, 2, 8, 8, dtype=torch.double, requires_grad=True)

    def fixed(t: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(1)
        return aug(t)

    assert not torch.equal(fixed(x), x)
    assert torch.autograd.gradcheck(fixed, (x,))


def test_translation_shifts_each_image_with_zero_fill() -> None:
    torch.manual_seed(0)
    x = torch.rand(16, 1, 16, 16) + 1  # no zero pixel: zeros in the output are the padding
    out = translation(x)
    for img, src in zip(out, x):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = torch.zeros_like(src)
                ys, xs = slice(max(0, -dy), 16 - max(0, dy)), slice(max(0, -dx), 16 - max(0, dx))
                ref[:, ys, xs] = src[:, max(0, dy):16 + min(0, dy), max(0, dx):16 + min(0, dx)]
                matches.append(torch.equal(img, ref))
        assert sum(matches) == 1
    assert any((o == 0).any() for o in out)  # some image was shifted


def test_cutout_zeroes_one_square_of_at_most_half_the_side() -> None:
    torch.manual_seed(0)
    x = torch.rand(32, 1, 16, 16) + 1
    out = cutout(x)
    for img, src in zip(out, x):
        zero = img[0] == 0
        ys, xs = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
        assert 0 < len(ys) <= 8 and 0 < len(xs) <= 8
        assert zero[ys.min():ys.max() + 1, xs.min():xs.max() + 1].all() and int(zero.sum()) == len(ys) * len(xs)
        assert torch.equal(img[0][~zero], src[0][~zero])


def test_probability_zero_is_the_identity_and_bad_policies_are_refused() -> None:
    x = torch.randn(4, 1, 8, 8)
    assert torch.equal(DiffAugment("color,translation,cutout", p=0.0)(x), x)
    assert parse_policy(" translation, cutout ") == ("translation", "cutout")
    with pytest.raises(ValueError, match="'rotate'"):
        DiffAugment("translation,rotate")


def test_adaptive_probability_follows_the_overfitting_signal() -> None:
    aug = DiffAugment("translation", p=0.5, ada_target=0.6, ada_interval=2, ada_step=0.1)
    for _ in range(2):
        aug.observe(torch.tensor([1.0, 2.0, 3.0, -1.0]))  # E sign = 0.5 < 0.6: less augmentation
    assert float(aug.p) == pytest.approx(0.4) and float(aug.signal.abs().sum()) == 0
    aug.observe(torch.ones(4))
    assert float(aug.p) == pytest.approx(0.4)  # half an interval: no change yet
    aug.observe(torch.ones(4))  # E sign = 1 > 0.6: the discriminator overfits, more augmentation
    assert float(aug.p) == pytest.approx(0.5)
    fixed = DiffAugment("translation", p=0.5)
    fixed.observe(torch.ones(4))
    assert float(fixed.p) == 0.5


def test_lecam_term_on_known_inputs() -> None:
    real, fake = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.5, -1.0])
    # relu(real - 1)^2 = [0, 0, 4] -> 4/3; relu(0.5 - fake)^2 = [0, 2.25] -> 1.125
    assert float(lecam_regulariser(real, fake, torch.tensor(0.5), torch.tensor(1.0))) == pytest.approx(4 / 3 + 1.125)
    model = augmented_gan(lecam_weight=0.3, lecam_decay=0.9)
    model.lecam(real, fake)  # the first batch sets the averages: a_R = 2/3, a_F = -0.25
    assert model.lecam_ema.tolist() == pytest.approx([2 / 3, -0.25])
    model.d_steps += 1
    term = model.lecam(real, fake)
    a_r, a_f = 2 / 3, -0.25  # the means again: the averages stay
    expected = torch.relu(real - a_f).pow(2).mean() + torch.relu(a_r - fake).pow(2).mean()
    assert float(term) == pytest.approx(float(expected))
    log = model.train_step(batch(), optimizers(model))
    assert float(log["loss_lecam"].detach()) > 0


def test_ema_is_a_copy_of_the_generator_until_ema_start() -> None:
    torch.manual_seed(0)
    model = augmented_gan(ema_start=2)
    wrappers = optimizers(model)
    for _ in range(2):
        model.train_step(batch(), wrappers)
        ema = dict(model.generator_ema.module.named_parameters())
        assert all(torch.equal(p, ema[k]) for k, p in model.generator.named_parameters())
    model.train_step(batch(), wrappers)
    ema = dict(model.generator_ema.module.named_parameters())
    assert not all(torch.equal(p, ema[k]) for k, p in model.generator.named_parameters())
    plain = tiny_gan()  # ema_start 0: averaging from the second step
    wrappers = optimizers(plain)
    plain.train_step(batch(), wrappers)
    before = snapshot(plain.generator_ema.module)
    plain.train_step(batch(), wrappers)
    ema = dict(plain.generator_ema.module.named_parameters())
    assert not all(torch.equal(p, ema[k]) for k, p in plain.generator.named_parameters())
    assert any(not torch.equal(p, before[k]) for k, p in ema.items())


def test_auxiliary_class_losses_train_the_class_head_from_both_steps() -> None:
    """aux_weight > 0: the discriminator's class head gets the real images' cross-entropy in its step, the
    generator the fakes' cross-entropy for their labels; a discriminator without the head is refused."""
    torch.manual_seed(0)
    model = augmented_gan(aux_weight=1.0)
    with pytest.raises(ValueError, match="aux_classifier"):
        model.train_step(batch(), optimizers(model))
    model = ConditionalGAN(
        generator=dict(type="SAGANGenerator", out_channels=1, base_width=8, noise_dim=16),
        discriminator=dict(type="SAGANDiscriminator", in_channels=1, base_width=8, aux_classifier=True),
        aux_weight=0.5)
    head = snapshot(model.discriminator.classifier)
    log = model.train_step(batch(), optimizers(model))
    assert {"loss_d_cls", "loss_g_cls"} <= set(log)
    assert float(log["loss_d_cls"].detach()) > 0 and float(log["loss_g_cls"].detach()) > 0
    assert any(not torch.equal(p, head[k]) for k, p in model.discriminator.classifier.named_parameters())
    scores, logits = model.discriminator(torch.zeros(6, 1, 32, 32), torch.arange(6), with_logits=True)
    assert scores.shape == (6,) and logits.shape == (6, 10)


def test_channels_last_holds_conv_weights_channels_last_and_computes_the_same() -> None:
    torch.manual_seed(0)
    plain = augmented_gan()
    torch.manual_seed(0)
    fast = augmented_gan(channels_last=True)
    conv = fast.discriminator.first.conv1.parametrizations.weight.original
    assert conv.is_contiguous(memory_format=torch.channels_last) and conv.shape[-1] == 3
    labels = torch.arange(4)
    noise = torch.randn(4, 16)
    torch.testing.assert_close(fast.generator(noise, labels), plain.generator(noise, labels), atol=1e-5, rtol=1e-4)
    log = fast.train_step(batch(), optimizers(fast))
    assert "loss_g" in log and torch.isfinite(log["loss_d_real"].detach())
