"""EANet on mmseg: the official checkpoint converts into the VOC config's model and gives the reference's
logits (float64: through ~100 random-weight layers float32 rounding alone reaches ~1e-3 relative); its
dilations and parameter count are the paper's; broken checkpoints fail naming the keys."""
from __future__ import annotations

import pytest
import torch

from backbones.cli import convert as convert_checkpoint
from lab.reference import randomize_
from lab.reference.eanet import RefEANet
from tests.support import ROOT, build_classifier, load_cfg

VOC_CFG = ROOT / "configs/segmentation/voc12aug/eanet_r101-d8_4xb4-45k_voc12aug-513x513.py"
EANET_PARAMS_21 = 53_839_061  # official EANet: 21 classes, no auxiliary head


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> tuple[RefEANet, str]:  # noqa: ANN001
    """A randomised reference EANet and its checkpoint in the official container (DataParallel prefix)."""
    torch.manual_seed(0)
    ref = randomize_(RefEANet(21)).eval()
    path = tmp_path_factory.mktemp("eanet") / "eanet_official.pth"
    torch.save({"net": {"module." + k: v for k, v in ref.state_dict().items()}, "step": 45000}, path)
    return ref, str(path)


def test_parameter_count_is_the_papers(official) -> None:  # noqa: ANN001
    ref, _ = official
    assert sum(p.numel() for p in ref.parameters()) == EANET_PARAMS_21
    model = build_classifier(load_cfg(VOC_CFG))
    ours = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("auxiliary_head."))
    assert ours == EANET_PARAMS_21


def test_dilations_are_eanets() -> None:
    """layer3: (1, 2, 2, ..., 2); layer4: (2, 8, 16); output stride 8."""
    model = build_classifier(load_cfg(VOC_CFG))
    b = model.backbone
    assert [blk.conv2.dilation[0] for blk in b.layer3] == [1] + [2] * 22
    assert [blk.conv2.dilation[0] for blk in b.layer4] == [2, 8, 16]
    assert [blk.conv2.padding[0] for blk in b.layer4] == [2, 8, 16]
    b.eval()  # mmseg's ResNet.train() returns None
    with torch.no_grad():
        assert b(torch.randn(1, 3, 33, 33))[-1].shape == (1, 2048, 5, 5)


def test_converted_checkpoint_gives_the_reference_logits(official, tmp_path) -> None:  # noqa: ANN001
    from mmengine.runner.checkpoint import _load_checkpoint

    ref, src = official
    dst = tmp_path / "eanet_mmseg.pth"
    assert convert_checkpoint.main(["eanet", src, str(dst)]) == 0
    state = _load_checkpoint(str(dst), map_location="cpu")["state_dict"]
    model = build_classifier(load_cfg(VOC_CFG))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and missing and all(k.startswith("auxiliary_head.") for k in missing)
    model, ref = model.double().eval(), ref.double()
    x = torch.randn(2, 3, 33, 41, dtype=torch.float64)
    with torch.no_grad():
        want = ref(x)
        got = model.encode_decode(x, [dict(img_shape=(33, 41))] * 2)
    assert got.shape == want.shape == (2, 21, 33, 41)
    err = ((got - want).abs().max() / want.abs().max()).item()
    assert err < 1e-10, f"relative max error {err:.2e}"


def test_broken_checkpoints_fail_naming_the_keys(official, tmp_path, capsys) -> None:  # noqa: ANN001
    ref, _ = official
    state = dict(ref.state_dict())
    state.pop("linu.linear_0.weight")
    state["fc9.weight"] = torch.zeros(3)
    state["fc0.conv.weight"] = state["fc0.conv.weight"][:10]
    src = tmp_path / "broken.pth"
    torch.save({"net": state, "step": 1}, src)
    assert convert_checkpoint.main(["eanet", str(src), str(tmp_path / "out.pth")]) == 2
    err = capsys.readouterr().err
    assert "decode_head.ea.linear_0.weight" in err and "fc9.weight" in err and "decode_head.in_conv.conv.weight" in err
    assert not (tmp_path / "out.pth").exists()
