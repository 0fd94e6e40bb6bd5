"""Explicit deploy conversion: plain modules for training, folded inference modules for deployment.

>>> from backbones.deploy import convert_to_deploy
>>> model = convert_to_deploy(model)  # once, after loading the trained weights; eval mode, inference only
"""
from .branches import BRANCHES, DeployModule, deploy_branch
from .convert import DeployBlock, convert_children, convert_to_deploy, is_deployed, register_conversion
from .hook import DeployHook

__all__ = ["BRANCHES", "DeployBlock", "DeployHook", "DeployModule", "convert_children", "convert_to_deploy",
           "deploy_branch", "is_deployed", "register_conversion"]
