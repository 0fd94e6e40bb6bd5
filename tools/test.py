"""Evaluate a checkpoint on a config's test set (every task of the zoo) with mmengine's Runner.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--show-dir DIR]
                         [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]
"""
from __future__ import annotations

import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train import build_runner, leave_worker, load_config, parse_args, process_group_teardown  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    """Test; returns the metrics."""
    args = parse_args(argv, test=True)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f"error: checkpoint {args.checkpoint} does not exist")
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.out:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators, dict(type="DumpResults", out_file_path=args.out)]
    if args.show_dir:
        vis = cfg.default_hooks.get("visualization")
        if vis is None:
            raise SystemExit("error: --show-dir needs a 'visualization' hook in default_hooks")
        params = visualization_args(vis["type"], cfg.get("default_scope"))
        vis.interval = 1
        for key, value in (("enable", True), ("draw", True), ("out_dir", args.show_dir)):
            if key in params:
                vis[key] = value
        if "out_dir" not in params and cfg.get("visualizer") is not None:
            cfg.visualizer.save_dir = args.show_dir  # mmseg's hook draws through the visualizer's backends
    with process_group_teardown():
        return build_runner(cfg).test()


def visualization_args(hook_type: str, scope: str | None) -> set[str]:
    """Constructor arguments of a visualization hook type (they differ between mmpretrain and mmseg)."""
    import inspect

    from mmengine.registry import HOOKS

    cls = HOOKS.get(hook_type if "." in hook_type or not scope else f"{scope}.{hook_type}")
    if cls is None:
        raise SystemExit(f"error: visualization hook {hook_type!r} is not registered (scope {scope!r})")
    return set(inspect.signature(cls.__init__).parameters)


if __name__ == "__main__":
    main()
    leave_worker()
