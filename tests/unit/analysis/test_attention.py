"""The attention-collapse measure: identical blocks give similarity 1, random blocks do not."""
from __future__ import annotations

import pytest
import torch

from backbones import MixerViT
from backbones.analysis.attention import block_similarity, collect_maps, similar_blocks, token_affinity


def test_similarity_of_identical_and_random_maps() -> None:
    torch.manual_seed(0)
    a = torch.rand(2, 3, 10, 10).softmax(-1)
    sim = block_similarity([a, a.clone(), a.clone()])
    torch.testing.assert_close(sim, torch.ones(3, 3))
    assert similar_blocks(sim) == 2
    rand = block_similarity([torch.rand(2, 3, 10, 10).softmax(-1) for _ in range(3)])
    assert rand[0, 1] < 0.99 and similar_blocks(rand, threshold=0.999) == 0


@pytest.mark.parametrize("mixer,attr", [("SelfAttention", "qkv"), ("ReAttention", "qkv"),
                                        ("ExternalAttention", "trans_dims")])
def test_model_with_collapsed_blocks(mixer: str, attr: str) -> None:
    """Zeroing the map-producing weights makes every block's map the same: similarity 1 everywhere."""
    torch.manual_seed(0)
    arch = dict(embed_dims=32, depth=3, num_heads=2, mixer=mixer, stem=dict(type="PatchStem", patch_size=8))
    model = MixerViT(arch, img_size=32).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():  # trained-like weights (the 0.02 init gives near-uniform maps everywhere)
        for blk in model.blocks:
            for w in blk.mixer.parameters():
                if w.dim() == 2:
                    w.normal_(0, 0.5)
    random_sim = block_similarity(collect_maps(model, x))
    assert random_sim[0, 1] < 0.99
    with torch.no_grad():  # identical mixers whose maps do not depend on the input
        getattr(model.blocks[0].mixer, attr).weight.zero_()
        getattr(model.blocks[0].mixer, attr).bias.zero_()
        for blk in model.blocks[1:]:
            blk.mixer.load_state_dict(model.blocks[0].mixer.state_dict())
    sim = block_similarity(collect_maps(model, x))
    torch.testing.assert_close(sim, torch.ones(3, 3), rtol=0, atol=1e-5)
    assert similar_blocks(sim) == 2


def test_ff_has_no_attention_map() -> None:
    model = MixerViT(dict(preset="ff-tiny", depth=1), img_size=32)
    with pytest.raises(ValueError, match="no mixer with an attention map"):
        collect_maps(model, torch.randn(1, 3, 32, 32))


def test_external_affinity_rows_sum_to_one() -> None:
    aff = token_affinity(torch.rand(2, 4, 9, 5))
    assert aff.shape == (2, 4, 9, 9)
    torch.testing.assert_close(aff.sum(-1), torch.ones(2, 4, 9))


@pytest.mark.parametrize("mixer", ["SelfAttention", "ReAttention", "ExternalAttention"])
def test_maps_are_read_by_hooks_and_leave_the_model_as_it_was(mixer: str) -> None:
    """The captured map is the one that weights the values (the block's output is rebuilt from it), and the model
    keeps no hook and no state afterwards."""
    from backbones.analysis.attention import capture_maps
    from backbones.models.mixers.self_attention import merge_heads, split_heads

    torch.manual_seed(0)
    arch = dict(embed_dims=32, depth=2, num_heads=2, mixer=mixer, stem=dict(type="PatchStem", patch_size=8))
    model = MixerViT(arch, img_size=32).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    model.blocks[0].mixer.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    with capture_maps(model) as found, torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    (x, out), (attn, raw) = seen[0], found[0][0]
    m = model.blocks[0].mixer
    if mixer != "ExternalAttention":
        v = split_heads(m.qkv(x), 3, m.num_heads)[2]
        torch.testing.assert_close(m.proj(merge_heads(attn @ v)), out)
        assert (mixer == "SelfAttention") == torch.equal(attn, raw)
    else:
        b, n, _ = x.shape
        torch.testing.assert_close(m.proj(m.linear_1(attn.permute(0, 2, 1, 3)).reshape(b, n, -1)), out)
    assert all(not mod._forward_pre_hooks for mod in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not any(hasattr(mod, "attention") or hasattr(mod, "record_attention") for mod in model.modules())
