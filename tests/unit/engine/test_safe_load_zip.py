"""The safe loader fails closed and bounded on crafted zip files (issue 42, items 1-2): a file on which Python's
zipfile and torch's reader disagree is refused (never a fallback that checks less), a directory or a device is named
for what it is (the bounded load of a zip bomb: tests/e2e/test_safe_load_bounded.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint import CheckpointReadError, safe_load
from backbones.engine.checkpoint.resume import checkpoint_problem
from tests.support.crafted import crc_bypass, weights, write_zip, zip_entries


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


def test_mmengine_schemes_refuse_a_checkpoint_that_is_not_a_dict(tmp_path: Path) -> None:
    """A list saved as a checkpoint: mmengine's loading (tools/test.py, load_from) says what the file holds instead of
    a traceback from inside mmengine."""
    from mmengine.runner.checkpoint import CheckpointLoader

    torch.save([torch.ones(2)], tmp_path / "list.pth")
    with pytest.raises(CheckpointReadError, match=r"list\.pth holds a list, not a dict"):
        CheckpointLoader.load_checkpoint(str(tmp_path / "list.pth"))
