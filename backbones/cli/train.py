"""The train tool: ``backbones-train`` (flags and help: :func:`backbones_cli.parsers.train`)."""
from __future__ import annotations

import os.path as osp

import backbones  # noqa: F401  (registries, hooks, the safe checkpoint loaders)
from backbones.cli import common


def main(argv: list[str] | None = None) -> None:
    """Train."""
    import torch

    from backbones.engine.checkpoint.resume import is_remote

    args = common.parse_args(argv)
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
