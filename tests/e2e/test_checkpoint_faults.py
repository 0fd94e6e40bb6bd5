"""No checkpoint is lost at any instant of a save, and --resume ends where an uninterrupted run ends.

A 3-epoch digits run keeps one checkpoint (``max_keep_ckpts=1``, the digits schedule's setting). The
second save (epoch 2) is interrupted at each of its steps by tests/support/fault_runs.py: a kill (``os._exit`` in
the forked training process, no clean-up) before the write, mid-write, before the rename, before
``last_checkpoint`` is updated, mid-way through ``last_checkpoint``, before the old checkpoint is removed;
or a full disk (``ENOSPC``). After each: ``last_checkpoint`` names a complete checkpoint that loads, and
``tools/train.py --resume`` finishes with the weights and optimizer state of the uninterrupted run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint import checkpoint_problem, resume_checkpoint
from backbones.engine.checkpoint.safe_load import safe_load
from tests.support import ROOT, assert_same_training_state, run_tool, small_config

#: fault -> the epoch ``last_checkpoint`` names afterwards, and whether a temporary file is left behind.
FAULTS = {
    "before_write": (1, False),
    "mid_write": (1, True),
    "before_rename": (1, True),
    "before_last_checkpoint": (1, False),
    "mid_write_last_checkpoint": (1, True),
    "before_remove_old": (2, False),
    "disk_full": (1, False),
}
EXTRA = """
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=1, save_best=None))
model = dict(backbone=dict(drop_path_rate=0.2))  # random draws: resume must restore the generators too
randomness = dict(seed=3)
"""


def run_faulty(config: Path, work: Path, fault: str, *flags: str) -> tuple[dict, str]:
    """tests/support/fault_runs.py: (exit codes, output)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "tests.support.fault_runs", str(config), str(work), fault, *flags],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return json.loads(proc.stdout.splitlines()[-1]), out


@pytest.fixture(scope="module")
def config(tmp_path_factory, digits: Path) -> Path:  # noqa: ANN001, F811
    return small_config(tmp_path_factory.mktemp("cfg"), digits, extra=EXTRA, train_images=64, epochs=3)


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory) -> dict:  # noqa: ANN001
    """The uninterrupted run's last checkpoint."""
    work = tmp_path_factory.mktemp("reference") / "w"
    codes, out = run_faulty(config, work, "none")
    assert codes == {"fault": 0}, out[-3000:]
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_3.pth"]
    return safe_load(work / "epoch_3.pth")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_in_a_save_loses_nothing(fault: str, config: Path, reference: dict, tmp_path: Path) -> None:
    work = tmp_path / "w"
    codes, out = run_faulty(config, work, fault, "--resume-after")
    assert codes["fault"] == (1 if fault == "disk_full" else 137), out[-3000:]
    if fault == "disk_full":
        assert "No space left on device" in out

    left = Path(f"{work}.after_fault")  # what the fault left
    named = Path((left / "last_checkpoint").read_text().strip())
    assert named.parent == work and checkpoint_problem(left / named.name) is None
    want_epoch, tmp_left = FAULTS[fault]
    assert safe_load(left / named.name)["meta"]["epoch"] == want_epoch
    for ckpt in left.glob("*.pth"):  # every checkpoint on disk is complete
        assert checkpoint_problem(ckpt) is None, ckpt
    assert bool(list(left.glob(".*.tmp"))) == tmp_left

    assert codes["resume"] == 0, out[-3000:]
    assert_same_training_state(safe_load(work / "epoch_3.pth"), reference)
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_3.pth"]  # max_keep_ckpts=1 again
    assert not list(work.glob(".*.tmp"))  # the interrupted write's temporary file was removed
    assert (work / "last_checkpoint").read_text() == str(work / "epoch_3.pth")
    assert stat_mode(work / "epoch_3.pth") == 0o666 & ~current_umask()  # follows the umask


