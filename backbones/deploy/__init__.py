"""Explicit deploy conversion: plain modules for training, folded inference modules for deployment.

>>> from backbones.deploy import convert_to_deploy
>>> model = convert_to_deploy(model)  # once, after loading the trained weights; eval mode, inference only

Each module's inference form lives beside the module (``to_deploy()`` / ``deploy_branch()``,
:mod:`backbones.deploy.base`); this package holds the pure folds, the walker, export and the test hook.
"""
from backbones.deploy.base import DeployModule, ModuleBranch, bare_norm, folded_or_plain
from backbones.deploy.convert import convert_to_deploy, is_deployed

__all__ = ["DeployModule", "ModuleBranch", "bare_norm", "convert_to_deploy", "folded_or_plain",
           "is_deployed"]
