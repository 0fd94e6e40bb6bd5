"""DeepViT's attention-collapse measure for a trained model: block-to-block attention similarity.

The tool is :mod:`backbones.cli.attention_similarity` (``python -m backbones.cli.attention_similarity --help``,
console script ``backbones-attention-similarity``); this file runs it, as OpenMMLab's ``tools/`` scripts do.
"""
from backbones.cli.attention_similarity import cli, main  # noqa: F401  (main: the tests call it)

if __name__ == "__main__":
    cli()
