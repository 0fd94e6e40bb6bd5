"""The official checkpoint layouts (docs/checkpoints.md describes each), as key renames into ``MixerViT``.

* ``timm``    - timm ViT / DeiT (self-attention presets).
* ``ff``      - "Do You Even Need Attention?" (FF-only presets): ``norm1``/``mlp1`` are the channel
  branch (our ``norm2``/``mlp``), ``norm2``/``mlp2`` the token MLP (our ``mixer``).
* ``deepvit`` - DeepViT: ``attn.reatten_matrix`` (1x1 conv) becomes the (H, H) ``mixer.head_mix``.
* ``eamlp``   - EAMLP (T2T-ViT with External attention).
* ``eanet``   - EANet's segmentation network (ResNet-101 + EA head) -> mmseg ``EncoderDecoder``
  (:mod:`backbones.converters.eanet`).
"""
from __future__ import annotations

from backbones.converters.base import Format
from backbones.converters.eanet import EANET_RENAMES, validate_eanet

_COMMON = [
    (r"^pos_embed$", "pos_embed.pos_embed"),
    (r"^patch_embed\.", "stem."),
    (r"^(blocks\.\d+)\.attn\.", r"\1.mixer."),
]

FORMATS: dict[str, Format] = {
    "timm": Format("timm", list(_COMMON)),
    "ff": Format("ff", [
        (r"^pos_encoding\.", "pos_embed."),
        (r"^patch_embed\.", "stem."),
        (r"^(blocks\.\d+)\.norm1\.", r"\1.norm2."),
        (r"^(blocks\.\d+)\.mlp1\.", r"\1.mlp."),
        (r"^(blocks\.\d+)\.norm2\.", r"\1.mixer.norm."),
        (r"^(blocks\.\d+)\.mlp2\.", r"\1.mixer."),
    ]),
    "deepvit": Format("deepvit", [
        (r"^(blocks\.\d+)\.attn\.reatten_matrix\.", r"\1.mixer.head_mix."),
        (r"^(blocks\.\d+)\.attn\.var_norm\.", r"\1.mixer.head_norm."),
        *_COMMON,
    ], transforms={r"reatten_matrix\.weight$": lambda w: w.reshape(w.shape[0], w.shape[1])}),
    "eamlp": Format("eamlp", [(r"^tokens_to_token\.", "stem."), *_COMMON]),
    "eanet": Format("eanet", EANET_RENAMES, validate=validate_eanet),
}

#: presets each format may convert to.
FAMILIES: dict[str, list[str]] = {
    "timm": ["vit-tiny", "deit-small", "deit-base"],
    "ff": ["ff-tiny", "ff-base", "ff-large"],
    "deepvit": ["deepvit-16b", "deepvit-24b", "deepvit-32b", "deepvit-s", "deepvit-l"],
    "eamlp": ["eamlp-7", "eamlp-14", "eamlp-19", "eamlp-24"],
    "eanet": [],  # not a MixerViT preset: checked by the format's validate
}
