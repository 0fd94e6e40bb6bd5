"""``DeployHook``: test a config's model in its deploy form (``tools/test.py --deploy``, or in a config)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from .convert import convert_to_deploy


@HOOKS.register_module()
class DeployHook(Hook):
    """Convert the runner's model with :func:`convert_to_deploy` before testing (after the checkpoint is loaded).

    Only ``runner.test()`` is affected: training and the validation inside training use the plain model.
    Usable with any OpenMMLab test tool: ``custom_hooks = [dict(type='DeployHook')]``.
    """

    priority = "VERY_HIGH"

    def before_test(self, runner) -> None:  # noqa: ANN001
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        convert_to_deploy(model)
        runner.logger.info("DeployHook: model converted to its deploy form (backbones.deploy.convert_to_deploy)")
