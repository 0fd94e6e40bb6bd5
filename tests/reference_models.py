"""Plain-PyTorch references of the official FF-only ViT, DeepViT and EAMLP/EANet code.

Used by parity tests: every model keeps the official checkpoint key names, so an
official-layout ``state_dict`` made here can be converted into a ``backbones`` model
and the logits compared. Written from ``REFERENCE.md``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _Mlp(nn.Module):
    """timm-style MLP: ``fc1 -> GELU -> dropout -> fc2 -> dropout``."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class _PatchEmbed(nn.Module):
    """Non-overlapping patch projection (key ``proj``), output (B, C, H/p, W/p)."""

    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


def _vit_init_(model: nn.Module, *tokens: Tensor) -> None:
    """Trunc-normal (std 0.02) tokens and Linear weights, zero biases, unit LayerNorms."""
    for t in tokens:
        nn.init.trunc_normal_(t, std=0.02)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _ea_normalise(logits: Tensor, token_dim: int, memory_dim: int) -> Tensor:
    """External-attention double normalisation: softmax over tokens, then L1 over memory."""
    attn = logits.softmax(dim=token_dim)
    return attn / (1e-9 + attn.sum(dim=memory_dim, keepdim=True))


def _classify(model: nn.Module, x: Tensor) -> Tensor:
    """Run ``model.blocks``, the final norm and the head on the class token."""
    for blk in model.blocks:
        x = blk(x)
    return model.head(model.norm(x)[:, 0])


class _FFBlock(nn.Module):
    """Channel MLP, then a token MLP over the N axis (class token included)."""

    def __init__(self, dim: int, num_tokens: int) -> None:
        super().__init__()
        self.norm1, self.mlp1 = nn.LayerNorm(dim, eps=1e-6), _Mlp(dim, dim * 4)
        self.norm2, self.mlp2 = nn.LayerNorm(num_tokens, eps=1e-6), _Mlp(num_tokens, int(num_tokens * 4))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mlp1(self.norm1(x))
        t = x.transpose(1, 2)
        return (t + self.mlp2(self.norm2(t))).transpose(1, 2)


class RefFFViT(nn.Module):
    """FF-only vision transformer (official ``LinearVisionTransformer``).

    Args:
        dim: Embedding width C.
        depth: Number of FF blocks.
        patch: Patch size of the convolutional stem.
        num_classes: Classifier outputs.
        img_size: Fixes the token count N = 1 + (img_size // patch)**2 of the token MLPs
            (the official code always uses 224). The 14x14 position grid is resized
            (bilinear, align_corners=False) whenever the patch grid differs.
    """

    def __init__(self, dim: int, depth: int, patch: int, num_classes: int = 1000, img_size: int = 224) -> None:
        super().__init__()
        self.patch_embed = _PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_encoding = nn.Module()  # official LearnedPositionalEncoding: parameters only
        self.pos_encoding.pos_embed = nn.Parameter(torch.zeros(1, dim, 14, 14))
        self.pos_encoding.cls_pos_embed = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(_FFBlock(dim, 1 + (img_size // patch) ** 2) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)
        _vit_init_(self, self.cls_token, self.pos_encoding.pos_embed, self.pos_encoding.cls_pos_embed)

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.patch_embed(x)
        pos = self.pos_encoding.pos_embed
        if pos.shape[-2:] != x.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = (x + pos).flatten(2).transpose(1, 2)
        cls = (self.cls_token + self.pos_encoding.cls_pos_embed).expand(x.shape[0], -1, -1)
        return _classify(self, torch.cat([cls, x], dim=1))


def ref_ff(name: str, num_classes: int = 1000) -> RefFFViT:
    """Build an FF-only reference model: ``'tiny'``, ``'base'`` or ``'large'``."""
    dim, depth, patch = {"tiny": (192, 12, 16), "base": (768, 12, 16), "large": (1024, 24, 32)}[name]
    return RefFFViT(dim, depth, patch, num_classes=num_classes)


class _ReAttention(nn.Module):
    """Multi-head self-attention with optional re-attention (head mixing + BatchNorm)."""

    def __init__(self, dim: int, heads: int, re_attend: bool, transform_scale: bool) -> None:
        super().__init__()
        self.heads, self.scale, self.re_attend = heads, (dim // heads) ** -0.5, re_attend
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        if re_attend:
            self.reatten_matrix = nn.Conv2d(heads, heads, 1)
            self.var_norm = nn.BatchNorm2d(heads)
            self.reatten_scale = self.scale if transform_scale else 1.0
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = self.attn_drop((q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1))
        if self.re_attend:  # mix the H maps, normalise per head; no softmax afterwards
            attn = self.var_norm(self.reatten_matrix(attn)) * self.reatten_scale
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(b, n, c)))


class _DeepViTBlock(nn.Module):
    """Pre-norm block with DeepViT's scale adjustment ``a``: ``x + f(LN(a x)) / a``."""

    def __init__(self, dim: int, heads: int, re_attend: bool, transform_scale: bool, adjust: float) -> None:
        super().__init__()
        self.adjust = adjust
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), _ReAttention(dim, heads, re_attend, transform_scale)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), _Mlp(dim, dim * 3)

    def forward(self, x: Tensor) -> Tensor:
        a = self.adjust
        x = x + self.attn(self.norm1(x * a)) / a
        return x + self.mlp(self.norm2(x * a)) / a


