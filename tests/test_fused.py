"""The fused inference path (backbones.layers.fused) computes what the plain modules compute."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from backbones import MIXERS, MixerViT, build_mixer
from backbones.layers import Block, fused

DIM, TOKENS, GRID = 32, 17, (4, 4)


def _randomize_norms(module: torch.nn.Module) -> None:
    """Non-trivial LayerNorm affines, so folding them into the next Linear is really exercised."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)


def _block(name: str, mixer_first: bool = True) -> Block:
    torch.manual_seed(0)
    mixer = build_mixer(name, dim=DIM, num_heads=4, num_tokens=TOKENS, grid_size=GRID)
    block = Block(DIM, mixer, mlp_ratio=2.0, mixer_first=mixer_first)
    _randomize_norms(block)
    return block.eval()


@pytest.mark.parametrize(("gelu", "with_residual"), [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("onednn", [True, False])
def test_linear_matches_unfused(gelu: bool, with_residual: bool, onednn: bool, monkeypatch) -> None:  # noqa: ANN001
    if not onednn:
        monkeypatch.setattr(fused, "_HAS_ONEDNN", False)
    torch.manual_seed(0)
    x, w, b, r = torch.randn(2, 7, 24), torch.randn(40, 24), torch.randn(40), torch.randn(2, 7, 40)
    want = F.linear(x, w, b)
    want = F.gelu(want) if gelu else want
    want = want + r if with_residual else want
    got = fused.linear(x, w, b, gelu=gelu, residual=r if with_residual else None)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_linear_rejects_gelu_with_residual() -> None:
    with pytest.raises(ValueError, match="gelu"):
        fused.linear(torch.randn(2, 3), torch.randn(4, 3), gelu=True, residual=torch.randn(2, 4))


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_block_fused_equals_plain(name: str) -> None:
    block = _block(name, mixer_first=name != "FeedForwardMixer")
    x = torch.randn(3, TOKENS, DIM)
    with torch.no_grad():
        with fused.fused_kernels(False):
            want = block(x, GRID)
        got = block(x, GRID)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["SelfAttention", "FeedForwardMixer", "ExternalAttention"])
def test_folded_weights_follow_parameter_changes(name: str) -> None:
    """The cache of folded weights is invalidated by in-place updates (optimizer steps, load_state_dict)."""
    block = _block(name)
    x = torch.randn(2, TOKENS, DIM)
    with torch.no_grad():
        block(x, GRID)  # fills the caches
        for p in block.parameters():
            p.add_(0.05 * torch.randn_like(p))
        got = block(x, GRID)
        with fused.fused_kernels(False):
            want = block(x, GRID)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_fused_path_only_at_inference() -> None:
    block = _block("SelfAttention")
    x = torch.randn(1, TOKENS, DIM)
    assert not fused.can_fuse(block, x)  # grad enabled
    with torch.no_grad():
        assert fused.can_fuse(block, x)
        assert not fused.can_fuse(block.train(), x)
        assert not fused.can_fuse(block.eval(), x.double())
        with fused.fused_kernels(False):
            assert not fused.can_fuse(block, x)


@pytest.mark.parametrize("arch", ["vit-tiny", "ff-tiny", "deepvit-16b", "eamlp-7"])
def test_backbone_fused_equals_plain(arch: str) -> None:
    """Whole backbones: the fused path changes float32 rounding only."""
    torch.manual_seed(0)
    model = MixerViT(arch=dict(preset=arch, depth=2), img_size=64, out_type="raw")
    _randomize_norms(model)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        with fused.fused_kernels(False):
            want = model(x)[0]
        got = model(x)[0]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_flop_counter_counts_fused_gemms() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from backbones import EATokenLayer
    from backbones.flops import forward_flops

    model = MixerViT(arch=dict(preset="vit-tiny", depth=2), img_size=64).eval()
    x = torch.randn(1, 3, 64, 64)
    layer = EATokenLayer(36, 16, memory=8).eval()
    # q 36 -> 16, logits 16 -> 8, folded output 8 -> 16, MLP 16 -> 16 -> 16, over 2 * 25 rows
    assert forward_flops(layer, torch.randn(2, 25, 36)) == 2 * 50 * (36 * 16 + 16 * 8 + 8 * 16 + 16 * 16 + 16 * 16)
    counts = []
    for enabled in (False, True):
        with FlopCounterMode(display=False) as counter, torch.no_grad(), fused.fused_kernels(enabled):
            model(x)
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] > 0


