"""The test tool: ``backbones-test`` (flags and help: :func:`backbones_cli.parsers.test`)."""
from __future__ import annotations

import functools
import os.path as osp

import backbones  # noqa: F401  (registries, hooks, the safe checkpoint loaders)
from backbones.cli import common
from backbones.deploy.options import DeployOptions

MISMATCH = "The model and loaded state dict do not match exactly"  # mmengine's strict-load message


def main(argv: list[str] | None = None) -> dict:
    """Test; returns the metrics."""
    args = common.parse_args(argv, test=True)
    if args.precision != "fp32" and not args.deploy:
        raise SystemExit(f"error: --precision {args.precision} sets the precision of the deploy form; add --deploy")
    try:  # the deploy options, validated once (DeployHook takes them as they are)
        options = DeployOptions(args.precision, args.calibrate, args.calibrate_from, args.compile, args.autotune)
    except ValueError as e:
        raise SystemExit(f"error: {e} (flags --precision, --calibrate, --calibrate-from, --compile, "
                         f"--autotune)") from None
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f"error: checkpoint {args.checkpoint} does not exist")
    cfg = common.load_config(args)
    cfg.load_from = args.checkpoint
    if args.allow_partial:
        common.allow_partial_load_from(cfg)
    if args.deploy or args.compile:
        cfg.custom_hooks = [*cfg.get("custom_hooks", []), dict(type="DeployHook", **options.as_dict())]
    common.add_hook(cfg, "ClassCountCheckHook")  # 12 class folders against a 10-class model: refused, not scored
    common.add_hook(cfg, "FiniteWeightsCheckHook")  # NaN / inf weights: refused, naming the checkpoint
    if args.out:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = [*evaluators, dict(type="AtomicDumpResults", out_file_path=args.out)]
    if args.show_dir:
        vis = cfg.default_hooks.get("visualization")
        if vis is None:
            raise SystemExit("error: --show-dir needs a 'visualization' hook in default_hooks")
        params = common.visualization_args(vis["type"], cfg.get("default_scope"))
        vis.interval = 1
        for key, value in (("enable", True), ("draw", True), ("out_dir", args.show_dir)):
            if key in params:
                vis[key] = value
        if "out_dir" not in params and cfg.get("visualizer") is not None:
            cfg.visualizer.save_dir = args.show_dir  # mmseg's hook draws through the visualizer's backends
    with common.process_group_teardown(), common.checkpoint_errors():
        runner = common.build_runner(cfg)
        # mmengine loads ``load_from`` with strict=False (unmatched keys are only logged): bind strict loading
        # to this runner's own load_checkpoint, which its load_or_resume calls after the before_run hooks
        runner.load_checkpoint = functools.partial(runner.load_checkpoint, strict=not args.allow_partial)
        try:
            return runner.test()
        except RuntimeError as e:
            if MISMATCH not in str(e):
                raise
            raise SystemExit(f"error: checkpoint {args.checkpoint} does not fit the model of {args.config} "
                             f"(another architecture?); --allow-partial loads the matching keys only.\n{e}"
                             ) from None


def cli() -> None:
    """The console entry point: :func:`main`, then the end of a worker process."""
    main()
    common.leave_worker()


if __name__ == "__main__":
    cli()
