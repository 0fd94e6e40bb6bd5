"""The preset table: every named architecture of the zoo as data (no per-variant code).

Keys: ``embed_dims``, ``depth``, ``num_heads``, ``mlp_ratio``, ``mixer`` (one spec, or one per block),
``stem`` (a registered stem config), ``pos_embed`` ('learned' | 'grid' | 'sinusoidal'), optional
``pos_grid`` (build grid of the position table when it differs from the patch grid), ``norm_eps``,
``qkv_bias``, ``scale_adjustment`` and ``mixer_first``. Each, with a 1000-class linear head, has
exactly the parameter count of the paper's official model (``params``).
"""
from __future__ import annotations

SA = dict(type="SelfAttention")


def _last(depth: int, k: int, special: dict, base: dict = SA) -> list[dict]:
    """Per-block mixer list: ``base`` everywhere but ``special`` in the last ``k`` blocks."""
    return [dict(base)] * (depth - k) + [dict(special)] * k


def _vit(dims: int, depth: int, heads: int, params: int) -> dict:
    return dict(embed_dims=dims, depth=depth, num_heads=heads, mlp_ratio=4.0, mixer=SA,
                stem=dict(type="PatchStem", patch_size=16), pos_embed="learned", params=params)


def _ff(dims: int, depth: int, patch: int, params: int) -> dict:
    return dict(embed_dims=dims, depth=depth, num_heads=1, mlp_ratio=4.0, mixer=dict(type="FeedForwardMixer"),
                stem=dict(type="PatchStem", patch_size=patch), pos_embed="grid", pos_grid=(14, 14),
                mixer_first=False, params=params)


def _deepvit(dims: int, depth: int, mixer, stem: dict, a: float, params: int) -> dict:  # noqa: ANN001
    return dict(embed_dims=dims, depth=depth, num_heads=12, mlp_ratio=3.0, mixer=mixer, stem=stem,
                pos_embed="learned", scale_adjustment=a, params=params)


def _eamlp(dims: int, depth: int, heads: int, ratio: float, params: int) -> dict:
    return dict(embed_dims=dims, depth=depth, num_heads=heads, mlp_ratio=ratio, mixer=dict(type="ExternalAttention"),
                stem=dict(type="TokensToTokenStem"), pos_embed="sinusoidal", norm_eps=1e-5, params=params)


RA = dict(type="ReAttention")
PATCH16 = dict(type="PatchStem", patch_size=16)
CNN = dict(type="CNNStem", patch_size=16)

PRESETS: dict[str, dict] = {
    # Self-attention (timm ViT / DeiT)
    "vit-tiny": _vit(192, 12, 3, 5_717_416),
    "deit-small": _vit(384, 12, 6, 22_050_664),
    "deit-base": _vit(768, 12, 12, 86_567_656),
    # Feed-forward over patches (Melas-Kyriazi 2021)
    "ff-tiny": _ff(192, 12, 16, 7_676_332),
    "ff-base": _ff(768, 12, 16, 61_943_020),
    "ff-large": _ff(1024, 24, 32, 206_363_576),
    # Re-attention (DeepViT, Zhou et al. 2021)
    "deepvit-16b": _deepvit(384, 16, RA, PATCH16, 1.0, 24_426_664),
    "deepvit-24b": _deepvit(384, 24, RA, PATCH16, 1.0, 36_261_448),
    "deepvit-32b": _deepvit(384, 32, RA, PATCH16, 1.0, 48_096_232),
    "deepvit-s": _deepvit(396, 16, _last(16, 5, dict(RA, transform_scale=True)), CNN, 0.5, 27_312_632),
    "deepvit-l": _deepvit(420, 32, _last(32, 12, RA), CNN, 0.5, 58_883_708),
    # External attention (EAMLP = T2T-ViT with EA, Guo et al. 2021)
    "eamlp-7": _eamlp(256, 7, 4, 2.0, 6_146_638),
    "eamlp-14": _eamlp(384, 14, 6, 3.0, 29_877_070),
    "eamlp-19": _eamlp(448, 19, 7, 3.0, 54_559_054),
    "eamlp-24": _eamlp(512, 24, 8, 3.0, 89_456_590),
}