@pytest.mark.parametrize("permuted", [False, True])
def test_token_layer_fused_equals_plain(permuted: bool) -> None:
    """EAMLP's token layer: the fused inference path equals the plain one, with permuted input features too,
    and follows parameter updates."""
    from backbones import EATokenLayer
    from backbones.stems import unfold_order

    torch.manual_seed(0)
    layer = EATokenLayer(4 * 9, 16, memory=8).eval()
    for p in layer.parameters():  # non-trivial affines and biases
        p.data.add_(0.1 * torch.randn_like(p))
    order = unfold_order(4, 3) if permuted else None
    x = torch.randn(2, 25, 36)
    with torch.no_grad():
        fast = layer(x, order)
        with fused.fused_kernels(False):
            plain = layer(x, order)
        torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
        layer.norm1.weight.mul_(2.0)
        with fused.fused_kernels(False):
            plain2 = layer(x, order)
        torch.testing.assert_close(layer(x, order), plain2, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(plain, plain2)


def test_fused_path_compiles() -> None:
    """Under torch.compile the fused path leaves fusion to inductor (oneDNN's linear needs constant weights there)."""
    block = _block("ExternalAttention")
    x = torch.randn(2, TOKENS, DIM)
    with torch.no_grad():
        want = block(x)
        got = torch.compile(block)(x)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("chunk", [7, 1 << 19])
def test_normalized_linear_into_matches_layer_norm_then_linear(chunk: int) -> None:
    """LayerNorm + Linear written into a buffer, in row blocks that do not divide the rows evenly."""
    x, w, b = torch.randn(3, 11, 5) * 4 + 2, torch.randn(6, 5), torch.randn(6)
    out = torch.full((3, 11, 6), float("nan"))
    got = fused.normalized_linear_into(out, x, 1e-5, w, b, chunk=chunk)
    assert got is out
    torch.testing.assert_close(out, F.linear(F.layer_norm(x, (5,), None, None, 1e-5), w, b))


def test_ea_inference_buffers_do_not_leak() -> None:
    """EA's inference paths keep maps in reused buffers: a block's recorded map is a copy, and neither a
    token layer's nor the T2T stem's result changes when the next call reuses the buffers."""
    from backbones import EATokenLayer
    from backbones.mixers.external_attention import double_normalize
    from backbones.stems import TokensToTokenStem

    block = _block("ExternalAttention")
    block.mixer.record_attention = True
    layer = EATokenLayer(36, 16, memory=8).eval()
    stem = TokensToTokenStem(24, token_dim=8, memory=8).eval()
    x, x2 = torch.randn(2, TOKENS, DIM), torch.randn(2, TOKENS, DIM)
    t, t2 = torch.randn(2, 25, 36), torch.randn(2, 25, 36)
    img, img2 = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        with fused.fused_kernels(False):
            want_map, want_layer, want_stem = (block(x), block.mixer.attention)[1], layer(t), stem(img)[0]
        block(x)
        kept_map = block.mixer.attention
        got_layer, got_stem = layer(t), stem(img)[0]
        block(x2), layer(t2), stem(img2)
    torch.testing.assert_close(kept_map, want_map, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_layer, want_layer, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_stem, want_stem, rtol=1e-5, atol=1e-5)
    logits = torch.randn(2, 9, 3, 4)
    out = torch.empty_like(logits)
    assert double_normalize(logits, token_dim=1, out=out) is out
    torch.testing.assert_close(out, double_normalize(logits, token_dim=1))
