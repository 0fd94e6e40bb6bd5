"""The engine layer: atomic writes, the RNG-state and Precise-BN hooks, CPU autocast, num_classes='auto'."""
from __future__ import annotations

import os
import pickle
import re
import stat
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

import backbones  # noqa: F401  (registers the hooks and the atomic_local backend)
from backbones.engine.optim import CPUAutocastOptimWrapper
from backbones.engine.runner.config import resolve_auto_num_classes


def test_interrupted_checkpoint_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """mmengine's save_checkpoint through the ``atomic_local`` backend: dying mid-write changes nothing; the
    file follows the umask."""
    from mmengine.runner.checkpoint import save_checkpoint

    from backbones.utils import files as atomic

    target, backend = tmp_path / "epoch_1.pth", dict(backend="atomic_local")
    old_umask = os.umask(0o027)
    try:
        save_checkpoint({"state_dict": {"w": torch.ones(3)}}, str(target), backend_args=backend)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # 0666 & ~umask, not mkstemp's 0600
    before = target.read_bytes()

    def killed(fd: int) -> None:  # the process dies after the bytes are written, before the rename
        raise OSError("killed")

    monkeypatch.setattr(atomic.os, "fsync", killed)
    with pytest.raises(OSError, match="killed"):
        save_checkpoint({"state_dict": {"w": torch.zeros(1000)}}, str(target), backend_args=backend)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pth"]  # no temporary file left
    monkeypatch.undo()
    save_checkpoint({"state_dict": {"w": torch.zeros(1000)}}, str(target), backend_args=backend)
    assert torch.load(target, weights_only=True)["state_dict"]["w"].shape == (1000,)


def test_remove_stale_temporaries_takes_only_the_writer_s_files(tmp_path) -> None:  # noqa: ANN001
    from backbones.utils.files import remove_stale_temporaries

    names = [".epoch_2.pth.0a1b2c3d.tmp", ".last_checkpoint.deadbeef.tmp", ".notes.txt.00000000.tmp",
             "epoch_1.pth", ".hidden.tmp", "x.0a1b2c3d.tmp"]
    for n in names:
        (tmp_path / n).write_text("x")
    removed = remove_stale_temporaries(tmp_path, re.compile(r".+\.pth|last_checkpoint"))
    assert sorted(p.name for p in removed) == [".epoch_2.pth.0a1b2c3d.tmp", ".last_checkpoint.deadbeef.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(set(names) - {p.name for p in removed})


def test_dump_results_is_atomic(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """tools/test.py --out: a failed dump leaves the previous file."""
    from backbones.engine.runner import AtomicDumpResults
    from backbones.utils import files as atomic

    out = tmp_path / "preds.pkl"
    metric = AtomicDumpResults(out_file_path=str(out))
    metric.compute_metrics([{"a": 1}])
    assert pickle.loads(out.read_bytes()) == [{"a": 1}]
    monkeypatch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        metric.compute_metrics([{"a": 2}])
    assert pickle.loads(out.read_bytes()) == [{"a": 1}] and [p.name for p in tmp_path.iterdir()] == ["preds.pkl"]


def test_cpu_autocast_wrapper_runs_in_bfloat16() -> None:
    model = torch.nn.Linear(4, 4)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        y = model(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16
    wrapper.update_params(y.float().sum())


def test_auto_num_classes(tmp_path) -> None:  # noqa: ANN001
    for c in ("a", "b", "c"):
        (tmp_path / "train" / c).mkdir(parents=True)
    cfg = Config(dict(model=dict(head=dict(num_classes="auto"), data_preprocessor=dict(num_classes="auto")),
                      train_dataloader=dict(dataset=dict(type="RepeatDataset", times=2, dataset=dict(
                          data_root=str(tmp_path), data_prefix="train")))))
    assert resolve_auto_num_classes(cfg) == 3
    assert cfg.model.head.num_classes == 3 and cfg.model.data_preprocessor.num_classes == 3
    fixed = Config(dict(model=dict(head=dict(num_classes=5)), train_dataloader=dict(dataset=dict(data_root="x"))))
    assert resolve_auto_num_classes(fixed) is None and fixed.model.head.num_classes == 5
    listed = Config(dict(model=dict(head=dict(num_classes="auto")),
                         train_dataloader=dict(dataset=dict(data_root="x", classes=["p", "q"]))))
    assert resolve_auto_num_classes(listed) == 2


def test_replace_between_markers(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from lab.runs.report import replace_between_markers

    doc = tmp_path / "README.md"
    doc.write_text("intro\n<!-- t:start -->\nold table\n<!-- t:end -->\noutro\n")
    replace_between_markers(doc, "<!-- t:start -->", "<!-- t:end -->", "| new |")
    assert doc.read_text() == "intro\n<!-- t:start -->\n| new |\n<!-- t:end -->\noutro\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary file left
    with pytest.raises(SystemExit, match="README.md has no <!-- x -->"):
        replace_between_markers(doc, "<!-- x -->", "<!-- t:end -->", "y")


class _BNModel(torch.nn.Module):
    """(B, 4) -> BN -> Linear; the mmengine model interface the hook needs (data_preprocessor, mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(4)
        self.drop = torch.nn.Dropout(0.9)  # must be off while the statistics are gathered
        self.fc = torch.nn.Linear(4, 1)

    def data_preprocessor(self, data: list, training: bool) -> dict:  # noqa: FBT001
        return dict(inputs=data)

    def forward(self, inputs: torch.Tensor, mode: str = "tensor") -> torch.Tensor:
        return self.fc(self.bn(self.drop(inputs)))


def _runner_stub(dataset: list, model: torch.nn.Module, batch_size: int) -> SimpleNamespace:
    import logging

    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=torch.stack)
    return SimpleNamespace(model=model, train_loop=SimpleNamespace(dataloader=loader),
                           logger=logging.getLogger("test"))


def test_precise_bn_stats_hook_recomputes_statistics() -> None:
    from backbones.engine.runner import PreciseBNStatsHook

    torch.manual_seed(0)
    data = list(torch.randn(256, 4) * 2.0 + 3.0)
    model = _BNModel().train()
    PreciseBNStatsHook(num_samples=256).recompute(_runner_stub(data, model, 32))
    stacked = torch.stack(data)
    torch.testing.assert_close(model.bn.running_mean, stacked.mean(0), rtol=0, atol=1e-5)
    torch.testing.assert_close(model.bn.running_var, stacked.var(0), rtol=0.02, atol=0)  # mean of batch variances
    assert model.training and model.bn.momentum == 0.1  # modes and momentum restored


def test_precise_bn_stats_hook_fails_without_data() -> None:
    from backbones.engine.runner import PreciseBNStatsHook

    with pytest.raises(RuntimeError, match="no batch"):
        PreciseBNStatsHook().recompute(_runner_stub([], _BNModel().train(), 8))
