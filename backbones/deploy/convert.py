"""The deploy conversion: a trained model, once, into its inference form (RepVGG's ``switch_to_deploy`` idea).

:func:`convert_to_deploy` walks a model (a backbone, a classifier, a segmentor, a point-cloud model) and
replaces, in place, every block of the zoo by a :class:`DeployBlock` of folded residual branches
(:mod:`backbones.deploy.branches`) and every foldable stem by its inference form
(:mod:`backbones.deploy.stems`). Everything else (heads, necks, plain stems) stays as it is, in eval
mode. The converted model computes what the plain model computes in eval mode (to float rounding), holds
only its folded weights, keeps no state between calls and can be traced and exported; it cannot be
trained (``train()`` raises), so training, validation during training, EMA and analysis hooks always
see the plain model.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from ..block import Block
from .branches import DeployModule, deploy_branch
from .stems import STEMS


class DeployBlock(DeployModule):
    """A block as its residual branches in order: ``x = branch(x, grid)`` for each.

    With ``first_token_only`` the block returns the first (class) token alone, (B, N, C) -> (B, 1, C): its
    last token-mixing branch computes only that token's output (:meth:`DeployModule.first_token`) and
    the branches after it run on that token.
    """

    def __init__(self, branches: list[DeployModule], first_token_only: bool = False) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        mixing = [i for i, b in enumerate(branches) if b.mixes_tokens]
        self.reduce_at = mixing[-1] if first_token_only and mixing else -1
        if first_token_only and not mixing:
            raise ValueError("DeployBlock: first_token_only needs a token-mixing branch")

    @classmethod
    def from_block(cls, block: Block, first_token_only: bool = False) -> DeployBlock:
        """From a :class:`Block` (mixer and MLP branches, either order, DeepViT's scale adjustment)."""
        a = block.scale_adjustment
        mixer, mlp = deploy_branch(block.norm1, block.mixer, a), deploy_branch(block.norm2, block.mlp, a)
        return cls([mixer, mlp] if block.mixer_first else [mlp, mixer], first_token_only)

    def forward(self, x: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, N, C) -> (B, N, C), or (B, 1, C) with ``first_token_only``."""
        for i, branch in enumerate(self.branches):
            x = branch.first_token(x, grid) if i == self.reduce_at else branch(x, grid)
        return x


#: Conversion of each module type (exact type). Other packages add theirs with :func:`register_conversion`.
CONVERSIONS: dict[type, Callable[[nn.Module], nn.Module]] = {Block: DeployBlock.from_block, **STEMS}


def register_conversion(module_type: type, conversion: Callable[[nn.Module], nn.Module]) -> None:
    """Convert modules of exactly ``module_type`` with ``conversion(module) -> inference module``."""
    CONVERSIONS[module_type] = conversion


def convert_to_deploy(model: nn.Module) -> nn.Module:
    """Replace the zoo's blocks and foldable stems in ``model`` by their inference forms.

    The model is put in eval mode first (BatchNorm statistics and dropout as at inference). Containers
    are converted in place; converting an already converted model changes nothing.

    Args:
        model: a module containing the zoo's blocks (MixerViT, PointMixerBackbone, a model around them).

    Returns:
        The converted model in eval mode: ``model`` itself, unless ``model`` is itself a block or stem.
    """
    model.eval()
    with torch.no_grad():
        conversion = CONVERSIONS.get(type(model))
        return conversion(model).eval() if conversion is not None else convert_children(model)


def convert_children(module: nn.Module) -> nn.Module:
    """Convert every child of ``module`` (recursively) in place; returns ``module``."""
    for name, child in list(module.named_children()):
        conversion = CONVERSIONS.get(type(child))
        if conversion is not None:
            setattr(module, name, conversion(child).eval())
        else:
            convert_children(child)
    return module


def is_deployed(model: nn.Module) -> bool:
    """Whether ``model`` contains modules made by :func:`convert_to_deploy`."""
    return any(isinstance(m, DeployModule) for m in model.modules())
