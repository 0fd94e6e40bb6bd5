"""The analysis commands (attention similarity, attention overlay, FLOPs) and the user benchmark on a digits
config and checkpoint."""
from __future__ import annotations

from pathlib import Path

import torch

from tests.support import ROOT

DIGITS_RA = ROOT / "configs/classification/digits/mixervit_reattention-p4-w96-d4_1xb64-40e_digits-32px.py"


def test_analysis_tools_end_to_end(tmp_path, digits) -> None:  # noqa: ANN001, F811
    """The analysis commands (attention similarity, attention overlay, FLOPs) on a digits config and checkpoint."""
    from backbones.apis.loading import load_model
    from backbones.cli import attention_similarity, vis_attention
    from backbones.cli import flops as get_flops
    from tests.support import small_config

    cfg_path = small_config(tmp_path, digits, base=DIGITS_RA)
    _, model = load_model(str(cfg_path), None)
    ckpt = tmp_path / "model.pth"
    torch.save({"state_dict": model.state_dict()}, ckpt)
    result = attention_similarity.main([str(cfg_path), str(ckpt), "--images", "8", "--out", str(tmp_path / "s.png")])
    assert len(result["adjacent"]) == 3 and result["images"] == 8 and (tmp_path / "s.png").stat().st_size > 0
    image = next((digits / "val" / "3").iterdir())
    out = vis_attention.main([str(cfg_path), str(ckpt), str(image), "--out", str(tmp_path / "v.png")])
    assert Path(out).stat().st_size > 0
    rows = get_flops.main([str(cfg_path), "--shape", "32", "32"])
    assert rows[0]["params"] == sum(p.numel() for p in model.parameters()) and rows[0]["gflops"] > 0


def test_user_benchmark_prints_the_machine_and_both_forms(capsys) -> None:  # noqa: ANN001
    """tools/analysis/benchmark.py (backbones.cli.benchmark): the CPU, its flags, the GEMM rate of each precision,
    then the plain and the deploy form's time (float32 and int8), with the share of that precision's GEMM rate."""
    import re

    from backbones.cli.benchmark import main
    from backbones.utils.machine import cpu_flags

    assert main(["vit-tiny", "--batch", "2", "--img", "32", "--iters", "2", "--warmup", "1", "--precisions", "fp32",
                 "int8"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^CPU .+; flags .+; \d+ thread\(s\); GEMM rate: fp32 [0-9.]+ GFLOP/s \((2048|512)\^3\), "
                     r"int8 [0-9.]+ GOP/s \((2048|512)\^3\)$", out, re.M), out
    for form, precision in (("plain", "fp32"), ("deploy", "fp32"), ("deploy int8", "int8")):
        assert re.search(rf"^vit-tiny {form}: [0-9.]+ ms per batch of 2 .* images/s, \d+ GFLOP/s \(\d+% of the "
                         rf"{precision} GEMM rate\)$", out, re.M), out
    assert set(cpu_flags()) <= {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16",
                                "amx_int8"}