class _CNNStem(nn.Module):
    """DeepViT-S/L stem: 7x7/2 conv, BN, ReLU, 3x3 conv, BN, ReLU, 8x8/8 projection."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64)
        self.proj = nn.Conv2d(64, dim, 8, 8)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        return self.proj(F.relu(self.bn2(self.conv2(x))))


class RefDeepViT(nn.Module):
    """DeepViT classifier: a timm-style ViT whose last blocks use re-attention.

    Args:
        dim: Embedding width C.
        depth: Number of blocks.
        num_reatten: How many of the last blocks re-attend (``depth`` means all).
        cnn_stem: Conv stem ``patch_embed.{conv1,bn1,conv2,bn2,proj}`` instead of the
            16x16 patch convolution ``patch_embed.proj``.
        transform_scale: Scale re-attention maps by head_dim**-0.5 (else by 1).
        scale_adjustment: The factor ``a`` of ``x + f(LN(a x)) / a``.
        heads: Attention heads H (MLP ratio 3, qkv bias on, LN eps 1e-6).
        num_classes: Classifier outputs.
        img_size: Input side; N = 1 + (img_size // 16)**2.
    """

    def __init__(self, dim: int, depth: int, num_reatten: int, cnn_stem: bool = False,
                 transform_scale: bool = False, scale_adjustment: float = 1.0, heads: int = 12,
                 num_classes: int = 1000, img_size: int = 224) -> None:
        super().__init__()
        self.patch_embed = _CNNStem(dim) if cnn_stem else _PatchEmbed(dim, 16)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img_size // 16) ** 2, dim))
        self.blocks = nn.ModuleList(
            _DeepViTBlock(dim, heads, i >= depth - num_reatten, transform_scale, scale_adjustment)
            for i in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)
        _vit_init_(self, self.cls_token, self.pos_embed)

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        return _classify(self, torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed)


def ref_deepvit(name: str, num_classes: int = 1000) -> RefDeepViT:
    """Build a DeepViT reference model: ``'16b'``, ``'24b'``, ``'32b'``, ``'s'`` or ``'l'``."""
    cfgs = {  # dim, depth, re-attending blocks, cnn stem, transform_scale, a
        "16b": (384, 16, 16, False, False, 1.0), "24b": (384, 24, 24, False, False, 1.0),
        "32b": (384, 32, 32, False, False, 1.0), "s": (396, 16, 5, True, True, 0.5),
        "l": (420, 32, 12, True, False, 0.5),
    }
    return RefDeepViT(*cfgs[name], num_classes=num_classes)


def sinusoid_table(n_position: int, dim: int) -> Tensor:
    """T2T-ViT's fixed sinusoid table (1, n_position, dim), float32.

    Entry (p, j) is p / 10000**(2 * (j // 2) / dim) through sin (even j) or cos (odd j),
    computed in float64 and rounded once to float32.
    """
    j = torch.arange(dim)
    angle = torch.arange(n_position, dtype=torch.float64)[:, None] / 10000.0 ** (2.0 * (j // 2).double() / dim)
    return torch.where(j % 2 == 0, angle.sin(), angle.cos()).float().unsqueeze(0)


class _TokenEA(nn.Module):
    """Single-head external attention of a T2T token layer (memory 128), residual on q."""

    def __init__(self, dim: int, out_dim: int, drop: float = 0.1) -> None:
        super().__init__()
        self.q_linear = nn.Linear(dim, out_dim)
        self.linear_0 = nn.Linear(out_dim, 128, bias=False)
        self.linear_1 = nn.Linear(128, out_dim)
        self.proj = nn.Linear(out_dim, out_dim)
        self.attn_drop, self.proj_drop = nn.Dropout(drop), nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        q = self.q_linear(x)
        attn = self.attn_drop(_ea_normalise(self.linear_0(q), token_dim=-2, memory_dim=-1))
        return q + self.proj_drop(self.proj(self.linear_1(attn)))


class _TokenLayer(nn.Module):
    """T2T token layer: ``x = EA(LN(x))``, then ``x + MLP(LN(x))`` (LN eps 1e-5)."""

    def __init__(self, dim: int, out_dim: int = 64) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _TokenEA(dim, out_dim)
        self.norm2, self.mlp = nn.LayerNorm(out_dim), _Mlp(out_dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _T2TStem(nn.Module):
    """Tokens-to-token stem: three soft splits (unfolds) with two EA token layers between."""

    def __init__(self, dim: int, token_dim: int = 64) -> None:
        super().__init__()
        self.soft_split0 = nn.Unfold(7, stride=4, padding=2)
        self.soft_split1, self.soft_split2 = nn.Unfold(3, stride=2, padding=1), nn.Unfold(3, stride=2, padding=1)
        self.attention1 = _TokenLayer(3 * 7 * 7, token_dim)
        self.attention2 = _TokenLayer(token_dim * 9, token_dim)
        self.project = nn.Linear(token_dim * 9, dim)

    @staticmethod
    def _grid(x: Tensor) -> Tensor:
        side = math.isqrt(x.shape[1])
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], side, side)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attention1(self.soft_split0(x).transpose(1, 2))
        x = self.attention2(self.soft_split1(self._grid(x)).transpose(1, 2))
        return self.project(self.soft_split2(self._grid(x)).transpose(1, 2))


class _MultiHeadEA(nn.Module):
    """EAMLP multi-head external attention: C -> 4C, 4H heads of width C/H, memory 64."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = 4 * heads
        self.trans_dims = nn.Linear(dim, 4 * dim)
        self.linear_0 = nn.Linear(dim // heads, 64)
        self.linear_1 = nn.Linear(64, dim // heads)
        self.proj = nn.Linear(4 * dim, dim)
        self.attn_drop, self.proj_drop = nn.Dropout(0.0), nn.Dropout(0.0)

    def forward(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        x = self.trans_dims(x).view(b, n, self.heads, -1).transpose(1, 2)
        attn = self.attn_drop(_ea_normalise(self.linear_0(x), token_dim=-2, memory_dim=-1))
        return self.proj_drop(self.proj(self.linear_1(attn).transpose(1, 2).reshape(b, n, -1)))


class _EABlock(nn.Module):
    """Pre-norm block with multi-head EA (LayerNorm eps 1e-5)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _MultiHeadEA(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class RefEAMLP(nn.Module):
    """EAMLP classifier: T2T-ViT with external attention in the stem and in the blocks.

    Args:
        dim: Embedding width C.
        depth: Number of blocks.
        heads: Heads H (the attention runs 4H heads of width C/H).
        mlp_ratio: Block MLP hidden ratio.
        num_classes: Classifier outputs.
        img_size: Input side; N = 1 + (img_size // 16)**2 (sizes the fixed ``pos_embed``).
    """

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float, num_classes: int = 1000,
                 img_size: int = 224) -> None:
        super().__init__()
        self.tokens_to_token = _T2TStem(dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(sinusoid_table((img_size // 16) ** 2 + 1, dim), requires_grad=False)
        self.blocks = nn.ModuleList(_EABlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        _vit_init_(self, self.cls_token)
        with torch.no_grad():  # official init: token-layer linear_1 = linear_0 transposed (a copy here)
            for layer in (self.tokens_to_token.attention1, self.tokens_to_token.attention2):
                layer.attn.linear_1.weight.copy_(layer.attn.linear_0.weight.t().clone())

    def forward(self, x: Tensor) -> Tensor:
        """Return logits (B, num_classes) for images (B, 3, H, W)."""
        x = self.tokens_to_token(x)
        return _classify(self, torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed)


def ref_eamlp(name: str, num_classes: int = 1000) -> RefEAMLP:
    """Build an EAMLP reference model: ``'7'``, ``'14'``, ``'19'`` or ``'24'``."""
    cfgs = {"7": (256, 7, 4, 2.0), "14": (384, 14, 6, 3.0), "19": (448, 19, 7, 3.0), "24": (512, 24, 8, 3.0)}
    return RefEAMLP(*cfgs[str(name)], num_classes=num_classes)


class RefEAUnit(nn.Module):
    """EANet ``External_attention(c)`` for feature maps (B, c, h, w), memory size 64.

    Args:
        c: Input and output channels.
    """

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 1)
        self.linear_0 = nn.Conv1d(c, 64, 1, bias=False)
        self.linear_1 = nn.Conv1d(64, c, 1, bias=False)
        self.conv2 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
        with torch.no_grad():  # official init: N(0, 2 / (k * out)); linear_1 = linear_0 transposed
            for m in (self.conv1, self.conv2[0], self.linear_0):
                m.weight.normal_(0.0, math.sqrt(2.0 / (math.prod(m.kernel_size) * m.out_channels)))
            self.linear_1.weight.copy_(self.linear_0.weight.permute(1, 0, 2).clone())

    def forward(self, x: Tensor) -> Tensor:
        """Apply the unit; the output has the input's shape."""
        b, c, h, w = x.shape
        attn = _ea_normalise(self.linear_0(self.conv1(x).view(b, c, h * w)), token_dim=-1, memory_dim=1)
        return F.relu(self.conv2(self.linear_1(attn).view(b, c, h, w)) + x)


_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


def randomize_(model: nn.Module, seed: int = 0, skip_frozen: bool = False) -> nn.Module:
    """Fill all parameters and BatchNorm statistics with deterministic random values.

    Norm weights ~ 1 + N(0, 0.1) and norm biases ~ N(0, 0.1); conv weights ~ N(0, 1/fan_in)
    (keeps stem activations O(1)); everything else (Linear weights/biases, tokens,
    position tables, ...) ~ N(0, 0.02). BatchNorm running_mean ~ N(0, 0.1), running_var
    ~ U(0.5, 1.5). Drawn in float64 from a private generator (global RNG untouched).

    Args:
        model: Module to modify in place.
        seed: Seed of the generator.
        skip_frozen: Leave ``requires_grad=False`` parameters (EAMLP's sinusoid ``pos_embed``).

    Returns:
        The same ``model``.
    """
    gen = torch.Generator().manual_seed(seed)

    def randn(t: Tensor) -> Tensor:
        return torch.randn(t.shape, generator=gen, dtype=torch.float64)

    with torch.no_grad():
        for mod in model.modules():
            is_norm, is_conv = isinstance(mod, _NORMS), isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d))
            for name, p in mod.named_parameters(recurse=False):
                if skip_frozen and not p.requires_grad:
                    continue
                if is_norm:
                    p.copy_(1.0 + 0.1 * randn(p) if name == "weight" else 0.1 * randn(p))
                elif is_conv and name == "weight":
                    p.copy_(randn(p) / math.sqrt(p[0].numel()))
                else:
                    p.copy_(0.02 * randn(p))
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.running_mean is not None:
                mod.running_mean.copy_(0.1 * randn(mod.running_mean))
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=gen, dtype=torch.float64))
    return model


if __name__ == "__main__":
    expected = {  # REFERENCE.md parameter counts, 1000 classes, frozen parameters included
        ("ff", "tiny"): 7_676_332, ("ff", "base"): 61_943_020, ("ff", "large"): 206_363_576,
        ("deepvit", "16b"): 24_426_664, ("deepvit", "24b"): 36_261_448, ("deepvit", "32b"): 48_096_232,
        ("deepvit", "s"): 27_312_632, ("deepvit", "l"): 58_883_708, ("eamlp", "7"): 6_146_638,
        ("eamlp", "14"): 29_877_070, ("eamlp", "19"): 54_559_054, ("eamlp", "24"): 89_456_590,
    }
    factories = {"ff": ref_ff, "deepvit": ref_deepvit, "eamlp": ref_eamlp}
    run_forward = {("ff", "tiny"), ("deepvit", "16b"), ("deepvit", "s"), ("eamlp", "7")}
    torch.manual_seed(0)
    img, all_ok = torch.randn(2, 3, 224, 224), True
    for (family, name), want in expected.items():
        model = factories[family](name)
        got = sum(p.numel() for p in model.parameters())
        all_ok &= got == want
        line = f"{family + '-' + name:12s} {got:>12,d} (expected {want:>12,d}) {'OK' if got == want else 'MISMATCH'}"
        if (family, name) in run_forward:
            with torch.no_grad():
                out = randomize_(model).eval()(img)
            line += f"  forward {tuple(out.shape)} finite={bool(out.isfinite().all())} std={out.std():.3g}"
        print(line)
    unit = randomize_(RefEAUnit(32)).eval()
    with torch.no_grad():
        print("EA unit(32) output", tuple(unit(torch.randn(2, 32, 9, 11)).shape))
    print("ALL PARAMETER COUNTS MATCH" if all_ok else "PARAMETER COUNT MISMATCH")
