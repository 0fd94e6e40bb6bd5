"""More bad input refused, named: point and mesh files cut short or with headers their size cannot hold (refused
before anything is allocated), empty class folders of an image-folder dataset, an export on a full disk."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import backbones.pointcloud  # noqa: F401  (registers the point modules)
from backbones.pointcloud import PointFileError, read_point_file
from tests.support import DIGITS_CFG, ROOT

POINT_CFG = ROOT / "configs/pointcloud/shapes/pct_offsetattention-w64_1xb32-10e_shapes-cls-512pts.py"


def cloud(n: int) -> np.ndarray:
    xyz = np.random.default_rng(0).normal(size=(n, 3))
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True)


def write_files(folder: Path) -> dict[str, Path]:
    """Good files open3d writes: point-cloud PLYs (binary, ascii), mesh PLYs (binary, ascii), an OFF and an OBJ."""
    import open3d as o3d

    folder.mkdir(parents=True, exist_ok=True)
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud(600)))
    mesh = o3d.geometry.TriangleMesh.create_sphere(resolution=6)
    files = {}
    for name, ascii_ in (("points_binary.ply", False), ("points_ascii.ply", True)):
        files[name] = folder / name
        o3d.io.write_point_cloud(str(files[name]), pcd, write_ascii=ascii_)
    for name, ascii_ in (("mesh_binary.ply", False), ("mesh_ascii.ply", True), ("mesh.off", True),
                         ("mesh.obj", True)):
        files[name] = folder / name
        o3d.io.write_triangle_mesh(str(files[name]), mesh, write_ascii=ascii_, write_vertex_normals=False)
    return files


def test_good_point_and_mesh_files_read(tmp_path: Path) -> None:
    for name, path in write_files(tmp_path).items():
        points = read_point_file(path, mesh_points=200)
        assert points.shape == ((600, 3) if name.startswith("points") else (200, 6)), name


#: (file, cut, message). Cuts: "half" (a text file: at the end of a line), "byte" (the last byte), "value" (a text
#: file's last value and the line break), "digits" (the last 3 digits and the line break: 3 values remain)
CUTS = [
    ("points_binary.ply", "half", "truncated"),
    ("points_binary.ply", "byte", "truncated"),
    ("points_ascii.ply", "half", r"cut short: \d+ of the 600 vertex rows"),
    ("points_ascii.ply", "value", r"vertex row 600 .* has 2 values, expected 3"),
    ("points_ascii.ply", "digits", r"its last row .* does not end with a line break"),
    ("mesh_binary.ply", "half", "truncated"),
    ("mesh_binary.ply", "byte", "cut short in its face data"),
    ("mesh_ascii.ply", "half", r"cut short: \d+ of the \d+ (vertex|face) rows"),
    ("mesh_ascii.ply", "value", r"face row \d+ .* has 3 values, expected 4"),
    ("mesh.off", "half", r"vertex and face lines, the header declares \d+ vertices and \d+ faces"),
    ("mesh.off", "value", r"face \d+ .* is cut short"),
    ("mesh.obj", "value", "face line .* is cut short"),
    ("mesh.obj", "half", r"vertex line .* has 1 coordinates, expected 3"),
]


def cut_short(data: bytes, cut: str, text: bool) -> bytes:
    if cut == "half":
        return data[:data.rindex(b"\n", 0, len(data) // 2) + 1] if text else data[:len(data) // 2]
    if cut == "byte":
        return data[:-1]
    body = data.rstrip(b"\n")
    return body[:body.rindex(b" ")] if cut == "value" else body[:-3]


@pytest.mark.parametrize("name,cut,message", CUTS)
def test_files_cut_short_are_refused_naming_the_file(name: str, cut: str, message: str, tmp_path: Path) -> None:
    """A file cut short fails naming it: open3d reads a cut PLY as zero-padded points and predicts on them."""
    path = write_files(tmp_path)[name]
    data = cut_short(path.read_bytes(), cut, "binary" not in name)
    if name == "mesh.obj" and cut == "half":  # mid-way through a vertex line
        data = data[:data.rindex(b"\nv ") + 6]
    path.write_bytes(data)
    with pytest.raises(PointFileError, match=message) as err:
        read_point_file(path, mesh_points=200)
    assert str(path) in str(err.value)


def test_data_beyond_the_header_is_refused(tmp_path: Path) -> None:
    path = write_files(tmp_path)["points_binary.ply"]
    path.write_bytes(path.read_bytes() + b"\0" * 12)  # one more point than the header declares
    with pytest.raises(PointFileError, match=r"12 bytes after the 600 vertices the header declares"):
        read_point_file(path)


CLAIMS = {  # 30 million vertices claimed by headers of ~100 bytes
    "claim_binary.ply": b"ply\nformat binary_little_endian 1.0\nelement vertex 30000000\nproperty float x\n"
                        b"property float y\nproperty float z\nend_header\n" + b"\0" * 24,
    "claim_ascii.ply": b"ply\nformat ascii 1.0\nelement vertex 30000000\nproperty float x\nproperty float y\n"
                       b"property float z\nend_header\n0 0 0\n1 1 1\n",
    "claim.off": b"OFF\n30000000 1 0\n0 0 0\n1 1 1\n0 1 0\n3 0 1 2\n",
}

MEASURE = """
import json, resource, sys
import open3d  # noqa: F401  (imported before the baseline: only the reads' memory counts)
from backbones.pointcloud.io import PointFileError, read_point_file
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:")) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), resource.RLIM_INFINITY))  # a 3.7 GB allocation fails
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
errors = []
for path in sys.argv[1:]:
    try:
        read_point_file(path)
        errors.append("read")
    except PointFileError as e:
        errors.append(str(e))
