"""Every registered token mixer keeps the (B, N, C) contract, is deterministic and trains every parameter."""
from __future__ import annotations

import pytest
import torch

from backbones import MIXERS, build_mixer
from backbones.segmentation.ea_head import ExternalAttention2d

CONTEXT = dict(dim=32, num_heads=4, num_tokens=17, grid_size=(4, 4), qkv_bias=True, attn_drop=0.0, proj_drop=0.0)


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_shape_determinism_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    mixer = build_mixer(name, **CONTEXT)
    x = torch.randn(3, 17, 32, requires_grad=True)
    kw = {"grid": (4, 4)} if mixer.wants_grid else {}
    y = mixer(x, **kw)
    assert y.shape == x.shape
    mixer.eval()
    with torch.no_grad():
        assert torch.equal(mixer(x, **kw), mixer(x, **kw))
    mixer.train()
    mixer(x, **kw).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for pname, p in mixer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


@pytest.mark.parametrize("name", sorted(MIXERS))
def test_mixer_mixes_tokens(name: str) -> None:
    """Changing one token changes the output of other tokens: the layer really mixes along N. A control that
    declares ``mixes_tokens = False`` (the identity) must leave every other token's output exactly as it was."""
    torch.manual_seed(0)
    mixer = build_mixer(name, **CONTEXT).eval()
    kw = {"grid": (4, 4)} if mixer.wants_grid else {}
    x = torch.randn(1, 17, 32)
    x2 = x.clone()
    x2[:, 5] += 1.0
    with torch.no_grad():
        d = (mixer(x, **kw) - mixer(x2, **kw)).abs()
    if mixer.mixes_tokens:
        assert d[:, [0, 1, 9]].max() > 1e-6
    else:
        assert d[:, [0, 1, 9]].max() == 0 and d[:, 5].max() > 0


def test_unknown_mixer_lists_valid_names() -> None:
    with pytest.raises(KeyError) as err:
        build_mixer("NoSuchAttention", **CONTEXT)
    for name in MIXERS:
        assert name in str(err.value)


def test_mixer_spec_kinds_agree() -> None:
    """A name, a dict and a class reach the same mixer; dict keys override the context."""
    import functools

    from backbones import ReAttention

    for spec in ("ReAttention", dict(type="ReAttention"), ReAttention, functools.partial(ReAttention, num_heads=2)):
        m = build_mixer(spec, **CONTEXT)
        assert isinstance(m, ReAttention)
    assert build_mixer(dict(type="ReAttention", num_heads=2), **CONTEXT).num_heads == 2
    assert build_mixer(functools.partial(ReAttention, num_heads=2), **CONTEXT).num_heads == 2
    with pytest.raises(TypeError):
        build_mixer(dict(type="ReAttention", no_such_arg=1), **CONTEXT)


def test_feedforward_wrong_token_count_names_both() -> None:
    mixer = build_mixer("FeedForwardMixer", **CONTEXT)
    with pytest.raises(ValueError, match=r"built for 17 tokens but got 26"):
        mixer(torch.randn(2, 26, 32), grid=(5, 5))


def test_feedforward_backbone_size_error_names_image_sizes() -> None:
    from backbones import MixerViT

    vit = MixerViT(dict(embed_dims=32, depth=1, mixer="FeedForwardMixer", stem=dict(type="PatchStem", patch_size=4)),
                   img_size=16, out_type="featmap", with_cls_token=False)
    with pytest.raises(ValueError, match=r"built for 16x16 images \(img_size\) and got 24x20: .*16 tokens but got 30"):
        vit(torch.randn(1, 3, 24, 20))


def test_feedforward_resize_rule() -> None:
    """With token_resize the layer runs on another grid; on its own grid the resize is the identity."""
    torch.manual_seed(0)
    mixer = build_mixer(dict(type="FeedForwardMixer", token_resize="bilinear"), **CONTEXT).eval()
    y = mixer(torch.randn(2, 26, 32), grid=(5, 5))
    assert y.shape == (2, 26, 32) and torch.isfinite(y).all()
    same = mixer.resized_weights((4, 4))
    own = [mixer.norm.weight, mixer.norm.bias, mixer.fc1.weight, mixer.fc2.weight, mixer.fc2.bias]
    for a, b in zip(same, own):
        torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="do not match grid"):
        mixer(torch.randn(2, 26, 32), grid=(4, 4))


def test_reattention_transform_is_the_papers() -> None:
    """The batched head mixing + BatchNorm over heads + scale equals DeepViT's 1x1 conv form (eval mode)."""
    torch.manual_seed(0)
    m = build_mixer(dict(type="ReAttention", transform_scale=True), **CONTEXT)
    with torch.no_grad():
        m.head_norm.running_mean.uniform_(-0.1, 0.1)
        m.head_norm.running_var.uniform_(0.5, 2.0)
        m.head_norm.weight.uniform_(0.5, 1.5)
        m.head_norm.bias.uniform_(-0.1, 0.1)
    m.eval()
    attn = torch.rand(2, 4, 17, 17).softmax(-1)
    w, b = m.head_mix.weight, m.head_mix.bias
    mixed = torch.einsum("gh,bhnm->bgnm", w, attn) + b[None, :, None, None]
    want = m.head_norm(mixed) * m.reatten_scale
    torch.testing.assert_close(m.transform_attention(attn), want, rtol=1e-5, atol=1e-6)


def test_external_attention_double_normalisation() -> None:
    """Each memory row of the EA map sums to one over S after the softmax over tokens."""
    m = build_mixer("ExternalAttention", **CONTEXT).eval()
    a = m.attention_maps(torch.randn(2, 17, 32))[0]  # (B, heads, N, S)
    torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)))
    assert a.shape == (2, 16, 17, 64)


