"""Shared layers: dropout, the channel MLP, position embeddings, EA's double normalisation."""
from .double_norm import double_normalize
from .dropout import Dropout
from .mlp import Mlp, MlpBranch
from .pos_embed import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed, resize_tokens

__all__ = ["Dropout", "GridPosEmbed", "LearnedPosEmbed", "Mlp", "MlpBranch", "SinusoidalPosEmbed", "double_normalize",
           "resize_tokens"]
