"""Point-cloud datasets for the standard layouts (mmengine ``BaseDataset``, root ``DATASETS``).

* :class:`ModelNetDataset` - ``modelnet40_normal_resampled/``: ``<class>/<class>_0001.txt`` with
  comma-separated ``x,y,z,nx,ny,nz`` rows; ``{prefix}_shape_names.txt`` and ``{prefix}_{train,test}.txt``
  (prefix ``modelnet40`` or ``modelnet10``).
* :class:`ModelNetMeshDataset` - raw ModelNet: ``<class>/<train|test>/<name>.off`` meshes, sampled to
  points with open3d (cached, see :class:`~backbones.pointcloud.transforms.LoadPointCloud`).
* :class:`ShapeNetPartDataset` - ``shapenetcore_partanno_segmentation_benchmark_v0_normal/``:
  ``<synset>/<id>.txt`` with space-separated ``x y z nx ny nz part``; ``synsetoffset2category.txt``;
  ``train_test_split/shuffled_{train,val,test}_file_list.json``.
* :class:`PointFileDataset` - any list or folder of point / mesh files, no labels (inference).

Each sample's info holds ``points_path`` and its labels; the pipeline reads the file.
"""
from __future__ import annotations

import json
import os.path as osp
from pathlib import Path

from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS

from backbones.pointcloud.io import MESH_EXTS, POINT_EXTS, TEXT_EXTS

#: ShapeNetPart's 16 categories and their part ids (50 parts), the benchmark's fixed table.
SHAPENETPART_PARTS: dict[str, list[int]] = {
    "Airplane": [0, 1, 2, 3], "Bag": [4, 5], "Cap": [6, 7], "Car": [8, 9, 10, 11], "Chair": [12, 13, 14, 15],
    "Earphone": [16, 17, 18], "Guitar": [19, 20, 21], "Knife": [22, 23], "Lamp": [24, 25, 26, 27],
    "Laptop": [28, 29], "Motorbike": [30, 31, 32, 33, 34, 35], "Mug": [36, 37], "Pistol": [38, 39, 40],
    "Rocket": [41, 42, 43], "Skateboard": [44, 45, 46], "Table": [47, 48, 49],
}


def _read_lines(path: str) -> list[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f"{path} does not exist (check data_root)")
    return [line.strip() for line in open(path).read().splitlines() if line.strip()]


@DATASETS.register_module()
class ModelNetDataset(BaseDataset):
    """ModelNet in the ``modelnet40_normal_resampled`` layout (or any set written in it).

    Args:
        data_root: the layout's folder.
        split: 'train' or 'test'.
        list_prefix: prefix of the list files (``modelnet40``, ``modelnet10``, ...).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (pipeline, indices, test_mode...).
    """

    def __init__(self, data_root: str, split: str = "train", list_prefix: str = "modelnet40", **kwargs) -> None:
        self.split, self.list_prefix = split, list_prefix
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        classes = _read_lines(osp.join(self.data_root, f"{self.list_prefix}_shape_names.txt"))
        self._metainfo["classes"] = tuple(classes)
        lookup = {c: i for i, c in enumerate(classes)}
        list_file = osp.join(self.data_root, f"{self.list_prefix}_{self.split}.txt")
        infos = []
        for name in _read_lines(list_file):
            cls = name.rsplit("_", 1)[0]
            if cls not in lookup:
                raise ValueError(f"{list_file}: sample {name!r} has class {cls!r}, which is not in "
                                 f"{self.list_prefix}_shape_names.txt")
            infos.append(dict(points_path=osp.join(self.data_root, cls, f"{name}.txt"), gt_label=lookup[cls]))
        if not infos:
            raise ValueError(f"{list_file} lists no samples")
        return infos


