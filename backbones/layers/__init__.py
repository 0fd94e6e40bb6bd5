"""Shared layers: MLP, position embeddings and the generic block."""
from .dropout import Dropout
from .mlp import Mlp
from .pos_embed import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed, resize_tokens

__all__ = ["Dropout", "Mlp", "GridPosEmbed", "LearnedPosEmbed", "SinusoidalPosEmbed", "resize_tokens"]
