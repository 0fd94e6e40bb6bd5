"""Shared layers: dropout, the channel MLP, position embeddings, EA's double normalisation."""
from backbones.models.layers.double_norm import double_normalize
from backbones.models.layers.dropout import Dropout
from backbones.models.layers.mlp import Mlp, MlpBranch
from backbones.models.layers.pos_embed import GridPosEmbed, LearnedPosEmbed, SinusoidalPosEmbed, resize_tokens

__all__ = ["Dropout", "GridPosEmbed", "LearnedPosEmbed", "Mlp", "MlpBranch", "SinusoidalPosEmbed", "double_normalize",
           "resize_tokens"]
