"""Install the ``backbones`` package (the vision backbone zoo)."""
from setuptools import find_packages, setup

setup(
    name="backbones",
    version="0.1.0",
    description="Token-mixer vision backbone zoo (self-attention, FF-only, Re-attention, External attention) "
    "for OpenMMLab classification, segmentation and point clouds.",
    packages=find_packages(include=["backbones", "backbones.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch==2.14.1",
        "torchvision==0.29.1",
        "mmengine==0.10.7",
        "mmcv==2.1.0",
        "mmpretrain==1.2.0",
        "mmsegmentation==1.2.2",
        "ftfy",
        "regex",
        "open3d==0.20.0",
        "timm>=1.0,<1.1",
        "scikit-learn",
    ],
    extras_require={"export": ["onnx==1.23.2", "onnxruntime==1.32.0", "onnxscript==0.7.2"]},
)
