"""The test and export tools in each precision of the deploy form, on a trained digits checkpoint."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from backbones.deploy import PRECISIONS
from tests.support import ROOT


def _tool(*args: str) -> str:
    from tests.support import run_tool

    proc = run_tool(*args)
    return proc.stdout + proc.stderr


def test_test_tool_runs_the_deploy_form_in_each_precision(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    """One trained epoch of the main digits config, tested plain, int8 and bf16 through tools/test.py."""
    from tests.support import small_config

    cfg = small_config(tmp_path, digits, epochs=1)
    _tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "work"))
    ckpt = tmp_path / "work" / "epoch_1.pth"
    top1 = {}
    for precision in PRECISIONS:
        out = _tool("tools/test.py", str(cfg), str(ckpt), "--deploy", "--precision", precision,
                       "--work-dir", str(tmp_path / precision))
        top1[precision] = float(re.findall(r"accuracy/top1: ([0-9.]+)", out)[-1])
        if precision == "int8":
            assert re.search(r"DeployHook: .*deploy form.*, 17 Linears int8 \(0 left in float; activations quantized "
                             r"at run time\)", out), out[-1500:]
    out = _tool("tools/test.py", str(cfg), str(ckpt), "--deploy", "--precision", "int8", "--calibrate", "2",
                "--calibrate-from", "val", "--work-dir", str(tmp_path / "static"))
    # the val set is one batch of 64: the log says so (it claimed 2 batches)
    assert ("17 Linears int8 (0 left in float; activation scales calibrated on 1 batches of the val loader (2 asked "
            "for; the loader has 1))") in out
    top1["static"] = float(re.findall(r"accuracy/top1: ([0-9.]+)", out)[-1])
    assert all(abs(top1[p] - top1["fp32"]) < 5 for p in ("int8", "bf16", "static")), top1
    proc = subprocess.run([sys.executable, "tools/test.py", str(cfg), str(ckpt), "--precision", "int8"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "add --deploy" in proc.stderr
    proc = subprocess.run([sys.executable, "tools/test.py", str(cfg), str(ckpt), "--deploy", "--calibrate", "2"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "calibrates int8 activations" in proc.stderr


def test_export_tool_writes_a_bf16_file_and_refuses_bf16_onnx(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    from tests.support import small_config

    cfg = small_config(tmp_path, digits, epochs=1)
    _tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "work"))
    ckpt = tmp_path / "work" / "epoch_1.pth"
    out = _tool("tools/deploy/export.py", str(cfg), str(ckpt), "--format", "exported", "--deploy", "--precision",
                   "bf16", "--out", str(tmp_path / "m.pt2"))
    assert "bfloat16" in out and re.search(r"top-1 agreement (9\d|100)\.\d%", out), out
    for extra, how in (([], "activations at run time"),
                       (["--calibrate", "2"], "activation scales calibrated on 2 train batches")):
        out = _tool("tools/deploy/export.py", str(cfg), str(ckpt), "--format", "onnx", "--deploy", "--precision",
                    "int8", "--out", str(tmp_path / "m.onnx"), *extra)
        assert re.search(rf"int8: 17 of its 17 weighted products quantized by onnxruntime \({how}", out), out
        assert re.search(r"top-1 agreement (9\d|100)\.\d%", out), out
    proc = subprocess.run([sys.executable, "tools/deploy/export.py", str(cfg), str(ckpt), "--format", "onnx",
                           "--deploy", "--precision", "bf16"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "no bfloat16 kernels" in proc.stderr
