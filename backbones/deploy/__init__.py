"""Explicit deploy conversion: plain modules for training, folded inference modules for deployment.

>>> from backbones.deploy import convert_to_deploy
>>> model = convert_to_deploy(model)  # once, after loading the trained weights; eval mode, inference only
>>> model = convert_to_deploy(model, precision="int8")  # or "bf16": :mod:`backbones.deploy.precision`

Each module's inference form lives beside the module (``to_deploy()`` / ``deploy_branch()``), built from the
foundation in :mod:`backbones.models.deploy` (base modules, folds); this package is the pipeline above the tasks that
acts on whole task models: the walker, precision and calibration, the test hook, compilation and export.
"""
from backbones.deploy.convert import convert_to_deploy, is_deployed
from backbones.deploy.precision import PRECISIONS, apply_precision, precision_summary
from backbones.models.deploy.base import DeployModule, ModuleBranch, bare_norm, folded_or_plain

__all__ = ["PRECISIONS", "DeployModule", "ModuleBranch", "apply_precision", "bare_norm", "convert_to_deploy",
           "folded_or_plain", "is_deployed", "precision_summary"]
