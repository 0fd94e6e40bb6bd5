"""Sample grids of trained GAN runs side by side (the generation studies' pictures)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from lab.runs.report import figure, save_png


def sample_grids(by_kind: dict[tuple, list[dict]], path: Path) -> Path | None:
    """Seed 0 (or the lowest seed) of each kind: ``tools/generate.py`` grids side by side."""
    from PIL import Image

    root = Path(__file__).resolve().parents[2]
    grids = []
    for (kind,), runs in by_kind.items():
        run = min(runs, key=lambda r: r["seed"])
        ckpt = Path(run["checkpoint"])
        slug = re.sub(r"\W+", "-", str(kind))
        png = path.with_name(f".grid-{slug}.png")
        proc = subprocess.run([sys.executable, "tools/generate.py", str(ckpt.parents[1] / "config.py"), str(ckpt),
                               "--num", "6", "--out", str(png)], cwd=root, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"tools/generate.py failed for {kind} ({ckpt}):\n{proc.stderr[-1500:]}")
        with Image.open(png) as img:
            grids.append((kind, run["seed"], img.copy()))
        png.unlink()
    if not grids:
        return None
    fig, axes = figure(len(grids), 1.6, 2.9)
    for ax, (kind, seed, img) in zip(axes, grids):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"{kind}\nseed {seed}", fontsize=7)
        ax.axis("off")
    return save_png(fig, path, dpi=120)
