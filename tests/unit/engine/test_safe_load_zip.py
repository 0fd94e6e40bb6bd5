"""The safe loader fails closed and bounded on crafted zip files (issue 42, items 1-2): a file on which Python's
zipfile and torch's reader disagree is refused (never a fallback that checks less), entries torch never reads are not
inflated, and the load's peak memory stays near torch's own."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint import CheckpointReadError, safe_load
from backbones.engine.checkpoint.resume import checkpoint_problem
from tests.support import ROOT
from tests.support.crafted import crc_bypass, write_zip, zip_bomb, zip_entries


def weights(path: Path, n: int = 4096) -> Path:
    torch.save({"state_dict": {"w": torch.arange(n, dtype=torch.float32)}, "meta": {"epoch": 1}}, path)
    return path


def test_crc_bypass_through_a_second_zip_reading_is_refused(tmp_path: Path) -> None:
    bad = crc_bypass(weights(tmp_path / "good.pth"), tmp_path / "bypass.pth")
    loaded = torch.load(bad, weights_only=True)["state_dict"]["w"]  # torch alone loads the flipped weight silently
    assert loaded[0] != 0 and torch.equal(loaded[1:], torch.arange(1, 4096, dtype=torch.float32))
    with pytest.raises(CheckpointReadError, match=r"bypass\.pth refused: .*zz"):
        safe_load(bad)
    assert checkpoint_problem(bad) is not None  # --resume does not choose it either


def test_stored_entries_that_disagree_or_are_compressed_are_refused(tmp_path: Path) -> None:
    entries = zip_entries(weights(tmp_path / "good.pth"))
    prefix = entries[0]["name"].split("/")[0]
    import zlib

    pickled = next(e for e in entries if e["name"].endswith("/data.pkl"))
    pack = zlib.compressobj(9, zlib.DEFLATED, -15)
    pickled["deflated"] = pack.compress(pickled["data"]) + pack.flush()
    write_zip(tmp_path / "deflated.pth", entries)
    assert torch.load(tmp_path / "deflated.pth", weights_only=True)["meta"] == {"epoch": 1}  # torch inflates it
    with pytest.raises(CheckpointReadError, match=rf"deflated\.pth refused: entry {prefix}/data\.pkl is compressed"):
        safe_load(tmp_path / "deflated.pth")
    (tmp_path / "junk.pth").write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(CheckpointReadError, match=r"junk\.pth cannot be read: torch's zip reader fails on it"):
        safe_load(tmp_path / "junk.pth")


def test_special_paths_are_named_for_what_they_are(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=r"is a directory; expected a checkpoint file"):
        safe_load(tmp_path)
    with pytest.raises(CheckpointReadError, match=r"/dev/zero is not a regular file"):
        safe_load("/dev/zero")
    with pytest.raises(FileNotFoundError, match=r"missing\.pth does not exist"):
        safe_load(tmp_path / "missing.pth")


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


def test_mmengine_schemes_refuse_a_checkpoint_that_is_not_a_dict(tmp_path: Path) -> None:
    """A list saved as a checkpoint: mmengine's loading (tools/test.py, load_from) says what the file holds instead of
    a traceback from inside mmengine."""
    from mmengine.runner.checkpoint import CheckpointLoader

    torch.save([torch.ones(2)], tmp_path / "list.pth")
    with pytest.raises(CheckpointReadError, match=r"list\.pth holds a list, not a dict"):
        CheckpointLoader.load_checkpoint(str(tmp_path / "list.pth"))
