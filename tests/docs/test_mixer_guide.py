"""The worked example of docs/adding_a_mixer.md runs as written: it registers, builds in MixerViT, converts through
its own folded form (defined in the example alone) to the plain model's outputs."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.support import ROOT

CHECK = """
import torch
from backbones import MIXERS, convert_to_deploy
assert "PoolingMixer" in MIXERS
torch.manual_seed(0)
model = MixerViT(arch="vit-tiny", mixer="PoolingMixer", img_size=64).eval()
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    for blk in model.blocks:  # trained-looking norms: the fold of gamma and the cancelled beta both matter
        blk.norm1.weight.uniform_(0.5, 1.5)
        blk.norm1.bias.uniform_(-1, 1)
    want = model(x)[-1]
    deployed = convert_to_deploy(model)
    got = deployed(x)[-1]
assert sum(type(m).__name__ == "PoolingBranch" for m in deployed.modules()) == 12
torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
print("guide ok")
"""


def test_adding_a_mixer_example_runs() -> None:
    text = (ROOT / "docs" / "adding_a_mixer.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2, "the guide lost its code"
    # a fresh process: the example registers a mixer, which must not leak into other tests' registry
    proc = subprocess.run([sys.executable, "-c", "\n".join(blocks) + CHECK], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "guide ok" in proc.stdout, proc.stderr[-3000:]
