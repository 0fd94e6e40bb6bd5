"""The generic backbone: every preset (official parameter counts, forward/backward), outputs, errors."""
from __future__ import annotations

import pytest
import torch

from backbones import MIXERS, PRESETS, MixerViT


def head_params(dim: int) -> int:
    return dim * 1000 + 1000


@pytest.mark.parametrize("arch", sorted(PRESETS))
def test_preset_official_params_and_train_step(arch: str) -> None:
    torch.manual_seed(0)
    model = MixerViT(arch)
    n = sum(p.numel() for p in model.parameters()) + head_params(model.embed_dims)
    assert n == PRESETS[arch]["params"], f"{arch}: {n} parameters, official {PRESETS[arch]['params']}"
    # a forward/backward at a small resolution (FF-only is built for it: its N is fixed at build time)
    patch = 32 if arch == "ff-large" else 16
    small = MixerViT(arch, img_size=2 * patch, drop_path_rate=0.1)
    x = torch.randn(2, 3, 2 * patch, 2 * patch)
    out = small(x)
    assert isinstance(out, tuple) and out[-1].shape == (2, small.embed_dims)
    out[-1].sum().backward()
    missing = [k for k, p in small.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"


@pytest.mark.parametrize("mixer", sorted(MIXERS))
def test_any_mixer_on_one_geometry(mixer: str) -> None:
    """Any registered mixer plugs into any preset geometry with one config key."""
    model = MixerViT(dict(preset="vit-tiny", depth=2), img_size=32, mixer=mixer, out_indices=(0, 1),
                     out_type="featmap")
    outs = model(torch.randn(2, 3, 32, 32))
    assert [o.shape for o in outs] == [(2, 192, 2, 2)] * 2


@pytest.mark.parametrize("out_type,shape", [("cls_token", (2, 64)), ("featmap", (2, 64, 4, 4)),
                                            ("avg_featmap", (2, 64)), ("raw", (2, 17, 64))])
def test_out_indices_and_types(out_type: str, shape: tuple) -> None:
    arch = dict(embed_dims=64, depth=4, num_heads=2, mixer="SelfAttention", stem=dict(type="PatchStem", patch_size=8))
    model = MixerViT(arch, img_size=32, out_indices=(1, -1), out_type=out_type)
    outs = model(torch.randn(2, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == 2
    assert all(o.shape == shape for o in outs)


def test_final_norm_only_on_last_block() -> None:
    arch = dict(embed_dims=64, depth=3, num_heads=2, mixer="SelfAttention", stem=dict(type="PatchStem", patch_size=8))
    model = MixerViT(arch, img_size=32, out_indices=(1, 2), out_type="raw").eval()
    a, b = model(torch.randn(2, 3, 32, 32))
    assert b.mean(-1).abs().max() < 1e-4 and a.mean(-1).abs().max() > 1e-3


@pytest.mark.parametrize("bad", [12, -13, "last", []])
def test_bad_out_indices(bad) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="out_indices"):
        MixerViT("vit-tiny", out_indices=bad)


def test_clear_errors() -> None:
    with pytest.raises(KeyError, match="valid mixers"):
        MixerViT("vit-tiny", mixer="Attention")
    with pytest.raises(KeyError, match="presets"):
        MixerViT("vit-huge")
    with pytest.raises(ValueError, match="out_type"):
        MixerViT("vit-tiny", out_type="tokens")
    with pytest.raises(ValueError, match="12 blocks"):
        MixerViT("vit-tiny", mixer=["SelfAttention"] * 3)
    ff = MixerViT("ff-tiny", img_size=64)
    with pytest.raises(ValueError, match="built for 17 tokens but got 26"):
        ff(torch.randn(1, 3, 80, 80))


def test_position_embeddings_follow_the_input_size() -> None:
    """Learned, grid and sinusoidal tables are resized for another input; FF-only opts in to its rule."""
    for arch in ("deepvit-16b", "eamlp-7"):
        model = MixerViT(dict(preset=arch, depth=2), img_size=64, out_type="featmap").eval()
        assert model(torch.randn(1, 3, 96, 128))[-1].shape[-2:] == (6, 8)
    ff = MixerViT(dict(preset="ff-tiny", depth=2), img_size=64, token_resize="bilinear", out_type="featmap")
    assert ff(torch.randn(1, 3, 96, 128))[-1].shape[-2:] == (6, 8)


def test_learned_pos_embed_resized_on_load() -> None:
    """A checkpoint of another resolution loads (its position table is resized bicubically)."""
    src = MixerViT(dict(preset="vit-tiny", depth=1), img_size=64)
    dst = MixerViT(dict(preset="vit-tiny", depth=1), img_size=96)
    dst.load_state_dict(src.state_dict(), strict=True)
    assert dst.pos_embed.pos_embed.shape == (1, 37, 192)
    torch.testing.assert_close(dst.pos_embed.pos_embed[:, 0], src.pos_embed.pos_embed[:, 0])


def test_frozen_stages_and_norm_eval() -> None:
    mixers = ["SelfAttention", "ReAttention", "ReAttention"]
    model = MixerViT(dict(preset="deepvit-s", depth=3), img_size=32, mixer=mixers, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.blocks[0].parameters())
    assert all(p.requires_grad for p in model.blocks[1].parameters())
    assert not model.cls_token.requires_grad
    assert not model.stem.bn1.training and not model.blocks[0].training
    assert not model.blocks[2].mixer.head_norm.training  # norm_eval
    assert model.blocks[1].mixer.training


def test_pretrained_argument_sets_init_cfg(tmp_path) -> None:  # noqa: ANN001
    arch = dict(preset="vit-tiny", depth=1)
    src = MixerViT(arch, img_size=32)
    path = tmp_path / "bb.pth"
    torch.save({"state_dict": src.state_dict()}, path)
    dst = MixerViT(arch, img_size=32, pretrained=str(path))
    assert not torch.equal(dst.cls_token, src.cls_token)
    dst.init_weights()
    torch.testing.assert_close(dst.cls_token, src.cls_token)
    with pytest.raises(ValueError, match="not both"):
        MixerViT(arch, pretrained=str(path), init_cfg=dict(type="Pretrained", checkpoint=str(path)))


@pytest.mark.parametrize(("kernel", "stride", "pad", "size"), [(7, 4, 2, (23, 30)), (3, 2, 1, (9, 8))])
def test_soft_split_matches_unfold(kernel: int, stride: int, pad: int, size: tuple[int, int]) -> None:
    """T2T's gathered soft split equals nn.Unfold + transpose, in both feature orders."""
    from backbones.models.stems import soft_split, unfold_order

    x = torch.randn(2, 5, *size)
    ref = torch.nn.Unfold(kernel, stride=stride, padding=pad)(x).transpose(1, 2)
    torch.testing.assert_close(soft_split(x, kernel, stride, pad), ref, rtol=0, atol=0)
    last = soft_split(x.permute(0, 2, 3, 1), kernel, stride, pad, channels_last=True)
    torch.testing.assert_close(last, ref[..., unfold_order(5, kernel)], rtol=0, atol=0)


def test_arch_mixer_and_top_level_mixer_must_agree() -> None:
    """A mixer given twice that disagrees is an error (a typo in arch['mixer'] is not silently overridden); a preset's
    mixer is replaced by the top-level one; the mixer may be given only at the top level."""
    arch = dict(embed_dims=32, depth=2, num_heads=2, stem=dict(type="PatchStem", patch_size=4))
    with pytest.raises(ValueError, match=r"arch mixer 'SelfAtention' and mixer='SelfAttention' disagree"):
        MixerViT(dict(arch, mixer="SelfAtention"), img_size=16, mixer="SelfAttention")
    with pytest.raises(ValueError, match="disagree"):
        MixerViT(dict(preset="vit-tiny", mixer="SelfAttention"), mixer="ReAttention")
    agreed = MixerViT(dict(arch, mixer="ReAttention"), img_size=16, mixer="ReAttention")
    assert type(agreed.blocks[0].mixer).__name__ == "ReAttention"
    assert type(MixerViT("vit-tiny", mixer="ReAttention").blocks[0].mixer).__name__ == "ReAttention"
    assert type(MixerViT(arch, img_size=16, mixer="ExternalAttention").blocks[1].mixer).__name__ == "ExternalAttention"
    with pytest.raises(KeyError, match=r"arch lacks \['mixer'\]"):
        MixerViT(arch, img_size=16)
