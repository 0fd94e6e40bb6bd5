"""Shared layers: MLP, position embeddings and the generic block."""
from .block import Block
from .dropout import Dropout
from .mlp import Mlp
from .pos_embed import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed, resize_tokens

__all__ = ["Block", "Dropout", "Mlp", "GridPosEmbed", "LearnedPosEmbed", "SinusoidalPosEmbed", "resize_tokens"]
