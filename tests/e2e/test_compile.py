"""The compiled inference path (torch.compile of the deploy form) computes what eager computes and keeps the
module tree."""
from __future__ import annotations

import pytest
import torch

from backbones import convert_to_deploy
from lab.reference import randomize_


def test_the_compiled_inference_path_matches_eager_and_keeps_the_module_tree() -> None:
    """``compile_for_inference`` compiles an OpenMMLab model's parts in place: the same outputs as the eager
    deploy form (another batch too, a recompilation), the same ``state_dict`` keys, the weights frozen into
    the generated code (not graph inputs: ``torch.compile(options={"freezing": True})`` alone leaves them
    inputs); a training model and a second compilation are refused."""
    from mmengine.config import Config
    from torch._inductor.utils import run_and_get_code

    from backbones.deploy.compile import compile_for_inference, is_compiled
    from backbones.engine.runner.config import build_model
    from tests.support import ROOT

    digits = ROOT / "configs/classification/digits"
    cfg = Config.fromfile(digits / "mixervit_externalattention-p4-w96-d4_1xb64-40e_digits-32px.py")
    torch.manual_seed(0)
    model = randomize_(build_model(cfg))
    with pytest.raises(ValueError, match="training mode"):
        compile_for_inference(model)
    model = convert_to_deploy(model.eval())
    keys = list(model.state_dict())
    x, other = torch.randn(4, 3, 32, 32), torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        want, want_other = model(x, mode="tensor"), model(other, mode="tensor")
        compile_for_inference(model)
        got, code = run_and_get_code(model, x, mode="tensor")
        got_other = model(other, mode="tensor")
    assert list(model.state_dict()) == keys
    assert type(model.backbone).__name__ == "MixerViT" and is_compiled(model.backbone) and is_compiled(model.head)
    assert any("_frozen_param" in source for source in code), "the compiled code reads the weights as inputs"
    with pytest.raises(ValueError, match="compiled already"):
        compile_for_inference(model)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got_other, want_other, rtol=1e-4, atol=1e-5)
