"""What tools/train.py and tools/test.py share: OpenMMLab's flags, the config with the command line applied, the
runner (CPU-only multi-process set-up included), checkpoint errors as clean exits, and the end of a worker."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import os.path as osp
import sys
from collections.abc import Iterator

from backbones_cli import parsers


def parse_args(argv: list[str] | None = None, test: bool = False) -> argparse.Namespace:
    """The flags of the train tool (``test=False``) and the test tool (``test=True``): :mod:`backbones_cli.parsers`."""
    args = (parsers.test if test else parsers.train)().parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def load_config(args: argparse.Namespace):  # noqa: ANN201
    """Config with the command-line overrides, work dir and launcher applied."""
    import torch
    from mmengine.config import Config

    from backbones.engine.runner.config import resolve_auto_num_classes

    if not osp.isfile(args.config):
        raise SystemExit(f"error: config file {args.config} does not exist")
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if getattr(args, "input_size", None):
        from backbones.engine.runner.config import set_input_size

        set_input_size(cfg, args.input_size)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    resolve_auto_num_classes(cfg)
    if not torch.cuda.is_available() and cfg.get("env_cfg", {}).get("dist_cfg") is not None:
        cfg.env_cfg.dist_cfg.backend = "gloo"  # CPU-only machine: NCCL is unavailable
    return cfg


def add_hook(cfg, hook_type: str) -> None:  # noqa: ANN001
    """Append ``dict(type=hook_type)`` to ``cfg.custom_hooks`` unless the config already has a hook of that type."""
    hooks = [*(cfg.get("default_hooks") or {}).values(), *(cfg.get("custom_hooks") or [])]
    if not any(isinstance(h, dict) and h.get("type") == hook_type for h in hooks):
        cfg.custom_hooks = [*cfg.get("custom_hooks", []), dict(type=hook_type)]


def allow_partial_load_from(cfg) -> None:  # noqa: ANN001
    """Let ``load_from`` fill any share of the model's keys (the zoo's checkpoint hook refuses fewer than half)."""
    hook = (cfg.get("default_hooks") or {}).get("checkpoint") or {}
    if hook.get("type") == "AtomicCheckpointHook":
        hook["load_from_min_share"] = 0.0


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

    from backbones.utils.allocator import active_allocator

    runner = Runner.from_cfg(cfg) if "runner_type" not in cfg else RUNNERS.build(cfg)
    runner.logger.info(f"memory allocator: {active_allocator()}")
    return runner


@contextlib.contextmanager
def process_group_teardown() -> Iterator[None]:
    """Destroy the process group when the run ends, so that no gloo thread is still joinable while the
    interpreter exits (a rank can otherwise abort with "terminate called without an active exception" after a
    finished run)."""
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


@contextlib.contextmanager
def checkpoint_errors() -> Iterator[None]:
    """Turn a refused, unreadable or mismatched checkpoint, or data whose class count is not the model's, into
    ``SystemExit('error: ...')`` (the message names the file and the refused global, the keys, or the counts)."""
    from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError
    from backbones.engine.checkpoint.finite import NonFiniteWeightsError
    from backbones.engine.runner.hooks import ClassCountError

    try:
        yield
    except (UnsafeCheckpointError, CheckpointReadError, FileNotFoundError, ClassCountError,
            NonFiniteWeightsError) as e:
        raise SystemExit(f"error: {e}") from None


def visualization_args(hook_type: str, scope: str | None) -> set[str]:
    """Constructor arguments of a visualization hook type (they differ between mmpretrain and mmseg)."""
    import inspect

    from mmengine.registry import HOOKS

    cls = HOOKS.get(hook_type if "." in hook_type or not scope else f"{scope}.{hook_type}")
    if cls is None:
        raise SystemExit(f"error: visualization hook {hook_type!r} is not registered (scope {scope!r})")
    return set(inspect.signature(cls.__init__).parameters)
