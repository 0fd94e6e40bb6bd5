"""The safe loader is bounded on a zip bomb: a fresh process refuses it without inflating it (peak memory against
torch's own load)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT
from tests.support.crafted import weights, zip_bomb

PEAK = """
import json, resource, sys, time, torch
import backbones
from backbones.engine.checkpoint import safe_load
path, how = sys.argv[1], sys.argv[2]
start, base = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    (safe_load(path) if how == 'safe' else torch.load(path, weights_only=True))
    outcome = 'loaded'
except Exception as e:
    outcome = f'{type(e).__name__}: {e}'
print(json.dumps(dict(outcome=outcome, seconds=time.perf_counter() - start,
                      grew_mib=(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)))
"""


def peak(path: Path, how: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PEAK, str(path), how], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    """A 64 MB checkpoint with 1 GiB of zeros deflated into an entry torch never reads: torch loads it; the safe loader
    refuses it naming the entry, and its peak memory stays within 2x of torch's own load of the clean file."""
    good = weights(tmp_path / "good.pth", n=16 << 20)
    bomb = zip_bomb(good, tmp_path / "bomb.pth", mib=1024)
    assert bomb.stat().st_size < good.stat().st_size + (2 << 20)
    clean, plain, safe = peak(good, "torch"), peak(bomb, "torch"), peak(bomb, "safe")
    assert clean["outcome"] == plain["outcome"] == "loaded", (clean, plain)
    assert safe["outcome"].startswith("CheckpointReadError") and "bomb.pkl is compressed" in safe["outcome"], safe
    assert safe["grew_mib"] < 2 * max(clean["grew_mib"], 64), (safe, clean)
    assert peak(good, "safe")["grew_mib"] < 2 * max(clean["grew_mib"], 64)
