"""The class-conditional ResNet generator and projection discriminator of SAGAN for 32x32 images, with one
attention block whose token mixer is any zoo mixer (or none: SNGAN).

Architecture: the CIFAR-10 ResNets of SNGAN (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks", arXiv 1802.05957, Appendix B.4) with SAGAN's additions (Zhang et al. 2019,
"Self-Attention Generative Adversarial Networks", arXiv 1805.08318): spectral normalisation in both networks,
conditional BatchNorm in the generator, one attention block at 16x16 in each network. The discriminator is a
projection discriminator (Miyato & Koyama 2018, "cGANs with Projection Discriminator", arXiv 1802.05637):
``D(x, y) = linear(h) + <embed(y), h>`` with ``h`` the summed features.

Both networks are registered in mmengine's root ``MODELS`` (``SAGANGenerator``, ``SAGANDiscriminator``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import MODELS

from backbones.generation.layers import ConditionalBatchNorm2d, MixerAttention2d, bake_spectral_norm, sn


def _attention(attention: dict | None, channels: int, resolution: int) -> nn.Module | None:
    """The attention block of ``attention`` (``dict(mixer=..., num_heads=..., resolution=...)``) if it runs at
    ``resolution``, else None."""
    if attention is None or attention.get("resolution", 16) != resolution:
        return None
    kwargs = {k: v for k, v in attention.items() if k != "resolution"}
    return MixerAttention2d(channels, (resolution, resolution), **kwargs)


def _init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for the convolutions and linear layers (SNGAN's initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.xavier_uniform_(weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class GeneratorBlock(nn.Module):
    """Up-sampling residual block: ``conv(relu(cbn(up(conv(relu(cbn(x))))))) + conv1x1(up(x))``.

    Args:
        in_channels, out_channels: channels of the input and output maps.
        num_classes: classes of the conditional BatchNorms.
    """

    def __init__(self, in_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm1 = ConditionalBatchNorm2d(in_channels, num_classes)
        self.conv1 = sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.norm2 = ConditionalBatchNorm2d(out_channels, num_classes)
        self.conv2 = sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.shortcut = sn(nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W), (B,) -> (B, C_out, 2H, 2W)."""
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DiscriminatorBlock(nn.Module):
    """Residual block of the discriminator, optionally down-sampling (2x2 average pool).

    ``first=True`` is SNGAN's "optimized" first block (no ReLU on the image, shortcut pooled before its conv).

    Args:
        in_channels, out_channels: channels of the input and output maps.
        down: halve the resolution.
        first: the block that reads the image.
    """

    def __init__(self, in_channels: int, out_channels: int, down: bool = True, first: bool = False) -> None:
        super().__init__()
        self.conv1 = sn(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.conv2 = sn(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        learn = in_channels != out_channels or down
        self.shortcut = sn(nn.Conv2d(in_channels, out_channels, 1)) if learn else nn.Identity()
        self.down, self.first = down, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, H/2, W/2) (or H, W without ``down``)."""
        h = self.conv1(x if self.first else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.first:
            return h + self.shortcut(F.avg_pool2d(x, 2))
        s = self.shortcut(x)
        return h + (F.avg_pool2d(s, 2) if self.down else s)


@MODELS.register_module()
class SAGANGenerator(nn.Module):
    """Class-conditional ResNet generator, noise (B, Z) and labels (B,) -> images (B, C, 32, 32) in [-1, 1].

    ``z -> linear -> (B, 4w, 4, 4) -> up-block (4w, 8x8) -> up-block (2w, 16x16) -> [attention] -> up-block
    (w, 32x32) -> BN, ReLU, conv3x3, tanh``, each up-block with conditional BatchNorm.

    Args:
        num_classes: K.
        out_channels: image channels C (1 or 3).
        base_width: w.
        noise_dim: Z.
        attention: ``dict(mixer=spec, num_heads=4, resolution=16)`` for the attention block
            (:class:`~backbones.generation.layers.MixerAttention2d`), or None for none (SNGAN).
    """

    def __init__(self, num_classes: int = 10, out_channels: int = 3, base_width: int = 32, noise_dim: int = 128,
                 attention: dict | None = None) -> None:
        super().__init__()
        self.num_classes, self.out_channels, self.noise_dim = num_classes, out_channels, noise_dim
        widths = [4 * base_width, 4 * base_width, 2 * base_width, base_width]
        self.fc = sn(nn.Linear(noise_dim, widths[0] * 4 * 4))
        self.blocks = nn.ModuleList(GeneratorBlock(a, b, num_classes) for a, b in zip(widths, widths[1:]))
        self.attention, self.attention_after = None, None  # the attention block and the block it follows
        for i, res in enumerate((8, 16, 32)):
            block = _attention(attention, widths[i + 1], res)
            if block is not None:
                self.attention, self.attention_after = block, i
        self.out_norm = nn.BatchNorm2d(base_width)
        self.out_conv = sn(nn.Conv2d(base_width, out_channels, 3, padding=1))
        _init(self)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, Z) noise and (B,) int labels -> (B, C, 32, 32) images in [-1, 1]."""
        h = self.fc(noise).view(noise.shape[0], -1, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, labels)
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(h))))

    def to_deploy(self) -> SAGANGenerator:
        """The deploy switch, in place (its attention block is converted before, by the bottom-up walk of
        :func:`backbones.deploy.convert_to_deploy`): every spectral norm baked into its weight."""
        return bake_spectral_norm(self)