@DATASETS.register_module()
class ModelNetMeshDataset(BaseDataset):
    """Raw ModelNet meshes: ``data_root/<class>/<split>/*.off`` (classes: the sorted class folders).

    Args:
        data_root: the ``ModelNet40`` (or ``ModelNet10``) folder.
        split: 'train' or 'test'.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, data_root: str, split: str = "train", **kwargs) -> None:
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        root = Path(self.data_root)
        if not root.is_dir():
            raise FileNotFoundError(f"ModelNet mesh folder {root} does not exist (check data_root)")
        classes = sorted(d.name for d in root.iterdir() if (d / self.split).is_dir())
        if not classes:
            raise ValueError(f"{root}: no <class>/{self.split}/ folders")
        self._metainfo["classes"] = tuple(classes)
        infos = [dict(points_path=str(f), gt_label=i) for i, c in enumerate(classes)
                 for f in sorted((root / c / self.split).iterdir()) if f.suffix.lower() in MESH_EXTS]
        if not infos:
            raise ValueError(f"{root}: no mesh files in <class>/{self.split}/")
        return infos


@DATASETS.register_module()
class ShapeNetPartDataset(BaseDataset):
    """ShapeNetPart in the ``shapenetcore_partanno_segmentation_benchmark_v0_normal`` layout.

    Args:
        data_root: the layout's folder.
        split: 'train', 'val', 'test' or 'trainval'.
        category_parts: category name -> part ids: a dict, a JSON file (relative to data_root), or None for
            the benchmark's table (:data:`SHAPENETPART_PARTS`). Categories are numbered in the order of
            ``synsetoffset2category.txt`` (the one-hot input of the head).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, data_root: str, split: str = "train", category_parts: dict | str | None = None,
                 **kwargs) -> None:
        self.split, self.category_parts = split, category_parts
        super().__init__(data_root=data_root, **kwargs)

    def _parts_table(self) -> dict[str, list[int]]:
        table = self.category_parts
        if isinstance(table, str):
            path = osp.join(self.data_root, table)
            if not osp.isfile(path):
                raise FileNotFoundError(f"category_parts file {path} does not exist")
            table = json.loads(open(path).read())
        return dict(table or SHAPENETPART_PARTS)

    def load_data_list(self) -> list[dict]:
        table = self._parts_table()
        cat_file = osp.join(self.data_root, "synsetoffset2category.txt")
        synsets = {}
        for line in _read_lines(cat_file):
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{cat_file}: line {line!r} is not '<category> <synset>'")
            synsets[fields[1]] = fields[0]
        names = list(synsets.values())
        missing = [n for n in names if n not in table]
        if missing:
            raise ValueError(f"{cat_file}: categories {missing} have no entry in category_parts {sorted(table)}")
        self._metainfo.update(classes=tuple(names), category_parts={n: list(table[n]) for n in names},
                              num_parts=1 + max(p for n in names for p in table[n]))
        splits = ["train", "val"] if self.split == "trainval" else [self.split]
        infos = []
        for split in splits:
            list_file = osp.join(self.data_root, "train_test_split", f"shuffled_{split}_file_list.json")
            if not osp.isfile(list_file):
                raise FileNotFoundError(f"{list_file} does not exist (split {split!r}; check data_root)")
            for entry in json.loads(open(list_file).read()):
                synset, shape_id = entry.split("/")[-2:]
                if synset not in synsets:
                    raise ValueError(f"{list_file}: entry {entry!r} has synset {synset} not in {cat_file}")
                name = synsets[synset]
                infos.append(dict(points_path=osp.join(self.data_root, synset, f"{shape_id}.txt"),
                                  category=names.index(name), category_name=name, parts=list(table[name])))
        if not infos:
            raise ValueError(f"no samples in split {self.split!r} of {self.data_root}")
        return infos


@DATASETS.register_module()
class PointFileDataset(BaseDataset):
    """Unlabelled point or mesh files for inference: a folder (searched recursively) or a list of files.

    Args:
        files: a folder or a list of paths.
        category: object category id given to every sample (part segmentation), with ``parts``.
        parts: the category's part ids.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, files: str | list[str], category: int | None = None, parts: list[int] | None = None,
                 **kwargs) -> None:
        self.files, self.category, self.parts = files, category, parts
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        exts = set(TEXT_EXTS + POINT_EXTS + MESH_EXTS + (".npy",))
        if isinstance(self.files, str):
            if not osp.isdir(self.files):
                raise FileNotFoundError(f"PointFileDataset: folder {self.files} does not exist")
            paths = sorted(str(p) for p in Path(self.files).rglob("*") if p.suffix.lower() in exts)
        else:
            paths = list(self.files)
        if not paths:
            raise ValueError(f"PointFileDataset: no point or mesh files in {self.files}")
        extra = {} if self.category is None else dict(category=self.category, parts=list(self.parts or []))
        return [dict(points_path=p, **extra) for p in paths]
