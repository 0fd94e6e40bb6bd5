"""Farthest-point sampling against open3d, kNN against brute force."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from backbones.pointcloud import farthest_point_sample, gather_points, knn


@pytest.mark.parametrize("matrix", [True, False], ids=["distance-matrix", "coordinate-planes"])
def test_fps_matches_open3d_and_covers_the_cloud(matrix: bool, monkeypatch) -> None:  # noqa: ANN001
    import open3d as o3d

    import backbones.pointcloud.ops as ops

    monkeypatch.setattr(ops, "FPS_MATRIX_LIMIT", ops.FPS_MATRIX_LIMIT if matrix else 0)
    torch.manual_seed(0)
    xyz = torch.rand(3, 500, 3, dtype=torch.float64)
    idx = farthest_point_sample(xyz, 64)
    assert idx.shape == (3, 64)
    for b in range(3):
        assert len(set(idx[b].tolist())) == 64  # distinct
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz[b].numpy()))
        theirs = np.asarray(pcd.farthest_point_down_sample(64).points)
        ours = xyz[b, idx[b]].numpy()
        rows = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731  (the same set of points, in any order)
        np.testing.assert_allclose(rows(ours), rows(theirs))
    # coverage: every point is closer to a sample than the samples are to each other, on average
    pts = gather_points(xyz, idx)
    cover = torch.cdist(xyz, pts).min(-1).values.max(-1).values
    spacing = torch.cdist(pts, pts).add(torch.eye(64) * 9).min(-1).values.min(-1).values
    assert (cover <= spacing + 1e-12).all()


def test_fps_errors() -> None:
    with pytest.raises(ValueError, match="cannot sample 11 distinct points from a cloud of 10"):
        farthest_point_sample(torch.rand(1, 10, 3), 11)


def test_knn_matches_brute_force() -> None:
    torch.manual_seed(0)
    ref, query = torch.rand(2, 200, 3), torch.rand(2, 30, 3)
    dist, idx = knn(query, ref, 8)
    for b in range(2):
        for i in range(30):
            d = ((ref[b] - query[b, i]) ** 2).sum(-1)
            want = torch.argsort(d)[:8]
            assert idx[b, i].tolist() == want.tolist()
            torch.testing.assert_close(dist[b, i], d[want], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="exceeds"):
        knn(query, ref[:, :5], 8)


def test_gather_points_shapes() -> None:
    pts = torch.arange(24.0).view(2, 4, 3)
    out = gather_points(pts, torch.tensor([[[0, 1], [3, 3]], [[2, 2], [1, 0]]]))
    assert out.shape == (2, 2, 2, 3) and torch.equal(out[0, 1, 0], pts[0, 3])
