"""Train any config of the zoo (classification, segmentation, point clouds) with mmengine's Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp]
                          [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

``--resume`` alone resumes from the checkpoint ``last_checkpoint`` of the work dir names; if that file is
missing, empty, or names a missing or corrupt checkpoint, from the newest complete ``epoch_N.pth`` /
``iter_N.pth`` there (with a warning). With a path, from that file. Checkpoints are loaded with
torch's weights-only unpickler (:mod:`backbones.safe_loading`): a file that needs code to load is refused.
``--amp`` is fp16 AMP on a GPU and bfloat16 autocast on the CPU. Multi-process: tools/dist_train.sh.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import os.path as osp
import sys
from collections.abc import Iterator

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout without install

import backbones  # noqa: E402,F401  (registries, hooks)
import backbones.safe_loading  # noqa: E402,F401  (mmengine loads checkpoints with the safe loader)


def parse_args(argv: list[str] | None = None, test: bool = False) -> argparse.Namespace:
    """The flags shared by train.py and test.py (OpenMMLab's)."""
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="config file")
    if test:
        parser.add_argument("checkpoint", help="checkpoint file")
        parser.add_argument("--out", help="dump the predictions to this file (.pkl or .json)")
        parser.add_argument("--show-dir", help="write visualised predictions (PNG) to this folder")
        parser.add_argument("--allow-partial", action="store_true",
                            help="load only the checkpoint keys that match the model (default: any missing, "
                                 "unknown or mis-shaped key is an error)")
        parser.add_argument("--deploy", action="store_true",
                            help="test the model converted for deployment (backbones.deploy.convert_to_deploy, "
                                 "after the checkpoint is loaded)")
    else:
        parser.add_argument("--resume", nargs="?", type=str, const="auto",
                            help="resume from CHECKPOINT, or from the latest one in the work dir if none is given")
        parser.add_argument("--amp", action="store_true", help="mixed precision (bfloat16 autocast on CPU)")
    parser.add_argument("--work-dir", help="folder for logs and checkpoints")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def load_config(args: argparse.Namespace):  # noqa: ANN201
    """Config with the command-line overrides, work dir and launcher applied."""
    import torch
    from mmengine.config import Config

    from backbones.runner.config import resolve_auto_num_classes

    if not osp.isfile(args.config):
        raise SystemExit(f"error: config file {args.config} does not exist")
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    resolve_auto_num_classes(cfg)
    if not torch.cuda.is_available() and cfg.get("env_cfg", {}).get("dist_cfg") is not None:
        cfg.env_cfg.dist_cfg.backend = "gloo"  # CPU-only machine: NCCL is unavailable
    return cfg


def build_runner(cfg):  # noqa: ANN001, ANN201
    """mmengine's Runner, or the config's own ``runner_type``.

    On a CPU-only machine the process group of the 'pytorch' launcher is created here with gloo:
    mmengine's own ``init_dist`` calls ``torch.cuda.set_device`` unconditionally.
    """
    import torch
    import torch.distributed as dist
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if cfg.launcher != "none" and not torch.cuda.is_available():
        cfg.setdefault("model_wrapper_cfg", dict(type="CPUDistributedDataParallel"))
        if cfg.launcher == "pytorch" and not dist.is_initialized():
            dist.init_process_group(backend="gloo")

    return Runner.from_cfg(cfg) if "runner_type" not in cfg else RUNNERS.build(cfg)


@contextlib.contextmanager
def process_group_teardown() -> Iterator[None]:
    """Destroy the process group when the run ends, so that no gloo thread is still joinable while the
    interpreter exits (a rank then aborted with "terminate called without an active exception" after a
    finished run, once under CI load)."""
    try:
        yield
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def leave_worker() -> None:
    """End a finished worker of a multi-process run (torchrun sets WORLD_SIZE > 1) with ``os._exit(0)`` once
    logs and streams are flushed: the interpreter's teardown can abort a rank whose C++ threads are still
    joinable, and everything the run writes is complete by then. A single process returns normally.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Train."""
    import torch

    from backbones.checkpoint.resume import is_remote

    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        wrapper = cfg.optim_wrapper.get("type", "OptimWrapper")
        if wrapper not in ("OptimWrapper", "AmpOptimWrapper", "CPUAutocastOptimWrapper"):
            raise SystemExit(f"error: --amp cannot replace optim_wrapper type {wrapper!r}")
        if torch.cuda.is_available():
            cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale = "AmpOptimWrapper", "dynamic"
        else:
            cfg.optim_wrapper.type = "CPUAutocastOptimWrapper"
    if args.resume == "auto":  # the checkpoint hook chooses (backbones.checkpoint.resume_checkpoint)
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if is_remote(args.resume):
            raise SystemExit(f"error: --resume {args.resume}: a run resumes only from local checkpoints")
        if not osp.isfile(args.resume):
            raise SystemExit(f"error: --resume checkpoint {args.resume} does not exist")
        cfg.resume, cfg.load_from = True, args.resume
    with process_group_teardown(), checkpoint_errors():
        build_runner(cfg).train()


@contextlib.contextmanager
def checkpoint_errors() -> Iterator[None]:
    """Turn a refused, unreadable or mismatched checkpoint into ``SystemExit('error: ...')`` (the message
    names the file and the refused global, or the keys)."""
    from backbones.checkpoint import CheckpointReadError, UnsafeCheckpointError

    try:
        yield
    except (UnsafeCheckpointError, CheckpointReadError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
    leave_worker()
