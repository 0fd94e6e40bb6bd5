"""Point clouds: sampling / grouping ops, the PCT-style backbone with any token mixer, heads, model,
datasets, transforms, metrics and visualisation, all registered in mmengine's root registries
(``custom_imports=dict(imports=['backbones', 'backbones.points'])``).
"""
from ..mixers import offset_attention  # noqa: F401  (registers the OffsetAttention mixer)
from ..mixers.offset_attention import OffsetAttention
from .backbone import PointMixerBackbone
from .datasets import SHAPENETPART_PARTS, ModelNetDataset, ModelNetMeshDataset, PointFileDataset, ShapeNetPartDataset
from .heads import PointClsHead, PointPartSegHead
from .io import PointFileError, read_point_file
from .metrics import PartSegMIoU, PointAccuracy, shape_iou
from .model import PointCloudModel, PointDataPreprocessor
from .ops import farthest_point_sample, gather_points, knn
from .transforms import (
                         LoadPointCloud,
                         NormalizeToUnitSphere,
                         PackPointInputs,
                         PointSample,
                         RandomJitter,
                         RandomPointDropout,
                         RandomRotateUp,
                         RandomScale,
                         RandomTranslate,
)
from .visualization import PointCloudVisualizationHook, render_points

__all__ = ["farthest_point_sample", "gather_points", "knn", "OffsetAttention", "PointMixerBackbone",
           "ModelNetDataset", "ModelNetMeshDataset", "ShapeNetPartDataset", "PointFileDataset", "SHAPENETPART_PARTS",
           "PointClsHead", "PointPartSegHead", "PointFileError", "read_point_file", "PointAccuracy", "PartSegMIoU",
           "shape_iou", "PointCloudModel", "PointDataPreprocessor", "LoadPointCloud", "PointSample",
           "NormalizeToUnitSphere", "RandomScale", "RandomTranslate", "RandomJitter", "RandomRotateUp",
           "RandomPointDropout", "PackPointInputs", "PointCloudVisualizationHook", "render_points"]