def test_resume_falls_back_when_last_checkpoint_is_empty(config: Path, reference: dict, tmp_path: Path) -> None:
    work = tmp_path / "w"
    codes, out = run_faulty(config, work, "before_write", "--resume-after", "--empty-last-checkpoint")
    assert codes == {"fault": 137, "resume": 0}, out[-3000:]
    assert f"{work / 'last_checkpoint'} is empty; resuming from the newest complete checkpoint " \
           f"{work / 'epoch_1.pth'}" in out
    assert_same_training_state(safe_load(work / "epoch_3.pth"), reference)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _save(path: Path, epoch: int) -> Path:
    torch.save({"meta": {"epoch": epoch}, "state_dict": {"w": torch.full((64,), float(epoch))}}, path)
    return path


def test_resume_checkpoint_choice(tmp_path: Path) -> None:
    """last_checkpoint wins when whole; else the newest complete numbered checkpoint, with the reason."""
    assert resume_checkpoint(tmp_path) == (None, None)  # nothing to resume: train from scratch
    one, two = _save(tmp_path / "epoch_1.pth", 1), _save(tmp_path / "epoch_2.pth", 2)
    record = tmp_path / "last_checkpoint"
    record.write_text(str(one))
    assert resume_checkpoint(tmp_path) == (str(one), None)
    for content, reason in (("", "is empty"), (str(tmp_path / "epoch_9.pth"), "does not exist")):
        record.write_text(content)
        path, warning = resume_checkpoint(tmp_path)
        assert path == str(two) and reason in warning and str(record) in warning
    record.unlink()
    assert resume_checkpoint(tmp_path)[0] == str(two)  # no last_checkpoint, but checkpoints
    three = _save(tmp_path / "epoch_3.pth", 3)
    three.write_bytes(three.read_bytes()[:-100])  # truncated: skipped
    record.write_text(str(three))
    path, warning = resume_checkpoint(tmp_path)
    assert path == str(two) and "is truncated or corrupt" in warning
    for p in (one, two):
        p.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no complete epoch_N.pth"):
        resume_checkpoint(tmp_path)


