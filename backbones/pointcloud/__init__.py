"""Point clouds: sampling / grouping ops, the PCT-style backbone with any token mixer, heads, model,
datasets, transforms, metrics and visualisation, all registered in mmengine's root registries
(``import backbones`` registers them all).
"""
from backbones.models.mixers import offset_attention  # noqa: F401  (registers the OffsetAttention mixer)
from backbones.models.mixers.offset_attention import OffsetAttention
from backbones.pointcloud.backbone import PointMixerBackbone
from backbones.pointcloud.datasets import (
                         SHAPENETPART_PARTS,
                         ModelNetDataset,
                         ModelNetMeshDataset,
                         PointFileDataset,
                         ShapeNetPartDataset,
)
from backbones.pointcloud.heads import PointClsHead, PointPartSegHead
from backbones.pointcloud.io import PointFileError, read_point_file
from backbones.pointcloud.metrics import PartSegMIoU, PointAccuracy, shape_iou
from backbones.pointcloud.model import PointCloudModel, PointDataPreprocessor
from backbones.pointcloud.ops import farthest_point_sample, gather_points, knn
from backbones.pointcloud.transforms import (
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
from backbones.pointcloud.visualization import PointCloudVisualizationHook, render_points

__all__ = ["farthest_point_sample", "gather_points", "knn", "OffsetAttention", "PointMixerBackbone",
           "ModelNetDataset", "ModelNetMeshDataset", "ShapeNetPartDataset", "PointFileDataset", "SHAPENETPART_PARTS",
           "PointClsHead", "PointPartSegHead", "PointFileError", "read_point_file", "PointAccuracy", "PartSegMIoU",
           "shape_iou", "PointCloudModel", "PointDataPreprocessor", "LoadPointCloud", "PointSample",
           "NormalizeToUnitSphere", "RandomScale", "RandomTranslate", "RandomJitter", "RandomRotateUp",
           "RandomPointDropout", "PackPointInputs", "PointCloudVisualizationHook", "render_points"]
