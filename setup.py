"""Install the ``backbones`` package (the vision backbone zoo).

The wheel carries, as mmpretrain's and mmseg's do, the configs, the model index and the tools under
``backbones/.mim/`` (``configs/``, ``tools/``, ``model-index.yml``): in the checkout these are symbolic links to the
repository's folders, and a wheel (or sdist) build copies the files they point to. The lab (``lab/``: tables,
studies, benchmarks, parity references) is not installed.
"""
from setuptools import find_packages, setup

setup(
    name="backbones",
    version="0.1.0",
    description="Token-mixer vision backbone zoo (self-attention, FF-only, Re-attention, External attention) "
    "for OpenMMLab classification, segmentation and point clouds.",
    packages=find_packages(include=["backbones", "backbones.*"]),
    package_data={"backbones": [".mim/model-index.yml", ".mim/configs/**/*.py", ".mim/configs/**/*.yml",
                                ".mim/configs/**/*.md", ".mim/tools/**/*.py", ".mim/tools/**/*.sh"]},
    include_package_data=False,
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
    entry_points={"console_scripts": [
        "backbones-train=backbones.cli.train:cli",
        "backbones-test=backbones.cli.test:cli",
        "backbones-export=backbones.cli.export:cli",
        "backbones-convert=backbones.cli.convert:cli",
        "backbones-infer-points=backbones.cli.infer_points:cli",
        "backbones-configs=backbones.cli.configs:cli",
        "backbones-benchmark=backbones.cli.benchmark:cli",
        "backbones-generate=backbones.cli.generate:cli",
    ]},
)
