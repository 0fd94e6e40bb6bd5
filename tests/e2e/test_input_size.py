"""The train tool's --input-size on a shipped digits config: the run trains at the new size."""
from __future__ import annotations

from pathlib import Path


def test_train_tool_takes_the_input_size(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    from tests.support import run_tool, small_config

    cfg = small_config(tmp_path, digits, epochs=1, train_images=32)
    log = run_tool("tools/train.py", str(cfg), "--work-dir", str(tmp_path / "w"), "--input-size", "24").stdout
    assert "img_size=24" in log and (tmp_path / "w" / "epoch_1.pth").exists()
