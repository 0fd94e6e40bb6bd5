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
    "for OpenMMLab classification, segmentation, point clouds and image generation.",
    packages=find_packages(include=["backbones", "backbones.*", "backbones_cli"]),
    package_data={"backbones": [".mim/model-index.yml", ".mim/configs/*.yml", ".mim/configs/*.md",
                                ".mim/configs/**/*.py", ".mim/configs/**/*.yml", ".mim/configs/**/*.md",
                                ".mim/tools/**/*.py", ".mim/tools/**/*.sh"]},
    # the scripts that set up a checkout's own environment do not belong in an installed package
    exclude_package_data={"backbones": [".mim/tools/run.sh", ".mim/tools/setup_env.sh"]},
    include_package_data=False,
    python_requires=">=3.10",
    install_requires=[
        "torch==2.14.1",
        "torchvision==0.29.1",
        "mmengine==0.10.7",
        "mmcv==2.1.0",
        "mmpretrain==1.2.0",
        "mmsegmentation==1.2.2",
        "mmdet==3.3.0",
        "pycocotools",
        "ftfy",
        "regex",
        "open3d==0.20.0",
        "timm>=1.0,<1.1",
        "scikit-learn",
    ],
    extras_require={"export": ["onnx==1.23.2", "onnxruntime==1.32.0", "onnxscript==0.7.2"]},
    entry_points={"console_scripts": [
        "backbones-train=backbones_cli:train",
        "backbones-test=backbones_cli:test",
        "backbones-export=backbones_cli:export",
        "backbones-convert=backbones_cli:convert",
        "backbones-infer-points=backbones_cli:infer_points",
        "backbones-benchmark=backbones_cli:benchmark",
        "backbones-generate=backbones_cli:generate",
        "backbones-flops=backbones_cli:flops",
        "backbones-vis-attention=backbones_cli:vis_attention",
        "backbones-attention-similarity=backbones_cli:attention_similarity",
        "backbones-demo=backbones_cli:demo",
        "backbones-configs=backbones_cli.configs:cli",
        "backbones-prepare-data=backbones_cli.prepare_data:cli",
    ]},
)