print(json.dumps({"growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base, "errors": errors}))
"""


def test_headers_claiming_more_than_the_file_holds_fail_at_once(tmp_path: Path) -> None:
    """A ~120-byte header claiming 30 million vertices fails naming the file and the count, before anything is
    allocated (open3d took 3.7 GB before failing): the reads' peak memory grows by less than 50 MB."""
    paths = []
    for name, data in CLAIMS.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", MEASURE, *map(str, paths)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    for path, error in zip(paths, result["errors"]):
        assert error.startswith(f"{path}: the header claims 30000000 vert"), error
    assert result["growth_kb"] < 50 * 1024, result


def test_infer_points_names_a_cut_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """tools/infer_points.py: a PLY cut short among good files is an error naming it (exit 2), not a prediction on
    zero-padded points."""
    from mmengine.config import Config

    from backbones.cli import infer_points
    from backbones.engine.runner.config import build_model

    model = build_model(Config.fromfile(str(POINT_CFG)))
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": list("abcdefghij")}}},
               tmp_path / "m.pth")
    files = write_files(tmp_path / "files")
    good, cut = files["points_binary.ply"], files["points_ascii.ply"]
    cut.write_bytes(good.read_bytes()[:-100])
    cut = cut.rename(cut.with_name("cut.ply"))
    assert infer_points.main([str(POINT_CFG), str(tmp_path / "m.pth"), str(good)]) == 0
    assert f"{good}: " in capsys.readouterr().out
    assert infer_points.main([str(POINT_CFG), str(tmp_path / "m.pth"), str(good), str(cut)]) == 2
    captured = capsys.readouterr()
    assert f"error: {cut}: " in captured.err and "truncated" in captured.err and str(cut) not in captured.out


def image_folder(root: Path, layout: dict[str, list[str]]) -> Path:
    """``root/<split>/<class>/<k>.png`` with the listed classes; a class named with a trailing ``!`` is empty."""
    from PIL import Image

    for split, classes in layout.items():
        for c in classes:
            folder = root / split / c.rstrip("!")
            folder.mkdir(parents=True)
            if not c.endswith("!"):
                for k in range(2):
                    Image.new("RGB", (8, 8), (40 * k, 0, 0)).save(folder / f"{k}.png")
    return root


def build_split(root: Path, split: str, classes_from: str | None = "train"):  # noqa: ANN201
    from mmengine.registry import DefaultScope

    import backbones.classification  # noqa: F401
    from backbones.classification.image_folder import ImageFolderDataset

    with DefaultScope.overwrite_default_scope("mmpretrain"):
        return ImageFolderDataset(data_root=str(root), data_prefix=split, classes_from=classes_from, pipeline=[])


def test_an_empty_class_folder_is_named_in_every_split(tmp_path: Path) -> None:
    """train/0_old without images would take label 0 and shift a and b: an error naming the folder and the split,
    for the training split and for a validation split labelled with the training classes; an empty validation
    class folder too."""
    root = image_folder(tmp_path / "data", {"train": ["0_old!", "a", "b"], "val": ["a", "b"]})
    for split in ("train", "val"):
        with pytest.raises(ValueError, match=r"split 'train': class folders \[.*0_old'\] hold no images") as err:
            build_split(root, split)
        assert str(root / "train" / "0_old") in str(err.value)
    root = image_folder(tmp_path / "ok", {"train": ["a", "b"], "val": ["a!", "b"]})
    train = build_split(root, "train")
    assert [train.get_data_info(i)["gt_label"] for i in range(len(train))] == [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"split 'val': class folders \[.*a'\] hold no images") as err:
        build_split(root, "val")
    assert str(root / "val" / "a") in str(err.value)


FULL_DISK = """
import resource, signal, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes beyond the limit fail with EFBIG, as on a full disk
"""

EXPORT = FULL_DISK + """
import torch
from backbones.deploy.export import ExportWriteError, export
net = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
try:
    export(net, (torch.randn(2, 64),), sys.argv[2], sys.argv[3])
except ExportWriteError as e:
    print("refused:", e)
"""


@pytest.mark.parametrize("fmt", ["exported", "onnx", "torchscript"])
def test_export_on_a_full_disk_names_the_file_and_leaves_nothing(fmt: str, tmp_path: Path) -> None:
    """torch's zip writer aborts the process on a full disk (SIGABRT, c10::Error "unexpected pos") and leaves its
    temporary file: the export raises ExportWriteError naming the file instead, and leaves no file."""
    out = tmp_path / "out" / f"model.{fmt}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", EXPORT, str(64 * 1024), fmt, str(out)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"refused: [Errno 27] cannot write the exported model {out} (" in proc.stdout, proc.stdout + proc.stderr
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary one


def test_export_tool_on_a_full_disk_exits_1_naming_the_file(tmp_path: Path) -> None:
    from mmengine.config import Config
    from PIL import Image

    from backbones.engine.runner.config import build_model

    ckpt, image, out = tmp_path / "m.pth", tmp_path / "digit.png", tmp_path / "out" / "m.onnx"
    torch.save({"state_dict": build_model(Config.fromfile(str(DIGITS_CFG))).state_dict(), "meta": {}}, ckpt)
    Image.new("RGB", (32, 32), (90, 20, 200)).save(image)
    out.parent.mkdir()
    tool = FULL_DISK + textwrap.dedent(f"""
        import runpy
        sys.argv = ["export.py", {str(DIGITS_CFG)!r}, {str(ckpt)!r}, "--format", "onnx", "--input", {str(image)!r},
                    "--out", {str(out)!r}]
        runpy.run_path({str(ROOT / "tools/deploy/export.py")!r}, run_name="__main__")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", tool, str(256 * 1024)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert f"error: [Errno 27] cannot write the exported model {out} (" in proc.stderr, proc.stderr[-3000:]
    assert list(out.parent.iterdir()) == []
