"""Shared layers: MLP, position embeddings and the generic block."""
from .block import Block
from .mlp import Mlp
from .pos_embed import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed, resize_tokens

__all__ = ["Block", "Mlp", "GridPosEmbed", "LearnedPosEmbed", "SinusoidalPosEmbed", "resize_tokens"]
