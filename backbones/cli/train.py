"""Train any config of the zoo (classification, segmentation, point clouds) with mmengine's Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp] [--allow-partial]
                          [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

``--resume`` alone resumes from the checkpoint ``last_checkpoint`` of the work dir names; if that file is
missing, empty, or names a missing or corrupt checkpoint, from the newest complete ``epoch_N.pth`` /
``iter_N.pth`` there (with a warning). With a path, from that file. Checkpoints are loaded with
torch's weights-only unpickler (:mod:`backbones.safe_loading`): a file that needs code to load is refused.
``load_from`` must fill at least half of the model's keys (else an error names the file and the keys);
``--allow-partial`` accepts any share. Data whose class count is not the model's is refused before training.
``--amp`` is fp16 AMP on a GPU and bfloat16 autocast on the CPU.
Multi-process: tools/dist_train.sh. One run per work dir: the run holds the work dir's lock
(``WorkDirLockHook``); a second training on the same folder is refused naming the folder and the holder's pid.
"""
from __future__ import annotations

import os.path as osp

import backbones  # noqa: F401  (registries, hooks)
import backbones.safe_loading  # noqa: F401  (mmengine loads checkpoints with the safe loader)
from backbones.cli import common


def main(argv: list[str] | None = None) -> None:
    """Train."""
    import torch

    from backbones.engine.checkpoint.resume import is_remote

    args = common.parse_args(argv, description=__doc__)
    cfg = common.load_config(args)
    if args.amp:
        wrapper = cfg.optim_wrapper.get("type", "OptimWrapper")
        if wrapper not in ("OptimWrapper", "AmpOptimWrapper", "CPUAutocastOptimWrapper"):
            raise SystemExit(f"error: --amp cannot replace optim_wrapper type {wrapper!r}")
        if torch.cuda.is_available():
            cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale = "AmpOptimWrapper", "dynamic"
        else:
            cfg.optim_wrapper.type = "CPUAutocastOptimWrapper"
    if args.allow_partial:
        common.allow_partial_load_from(cfg)
    if args.resume == "auto":  # the checkpoint hook chooses (backbones.engine.checkpoint.resume_checkpoint)
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if is_remote(args.resume):
            raise SystemExit(f"error: --resume {args.resume}: a run resumes only from local checkpoints")
        if not osp.isfile(args.resume):
            raise SystemExit(f"error: --resume checkpoint {args.resume} does not exist")
        cfg.resume, cfg.load_from = True, args.resume
    from backbones.engine.runner.checkpoint_hook import interrupts_kept
    from backbones.engine.runner.work_dir_lock import WorkDirBusyError, release_work_dir_locks

    common.add_hook(cfg, "WorkDirLockHook")  # one run per work dir
    common.add_hook(cfg, "ClassCountCheckHook")  # data and model agree on the class count
    with common.process_group_teardown(), common.checkpoint_errors(), interrupts_kept():
        runner = common.build_runner(cfg)
        try:
            runner.train()
        except WorkDirBusyError as e:
            raise SystemExit(f"error: {e}") from None
        finally:  # an exception or Ctrl-C: the lock is released here (a killed process's by the kernel)
            release_work_dir_locks(runner)


def cli() -> None:
    """The console entry point: :func:`main`, then the end of a worker process."""
    main()
    common.leave_worker()


if __name__ == "__main__":
    cli()
