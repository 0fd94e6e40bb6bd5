"""Window attention (ViTDet, Li et al. 2022) as an option of SelfAttention and ReAttention: equal to global
attention when one window covers the grid, padding of grids that are not multiples of the window (masked: a window
equals attention over its real tokens), the backbone's global blocks, the deploy forms and clear refusals."""
from __future__ import annotations

import copy

import pytest
import torch

from backbones import MixerViT, ReAttention, SelfAttention, convert_to_deploy
from backbones.models.layers.windows import Windows

MIXERS = [SelfAttention, ReAttention]


def _pair(cls: type, window: int, dim: int = 32) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A windowed module and the global module with the same weights (eval mode)."""
    torch.manual_seed(0)
    win = cls(dim, num_heads=4, window_size=window)
    if isinstance(win, ReAttention):  # non-trivial running statistics of the head norm
        win.head_norm.running_mean.uniform_(-0.1, 0.1)
        win.head_norm.running_var.uniform_(0.5, 2.0)
    glob = cls(dim, num_heads=4)
    glob.load_state_dict(win.state_dict())
    return win.eval(), glob.eval()


@pytest.mark.parametrize("cls", MIXERS)
@pytest.mark.parametrize("window", [6, 9])  # exactly the grid; larger than the grid (padded, masked)
def test_one_window_covering_the_grid_is_global_attention(cls: type, window: int) -> None:
    win, glob = _pair(cls, window)
    x = torch.randn(3, 6 * 6, 32)
    torch.testing.assert_close(win(x, (6, 6)), glob(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", MIXERS)
def test_one_window_equals_global_while_training(cls: type) -> None:
    """Without padding the windowed module is the global one in training mode too (Re-attention's batch norm)."""
    win, glob = _pair(cls, 5)
    x = torch.randn(2, 25, 32)
    torch.testing.assert_close(win.train()(x, (5, 5)), glob.train()(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", MIXERS)
def test_padded_windows_equal_attention_over_their_real_tokens(cls: type) -> None:
    """A 5x7 grid in 3x3 windows (padded to 6x9): each window's output equals global attention over the real
    tokens of that window alone, so the padding changes nothing."""
    win, glob = _pair(cls, 3)
    h, w = 5, 7
    x = torch.randn(2, h * w, 32)
    out = win(x, (h, w)).view(2, h, w, 32)
    grid = x.view(2, h, w, 32)
    for y0 in range(0, h, 3):
        for x0 in range(0, w, 3):
            part = grid[:, y0:y0 + 3, x0:x0 + 3]
            ph, pw = part.shape[1:3]
            ref = glob(part.reshape(2, ph * pw, 32)).view(2, ph, pw, 32)
            torch.testing.assert_close(out[:, y0:y0 + 3, x0:x0 + 3], ref, rtol=1e-5, atol=1e-5)


def test_windows_split_and_merge_round_trip() -> None:
    win = Windows((5, 7), 3)
    x = torch.randn(2, 35, 4)
    parts = win.split(x)
    assert tuple(parts.shape) == (2 * 2 * 3, 9, 4)
    torch.testing.assert_close(win.merge(parts), x)
    mask = win.key_mask(2, x.device, x.dtype)
    assert tuple(mask.shape) == (12, 1, 1, 9)
    assert int(torch.isinf(mask).sum()) == 2 * (6 * 9 - 35)  # the padded tokens, per image
    assert Windows((6, 9), 3).key_mask(2, x.device, x.dtype) is None


def _vit(**kwargs: object) -> MixerViT:
    arch = dict(embed_dims=32, depth=4, num_heads=4, stem=dict(type="PatchStem", patch_size=16))
    return MixerViT(arch, img_size=96, out_type="featmap", out_indices=(1, 3), **kwargs)


@pytest.mark.parametrize("mixer", ["SelfAttention", "ReAttention"])
def test_backbone_windows_and_global_blocks(mixer: str) -> None:
    """Window 4 on a 6x7 grid in blocks 0 and 2, global blocks 1 and 3; shapes; the deploy form gives the same."""
    torch.manual_seed(0)
    vit = _vit(mixer=mixer, with_cls_token=False, window_size=4, global_blocks=(1, 3)).eval()
    assert [b.mixer.window_size for b in vit.blocks] == [4, None, 4, None]
    x = torch.randn(2, 3, 96, 112)
    outs = vit(x)
    assert [tuple(o.shape) for o in outs] == [(2, 32, 6, 7), (2, 32, 6, 7)]
    deployed = convert_to_deploy(copy.deepcopy(vit))
    for a, b in zip(deployed(x), outs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    glob = _vit(mixer=mixer, with_cls_token=False).eval()
    glob.load_state_dict(vit.state_dict())
    assert not torch.allclose(glob(x)[-1], outs[-1], atol=1e-3)  # the windows do restrict attention


def test_windowed_deploy_branch_refuses_the_class_token_shortcut() -> None:
    branch = SelfAttention(32, num_heads=4, window_size=2).deploy_branch(torch.nn.LayerNorm(32))
    with pytest.raises(ValueError, match="no class token"):
        branch.first_token(torch.randn(1, 4, 32), (2, 2))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(mixer="SelfAttention", with_cls_token=True, window_size=4), ValueError, "with_cls_token=False"),
    (dict(mixer="SelfAttention", with_cls_token=False, global_blocks=(1,)), ValueError, "without window_size"),
    (dict(mixer="SelfAttention", with_cls_token=False, window_size=4, global_blocks=(4,)), ValueError,
     "out of range"),
    (dict(mixer="ExternalAttention", with_cls_token=False, window_size=4), TypeError, "window_size=4"),
])
def test_backbone_refuses_bad_window_settings(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        _vit(**kwargs)


def test_windowed_module_refuses_bad_input() -> None:
    attn = SelfAttention(32, num_heads=4, window_size=3)
    with pytest.raises(ValueError, match="needs the patch grid"):
        attn(torch.randn(1, 9, 32))
    with pytest.raises(ValueError, match="patch tokens only"):
        attn(torch.randn(1, 10, 32), (3, 3))
    with pytest.raises(ValueError, match="global attention only"):
        attn.attention_maps(torch.randn(1, 9, 32))
    with pytest.raises(ValueError, match="positive int"):
        SelfAttention(32, num_heads=4, window_size=0)
