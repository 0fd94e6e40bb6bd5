"""One generic ViT-style backbone whose token mixer is a config.

``MixerViT`` = stem -> [class token] -> position embedding -> blocks (each with its own mixer)
-> final LayerNorm. It reproduces ViT/DeiT, FF-only, DeepViT and EAMLP from the preset table
(:mod:`backbones.models.presets`) and runs any mixer on any preset geometry. Outputs follow the OpenMMLab
backbone contract: a tuple with one entry per ``out_indices``.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from backbones.engine.checkpoint.pretrained import SafePretrainedMixin
from backbones.models import stems  # noqa: F401  (registers the stems)
from backbones.models.block import DeployBlock, build_blocks, checkpoint_module, stacked_layer_depth, wants_checkpoint
from backbones.models.layers import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed
from backbones.models.layers.dropout import Dropout
from backbones.models.layers.init import vit_init_
from backbones.models.presets import PRESETS

POS_EMBEDS = {"learned": LearnedPosEmbed, "grid": GridPosEmbed, "sinusoidal": SinusoidalPosEmbed}
OUT_TYPES = ("cls_token", "featmap", "avg_featmap", "raw")
ARCH_KEYS = {"embed_dims", "depth", "num_heads", "mlp_ratio", "mixer", "stem", "pos_embed", "pos_grid",
             "norm_eps", "qkv_bias", "scale_adjustment", "mixer_first", "params"}


def resolve_arch(arch: str | dict, mixer: Any = None) -> dict:
    """A preset name or a dict (optionally ``dict(preset=name, **overrides)``) -> full arch dict.

    ``mixer`` (the backbone's top-level argument) replaces a preset's mixer; an arch dict that names a mixer
    itself must agree with it (a typo in one of two places would otherwise be silently ignored).

    Raises:
        KeyError: an unknown preset or arch key, or a key missing from an arch dict.
        ValueError: the arch dict's ``mixer`` and the top-level ``mixer`` disagree.
    """
    if isinstance(arch, str):
        if arch not in PRESETS:
            raise KeyError(f"unknown arch {arch!r}; presets: {sorted(PRESETS)}")
        base = copy.deepcopy(PRESETS[arch])
    else:
        arch = dict(arch)
        base = resolve_arch(arch.pop("preset")) if "preset" in arch else {}
        unknown = set(arch) - ARCH_KEYS
        if unknown:
            raise KeyError(f"unknown arch keys {sorted(unknown)}; valid keys: {sorted(ARCH_KEYS)}")
        if mixer is not None and "mixer" in arch and arch["mixer"] != mixer:
            raise ValueError(f"MixerViT: arch mixer {arch['mixer']!r} and mixer={mixer!r} disagree; give the mixer "
                             f"once (the top-level mixer argument, or arch['mixer'])")
        base.update(arch)
    if mixer is not None:
        base["mixer"] = mixer
    missing = {"embed_dims", "depth", "mixer", "stem"} - set(base)
    if missing:
        raise KeyError(f"arch lacks {sorted(missing)} (mixer may also be given as the top-level mixer argument)")
    return base


@MODELS.register_module()
class MixerViT(SafePretrainedMixin, BaseModule):
    """Generic token-mixer vision transformer (ViT/DeiT, FF-only, DeepViT, EAMLP and any hybrid).

    Args:
        arch: preset name (see ``PRESETS``) or arch dict (``dict(preset='deit-small', depth=6)``).
        img_size: input size the position table (and FF-only's token count) is built for.
        in_channels: image channels.
        mixer: override the preset's mixer: one spec (name / dict / class) for all blocks, or a list
            with one per block.
        out_indices: blocks whose outputs are returned (negative counts from the end).
        out_type: 'cls_token' (B, C), 'featmap' (B, C, h, w), 'avg_featmap' (B, C) or 'raw' (B, N, C).
        with_cls_token: prepend a class token.
        final_norm: apply the final LayerNorm to the last block's output.
        drop_rate: dropout after the position embedding and inside MLPs / mixer projections.
        attn_drop_rate: dropout on attention maps.
        drop_path_rate: stochastic depth, linearly increasing over blocks.
        token_resize: FF-only's resize rule for inputs of another size (None or 'bilinear').
        frozen_stages: freeze the stem, embeddings and the first ``frozen_stages`` blocks (-1: none).
        norm_eval: keep BatchNorm layers (CNN stem, Re-attention) in eval mode during training.
        pretrained: checkpoint path or URL, shorthand for ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine initialisation config. A ``Pretrained`` entry is read with the safe loader (after a plain
            ``import backbones`` too) and loaded strictly: every backbone key matched, else an error naming them
            (position tables of another size are resized); ``strict=False`` with ``min_key_share`` allows a
            partial load (:mod:`backbones.engine.checkpoint.pretrained`).
        with_cp: activation checkpointing per block while training (mmpretrain's ``with_cp``): each block's
            activations are recomputed in the backward pass; same gradients, less memory, more compute.
        window_size: window attention with s x s windows on the patch grid in every block but ``global_blocks``
            (ViTDet, Li et al. 2022: 14, with global blocks 2, 5, 8, 11 of ViT-B); offered to every block's mixer as
            the block setting ``window_size`` (a mixer that does not take it is refused). None: global everywhere.
            Needs ``with_cls_token=False``.
        global_blocks: blocks that keep global attention when ``window_size`` is set.
    """

    def __init__(self, arch: str | dict = "deit-small", img_size: int | Sequence[int] = 224, in_channels: int = 3,
                 mixer: Any = None, out_indices: int | Sequence[int] = -1, out_type: str = "cls_token",
                 with_cls_token: bool = True, final_norm: bool = True, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0, token_resize: str | None = None,
                 frozen_stages: int = -1, norm_eval: bool = False, pretrained: str | None = None,
                 init_cfg: dict | list | None = None, with_cp: bool = False, window_size: int | None = None,
                 global_blocks: Sequence[int] = ()) -> None:
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("MixerViT: give either pretrained= or init_cfg=, not both")
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        a = resolve_arch(arch, mixer)
        self.arch = a
        self.embed_dims = dim = a["embed_dims"]
        self.depth = depth = a["depth"]
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if out_type not in OUT_TYPES:
            raise ValueError(f"out_type must be one of {OUT_TYPES}, got {out_type!r}")
        if out_type == "cls_token" and not with_cls_token:
            raise ValueError("out_type='cls_token' needs with_cls_token=True")
        self.out_type, self.with_cls_token, self.final_norm = out_type, with_cls_token, final_norm
        self.out_indices = self._check_out_indices(out_indices, depth)
        if window_size is not None and with_cls_token:
            raise ValueError(f"MixerViT: window_size={window_size} needs with_cls_token=False (windows are cut from "
                             f"the patch grid; a class token has no place in it)")
        if global_blocks and window_size is None:
            raise ValueError(f"MixerViT: global_blocks={tuple(global_blocks)} without window_size: every block is "
                             f"already global; set window_size or drop global_blocks")
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.with_cp = with_cp

        self.stem = MODELS.build(dict(a["stem"], dim=dim, in_channels=in_channels))
        grid = self.stem.grid_size(self.img_size)
        self.num_extra = int(with_cls_token)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if with_cls_token else None
        pos_kind = a.get("pos_embed", "learned")
        if pos_kind not in POS_EMBEDS:
            raise ValueError(f"pos_embed must be one of {sorted(POS_EMBEDS)}, got {pos_kind!r}")
        self.pos_embed = POS_EMBEDS[pos_kind](dim, tuple(a.get("pos_grid") or grid), with_cls_token)
        self.pos_drop = Dropout(drop_rate)

        self.blocks = build_blocks(
            a["mixer"], depth, dim, mlp_ratio=a.get("mlp_ratio", 4.0), drop=drop_rate, drop_path_rate=drop_path_rate,
            norm_eps=a.get("norm_eps", 1e-6), scale_adjustment=a.get("scale_adjustment", 1.0),
            mixer_first=a.get("mixer_first", True), num_heads=a.get("num_heads", 1),
            num_tokens=self.num_extra + grid[0] * grid[1], grid_size=grid, qkv_bias=a.get("qkv_bias", True),
            attn_drop=attn_drop_rate, proj_drop=drop_rate, token_resize=token_resize, window_size=window_size,
            global_blocks=tuple(global_blocks))
        self.norm = nn.LayerNorm(dim, eps=a.get("norm_eps", 1e-6)) if final_norm else nn.Identity()
        self._init_weights()
        self._freeze()

    @staticmethod
    def _check_out_indices(out_indices: int | Sequence[int], depth: int) -> tuple[int, ...]:
        idx = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not idx:
            raise ValueError("out_indices is empty")
        out = []
        for i in idx:
            if not isinstance(i, int) or not -depth <= i < depth:
                raise ValueError(f"out_indices entry {i!r} is out of range for {depth} blocks "
                                 f"(valid: {-depth}..{depth - 1})")
            out.append(i % depth)
        return tuple(out)

    def _init_weights(self) -> None:
        """timm-style init: trunc-normal(0.02) linear weights, zero biases, unit LayerNorms."""
        vit_init_(self)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)

    def _freeze(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.stem, self.pos_embed] + list(self.blocks[: self.frozen_stages])
        if self.frozen_stages >= self.depth:
            frozen.append(self.norm)
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False
        if self.cls_token is not None:
            self.cls_token.requires_grad = False

    def train(self, mode: bool = True) -> MixerViT:
        """Set train mode, keeping frozen stages and (with ``norm_eval``) BatchNorms in eval mode."""
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = "") -> tuple[int, int]:
        """Layer-wise depth of a parameter, for layer-wise learning-rate decay (mmpretrain's contract).

        Depth 0 is the stem, class token and position embedding; block ``i`` is depth ``i + 1``; the final
        norm and every parameter outside the backbone (``param_name`` not starting with ``prefix``, e.g.
        the head) are depth ``num_layers - 1``.

        Args:
            param_name: parameter name, e.g. ``'backbone.blocks.3.mixer.qkv.weight'``.
            prefix: the backbone's prefix in the model, e.g. ``'backbone.'``.

        Returns:
            ``(layer_depth, num_layers)`` with ``num_layers = depth + 2``.
        """
        return stacked_layer_depth(param_name, prefix, ("stem", "cls_token", "pos_embed"), "blocks", self.depth)

    def to_deploy(self) -> MixerViT:
        """The backbone's own deploy switch, in place, called by :func:`backbones.deploy.convert_to_deploy` once its
        blocks and stem are converted (the walk is bottom-up): when the last block's class token is the backbone's
        only output, that block computes the class token alone (its patch tokens would be discarded)."""
        last = self.depth - 1
        if self.out_type == "cls_token" and self.out_indices == (last,) and isinstance(self.blocks[last], DeployBlock):
            self.blocks[last].keep_first_token()
        return self

    def forward_tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Images (B, C_in, H, W) -> embedded tokens (B, N, C) and the patch grid."""
        x, grid = self.stem(x)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.pos_drop(self.pos_embed(x, grid)), grid

    def _format(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        patches = x[:, self.num_extra:]
        if self.out_type == "avg_featmap":
            return patches.mean(dim=1)
        return patches.transpose(1, 2).reshape(x.shape[0], -1, grid[0], grid[1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Images (B, C_in, H, W) -> tuple of features, one per ``out_indices`` entry."""
        size = tuple(x.shape[2:])
        x, grid = self.forward_tokens(x)
        outs = []
        for i, blk in enumerate(self.blocks):
            try:
                x = checkpoint_module(blk, x, grid) if wants_checkpoint(self, self.with_cp) else blk(x, grid)
            except ValueError as err:  # e.g. FF-only's fixed token count: name the image sizes too
                if size == self.img_size:
                    raise
                raise ValueError(f"MixerViT was built for {self.img_size[0]}x{self.img_size[1]} images "
                                 f"(img_size) and got {size[0]}x{size[1]}: {err}") from err
            if i == self.depth - 1:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format(x, grid))
        return tuple(outs)
