"""EANet's official segmentation checkpoint (Guo et al. 2021, ``MenghaoGuo/EANet``) -> mmseg ``EncoderDecoder``.

The official ``{'net': state_dict, 'step': int}`` holds ``extractor.*`` (a ResNet-101 with a 128-channel
deep stem: ``extractor.0.{0,1,3,4,6}`` stem convs / BNs, ``extractor.1`` the stem's last BN,
``extractor.4..7`` = layer1..layer4) and the head ``fc0`` (ConvBNReLU), ``linu`` (EA unit),
``fc1.0`` (ConvBNReLU), ``fc2`` (classifier). They map onto ``configs/_base_/models/eanet_r101-d8.py``:
mmseg's ``ResNetV1c(depth=101, stem_channels=128)`` and this zoo's ``EAHead``. The official model has
no auxiliary head, so the converted state leaves ``auxiliary_head.*`` to its initialisation.
"""
from __future__ import annotations

import torch

EANET_RENAMES: list[tuple[str, object]] = [
    (r"^extractor\.0\.(\d+)\.", r"backbone.stem.\1."),
    (r"^extractor\.1\.", "backbone.stem.7."),
    (r"^extractor\.([4-7])\.", lambda m: f"backbone.layer{int(m.group(1)) - 3}."),
    (r"^fc0\.", "decode_head.in_conv."),
    (r"^linu\.", "decode_head.ea."),
    (r"^fc1\.0\.", "decode_head.out_conv."),
    (r"^fc2\.", "decode_head.conv_seg."),
]

#: EANet's modules, as in configs/_base_/models/eanet_r101-d8.py (BN: shapes only).
EANET_BACKBONE = dict(type="ResNetV1c", depth=101, stem_channels=128, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                      multi_grid=(2, 8, 16), contract_dilation=True)
EANET_HEAD = dict(type="EAHead", in_channels=2048, in_index=3, ea_channels=512, memory=64, channels=256,
                  dropout_ratio=0.1, norm_cfg=dict(type="BN"), align_corners=True)


def eanet_shapes(num_classes: int) -> dict[str, torch.Size]:
    """State-dict shapes of EANet's backbone and decode head (prefixed), built on the meta device."""
    import mmseg.models  # noqa: F401  (registers ResNetV1c)
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS  # finds mmseg's modules and, through its parent, EAHead

    from backbones.segmentation import EAHead  # noqa: F401  (registers EAHead)

    # mmseg's ResNetV1c, whatever the caller's default scope (mmpretrain has one of the same name)
    with torch.device("meta"), DefaultScope.overwrite_default_scope("mmseg"):
        parts = {"backbone": MODELS.build(EANET_BACKBONE),
                 "decode_head": MODELS.build(dict(EANET_HEAD, num_classes=num_classes))}
    return {f"{name}.{k}": v.shape for name, m in parts.items() for k, v in m.state_dict().items()}


def validate_eanet(state: dict[str, torch.Tensor], path: str) -> str:
    """Check converted keys and shapes against EANet (classes from the classifier); returns the model name.

    Raises:
        ConversionError: missing, unknown or mis-shaped keys (named in the message).
    """
    from backbones.converters.base import ConversionError

    cls = state.get("decode_head.conv_seg.weight")
    if cls is None:
        raise ConversionError(f"{path}: no classifier 'fc2.weight': not an EANet segmentation checkpoint")
    want = eanet_shapes(cls.shape[0])
    missing = sorted(set(want) - set(state))
    unknown = sorted(set(state) - set(want))
    shape = sorted(k for k in set(want) & set(state) if tuple(want[k]) != tuple(state[k].shape))
    problems = [f"{what}: {', '.join(ks[:8])}" + (f" (+{len(ks) - 8} more)" if len(ks) > 8 else "")
                for what, ks in (("missing keys", missing), ("unknown keys", unknown), ("shape mismatch", shape))
                if ks]
    if problems:
        raise ConversionError(f"{path}: does not match EANet (ResNet-101, {cls.shape[0]} classes): "
                              + "; ".join(problems))
    return f"eanet-r101-{cls.shape[0]}cls"