@MODELS.register_module()
class SAGANDiscriminator(nn.Module):
    """Projection discriminator, images (B, C, 32, 32) and labels (B,) -> scores (B,).

    ``x -> first block (w, 16x16) -> [attention] -> block (2w, 8x8) -> block (4w, 4x4) -> block (4w, 4x4)
    -> ReLU, sum over H, W -> h (B, 4w)``; ``D(x, y) = linear(h) + <embed(y), h>``, all weights spectrally
    normalised (the embedding too, as in Miyato & Koyama 2018).

    Args:
        num_classes: K.
        in_channels: image channels C (1 or 3).
        base_width: w.
        attention: as :class:`SAGANGenerator`.
        aux_classifier: also a (spectrally normalised) linear class head on ``h`` (AC-GAN, Odena et al. 2017,
            arXiv 1610.09585), whose logits ``forward(..., with_logits=True)`` returns beside the scores.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, base_width: int = 32,
                 attention: dict | None = None, aux_classifier: bool = False) -> None:
        super().__init__()
        w = base_width
        self.first = DiscriminatorBlock(in_channels, w, down=True, first=True)
        self.attention = _attention(attention, w, 16)
        self.blocks = nn.Sequential(DiscriminatorBlock(w, 2 * w), DiscriminatorBlock(2 * w, 4 * w),
                                    DiscriminatorBlock(4 * w, 4 * w, down=False))
        self.linear = sn(nn.Linear(4 * w, 1))
        self.embed = sn(nn.Embedding(num_classes, 4 * w))
        self.classifier = sn(nn.Linear(4 * w, num_classes)) if aux_classifier else None
        _init(self)
        nn.init.xavier_uniform_(self.embed.parametrizations.weight.original)

    def forward(self, images: torch.Tensor, labels: torch.Tensor,
                with_logits: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, 32, 32) images in [-1, 1] and (B,) int labels -> (B,) scores (real: high); ``with_logits``
        (needs ``aux_classifier``): the scores and the class head's (B, K) logits."""
        h = self.first(images)
        if self.attention is not None:
            h = self.attention(h)
        h = F.relu(self.blocks(h)).sum(dim=(2, 3))  # (B, 4w)
        scores = self.linear(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)
        if not with_logits:
            return scores
        if self.classifier is None:
            raise ValueError("SAGANDiscriminator: with_logits needs a discriminator built with aux_classifier=True")
        return scores, self.classifier(h)

    def to_deploy(self) -> SAGANDiscriminator:
        """The deploy switch, in place: every spectral norm baked into its weight (as the generator's)."""
        return bake_spectral_norm(self)