@pytest.mark.parametrize(("shape", "token_dim", "memory_dim"), [((2, 7, 3, 5), 1, -1), ((2, 5, 9), 2, 1)])
def test_double_normalize_backward(shape: tuple[int, ...], token_dim: int, memory_dim: int) -> None:
    """The hand-written backward of the double normalisation equals autograd of the two-step form."""
    from backbones.models.mixers.external_attention import double_normalize

    torch.manual_seed(0)
    a = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: double_normalize(t, token_dim, memory_dim), (a,))
    g = torch.randn(*shape, dtype=torch.float64)
    s = a.softmax(dim=token_dim)
    plain = s / (1e-9 + s.sum(dim=memory_dim, keepdim=True))
    ours = double_normalize(a, token_dim, memory_dim)
    torch.testing.assert_close(ours, plain)
    torch.testing.assert_close(torch.autograd.grad(ours, a, g)[0], torch.autograd.grad(plain, a, g)[0])
    with torch.no_grad():
        torch.testing.assert_close(double_normalize(a, token_dim, memory_dim), plain)


@pytest.mark.parametrize(("groups", "bias"), [(1, False), (3, True)])
def test_transposed_memory_map_equals_the_double_normalisation(groups: int, bias: bool) -> None:
    """The inference form's map (G*S, B*N) and read-out equal the training form's (B, N, G, S) ones."""
    from backbones.models.layers.double_norm import double_normalize, memory_map_t, read_map_t

    torch.manual_seed(0)
    b, n, c, s = 2, 7, 6, 5
    x, w, v = torch.randn(b, n, c), torch.randn(groups * s, c), torch.randn(4, groups * s)
    bw, bv = (torch.randn(groups * s) if bias else None), torch.randn(4)
    want = double_normalize(torch.nn.functional.linear(x, w, bw).view(b, n, groups, s), token_dim=1)
    got = memory_map_t(x, w, bw, groups)
    torch.testing.assert_close(got, want.reshape(b * n, groups * s).t())
    torch.testing.assert_close(read_map_t(got, v, bv, b), torch.nn.functional.linear(want.reshape(b, n, -1), v, bv))


def test_external_attention_2d_unit() -> None:
    torch.manual_seed(0)
    unit = ExternalAttention2d(16)
    torch.testing.assert_close(unit.linear_1.weight[:, :, 0], unit.linear_0.weight[:, :, 0].t())
    x = torch.randn(2, 16, 5, 7, requires_grad=True)
    y = unit(x)
    assert y.shape == x.shape and (y >= 0).all()
    y.sum().backward()
    for name, p in unit.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dropout_keeps_nn_dropout_semantics() -> None:
    from backbones.models.layers import Dropout

    torch.manual_seed(0)
    x = torch.randn(64, 1000, requires_grad=True)
    d = Dropout(0.25)
    y = d(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.75) < 0.01  # Bernoulli(1 - p) mask
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)
    assert d.eval()(x) is x and Dropout(0.0).train()(x) is x
    assert (Dropout(1.0).train()(x) == 0).all()


def test_settings_a_mixer_does_not_take_are_refused() -> None:
    """A block setting with a non-neutral value reaches the mixer or fails; geometry is only offered."""
    ff = build_mixer("FeedForwardMixer", **dict(CONTEXT, proj_drop=0.1))
    assert ff.drop.p == 0.1
    with pytest.raises(TypeError, match=r"FeedForwardMixer does not take the block setting attn_drop=0.1"):
        build_mixer("FeedForwardMixer", **dict(CONTEXT, attn_drop=0.1))
    with pytest.raises(TypeError, match=r"SelfAttention does not take the block setting token_resize='bilinear'"):
        build_mixer("SelfAttention", **dict(CONTEXT, token_resize="bilinear"))
    with pytest.raises(TypeError, match="not a block setting"):
        build_mixer("SelfAttention", **dict(CONTEXT, heads=3))
    assert build_mixer("ExternalAttention", **dict(CONTEXT, qkv_bias=True)).heads == 16  # neutral: fine


def test_mixer_classes_declare_their_contract() -> None:
    from backbones.models.mixers import TokenMixer, register_mixer

    class NotAMixer(torch.nn.Module):
        pass

    with pytest.raises(TypeError, match="subclass backbones.models.mixers.TokenMixer"):
        build_mixer(NotAMixer, **CONTEXT)

    class Lying(TokenMixer):
        settings = ("num_heads",)

        def __init__(self, dim: int) -> None:
            super().__init__()

    with pytest.raises(TypeError, match=r"declares settings its constructor does not take: \['num_heads'\]"):
        register_mixer(Lying)
    with pytest.raises(TypeError, match="unknown block settings"):
        type("Odd", (TokenMixer,), {"settings": ("heads",)})
    for cls in MIXERS.values():
        assert issubclass(cls, TokenMixer)


@pytest.mark.parametrize(("dim", "heads", "cheaper"), [(256, 4, True), (32, 4, False)])
def test_external_attention_memory_fold_is_the_same_function(dim: int, heads: int, cheaper: bool) -> None:
    """Through the composed weights or layer by layer: same outputs and gradients of every parameter;
    the default folds exactly when that costs fewer multiply-adds (S <= d)."""
    from backbones import ExternalAttention

    assert ExternalAttention(dim, heads).fold_memories is cheaper
    x = torch.randn(2, 9, dim, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 9, dim, dtype=torch.float64)
    results = []
    for fold in (True, False):
        torch.manual_seed(0)
        m = ExternalAttention(dim, heads, fold_memories=fold).double().train()
        x.grad = None
        y = m(x)
        y.backward(g)
        results.append((y.detach(), [x.grad] + [p.grad for p in m.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b)
