"""Point-cloud building blocks (pure torch: mmcv's point ops are CUDA-only)."""
from .ops import farthest_point_sample, gather_points, knn

__all__ = ["farthest_point_sample", "gather_points", "knn"]