def _record_hook_events(hook_type: str, tmp_path: Path, monkeypatch) -> list[tuple[str, str]]:  # noqa: ANN001
    """Two epochs through a checkpoint hook (max_keep_ckpts=1, save_best) with a stub runner: the file events."""
    import logging
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.registry import HOOKS

    from backbones.engine.runner import checkpoint_hook as checkpoint_module
    from backbones.utils.files import write_atomic

    events: list[tuple[str, str]] = []

    def save_checkpoint(out_dir: str, filename: str, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        events.append(("save", filename))
        write_atomic(b"checkpoint", Path(out_dir) / filename)

    real_text = checkpoint_module.write_text_atomic
    monkeypatch.setattr(checkpoint_module, "write_text_atomic",
                        lambda text, path: (events.append(("last_checkpoint", Path(text).name)), real_text(text, path)))
    runner = SimpleNamespace(work_dir=str(tmp_path), logger=logging.getLogger("hook-order"), epoch=0, iter=0,
                             message_hub=MessageHub(f"hook-order-{hook_type}"), save_checkpoint=save_checkpoint)
    hook = HOOKS.build(dict(type=hook_type, interval=1, max_keep_ckpts=1, save_best="acc", rule="greater"))
    hook.before_train(runner)
    backend = hook.file_backend
    real_remove = backend.remove
    backend.remove = lambda path: (events.append(("remove", Path(path).name)), real_remove(path))
    for epoch, acc in ((1, 0.5), (2, 0.7)):
        runner.epoch, runner.iter = epoch - 1, 2 * epoch
        hook._save_checkpoint(runner)
        runner.epoch = epoch
        hook._save_best_checkpoint(runner, {"acc": acc})
    return events


def test_checkpoint_hook_writes_before_it_removes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """AtomicCheckpointHook: a checkpoint (numbered or best) is removed only after its successor is saved and
    last_checkpoint names the successor. mmengine's CheckpointHook removes first (the window the fault tests
    would catch)."""
    ours = _record_hook_events("AtomicCheckpointHook", tmp_path / "ours", monkeypatch)
    at = ours.index
    assert at(("remove", "epoch_1.pth")) > at(("last_checkpoint", "epoch_2.pth")) > at(("save", "epoch_2.pth"))
    assert at(("remove", "best_acc_epoch_1.pth")) > at(("save", "best_acc_epoch_2.pth"))
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == ["best_acc_epoch_2.pth", "epoch_2.pth",
                                                                     "last_checkpoint"]
    theirs = _record_hook_events("CheckpointHook", tmp_path / "mmengine", monkeypatch)
    assert theirs.index(("remove", "epoch_1.pth")) < theirs.index(("save", "epoch_2.pth"))
    assert theirs.index(("remove", "best_acc_epoch_1.pth")) < theirs.index(("save", "best_acc_epoch_2.pth"))


def test_surplus_best_checkpoints_keep_the_recorded_one_else_the_newest(tmp_path: Path) -> None:
    from backbones.engine.runner.checkpoint_hook import surplus_best_checkpoints

    names = ["best_accuracy_top1_epoch_2.pth", "best_accuracy_top1_epoch_5.pth", "best_loss_iter_40.pth",
             "best_loss_iter_80.pth", "epoch_5.pth"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    recorded = {str(tmp_path / "best_accuracy_top1_epoch_2.pth")}
    assert [p.name for p in surplus_best_checkpoints(tmp_path, recorded)] == [
        "best_accuracy_top1_epoch_5.pth", "best_loss_iter_40.pth"]
    assert [p.name for p in surplus_best_checkpoints(tmp_path, set())] == [
        "best_accuracy_top1_epoch_2.pth", "best_loss_iter_40.pth"]


def test_resume_removes_a_second_best_checkpoint(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    """A kill between writing a new best checkpoint and removing the one it replaces leaves two; the resumed run
    keeps the one its state records and removes the other, naming it."""
    extra = "default_hooks = dict(checkpoint=dict(interval=1, save_best='accuracy/top1', rule='greater'))\n" \
            "train_cfg = dict(val_interval=1)"
    cfg = small_config(tmp_path, digits, extra=extra, train_images=64, epochs=2)
    work = tmp_path / "w"
    run_tool("tools/train.py", str(cfg), "--work-dir", str(work))
    (best,) = work.glob("best_*.pth")
    orphan = work / "best_accuracy_top1_epoch_9.pth"  # what the killed replacement left
    orphan.write_bytes(best.read_bytes())
    out = run_tool("tools/train.py", str(cfg), "--work-dir", str(work), "--resume")
    assert [p.name for p in work.glob("best_*.pth")] == [best.name]
    assert f"removed {orphan}: a second best checkpoint" in out.stdout + out.stderr


def test_a_kill_after_a_best_save_leaves_one_best_checkpoint(digits: Path, tmp_path: Path) -> None:  # noqa: F811
    """Epoch 1's best checkpoint is saved after epoch_1.pth (validation follows the epoch's save); a kill before
    epoch 2's save leaves it unrecorded by the checkpoint the run resumes from. The resumed run validates again and
    saves its own best one: the unrecorded one is removed then, and the run ends with exactly the best checkpoint
    its state names (it used to keep both, forever)."""
    extra = EXTRA.replace("save_best=None", "save_best='accuracy/top1', rule='greater'") + \
        "train_cfg = dict(max_epochs=3, val_interval=1)\n"
    cfg = small_config(tmp_path, digits, extra=extra, train_images=64, epochs=3)
    work = tmp_path / "w"
    codes, out = run_faulty(cfg, work, "before_write", "--resume-after")
    assert codes == {"fault": 137, "resume": 0}, out[-3000:]
    left = Path(f"{work}.after_fault")
    assert sorted(p.name for p in left.glob("*.pth")) == ["best_accuracy_top1_epoch_1.pth", "epoch_1.pth"]
    assert "best_ckpt" not in safe_load(left / "epoch_1.pth")["message_hub"]["runtime_info"]  # unrecorded

    (best,) = work.glob("best_*.pth")
    state = safe_load(work / "epoch_3.pth")["message_hub"]["runtime_info"]
    assert Path(state["best_ckpt"]).name == best.name and best.name != "best_accuracy_top1_epoch_1.pth"
    assert f"removed {work / 'best_accuracy_top1_epoch_1.pth'}: a second best checkpoint" in out
