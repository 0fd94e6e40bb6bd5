"""The zoo's own loading is safe after a plain ``import backbones`` (no ``backbones.safe_loading``),
downloads are cached by full URL in the zoo's own folder and purged when refused, damaged or mismatched checkpoints
fail loudly, and the pickle scan covers legacy and duplicate-entry files (issue: trust, third pass)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from backbones.engine.checkpoint import CheckpointReadError, UnsafeCheckpointError, safe_load
from backbones.engine.checkpoint.loaders import cached_path, load_weights
from backbones.engine.checkpoint.pretrained import KeyMismatchError, check_load_from, load_checkpoint_into
from tests.support import ROOT, http_server, run_tool, small_config
from tests.support.crafted import craft, payload

TINY = dict(arch=dict(preset="vit-tiny", depth=1), img_size=32)

#: each of the zoo's modules that takes an init_cfg, built with a Pretrained URL after a plain ``import backbones``
PLAIN_IMPORT_SCRIPT = """
import json, sys
import backbones
from backbones.engine.checkpoint.loaders import unsafe_schemes
url, how = sys.argv[1], sys.argv[2]
init = dict(type='Pretrained', checkpoint=url)
if how == 'pretrained':
    module = backbones.MixerViT(dict(preset='vit-tiny', depth=1), img_size=32, pretrained=url)
elif how == 'init_cfg':
    module = backbones.MixerViT(dict(preset='vit-tiny', depth=1), img_size=32, init_cfg=init)
elif how == 'points':
    from backbones.pointcloud.backbone import PointMixerBackbone
    module = PointMixerBackbone(embed_dims=16, dim=32, depth=1, num_heads=2, fuse_channels=32, init_cfg=init)
elif how == 'eahead':
    from backbones.segmentation.ea_head import EAHead
    module = EAHead(in_channels=8, channels=8, num_classes=3, init_cfg=init)
try:
    module.init_weights()
    outcome = ['loaded', '']
except Exception as e:
    outcome = [type(e).__name__, str(e)]
print(json.dumps(dict(outcome=outcome, mmengine_safe=unsafe_schemes() == [])))
"""


@pytest.fixture
def served(tmp_path: Path):  # noqa: ANN201
    """A store folder served on 127.0.0.1, and an environment with the zoo's and torch hub's caches in tmp_path."""
    store = tmp_path / "store"
    store.mkdir()
    env = {"BACKBONES_CACHE": str(tmp_path / "zoo_cache"), "TORCH_HOME": str(tmp_path / "torch_home")}
    with http_server(store) as url:
        yield store, url, env


@pytest.mark.parametrize("how", ["pretrained", "init_cfg", "points", "eahead"])
def test_plain_import_loads_pretrained_urls_safely(how: str, tmp_path: Path, served) -> None:  # noqa: ANN001
    """A crafted checkpoint by URL: refused, no code runs, deleted from the zoo's cache and from torch hub's cache
    (a copy a plain hub load would run), and mmengine's schemes all read through the safe loader."""
    store, url, env = served
    marker = tmp_path / "CODE_RAN"
    craft(store / "weights.pth", "system", marker)
    hub_copy = tmp_path / "torch_home" / "hub" / "checkpoints" / "weights.pth"
    hub_copy.parent.mkdir(parents=True)
    shutil.copy(store / "weights.pth", hub_copy)  # as an earlier unsafe load would have left it
    script = tmp_path / "load.py"
    script.write_text(PLAIN_IMPORT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), f"{url}/weights.pth", how], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    kind, message = result["outcome"]
    assert kind == "UnsafeCheckpointError" and "posix.system" in message and "weights.pth" in message, result
    assert "deleted from the cache" in message
    assert not marker.exists()
    assert not hub_copy.exists()
    assert not cached_path(f"{url}/weights.pth", env["BACKBONES_CACHE"]).exists()
    assert result["mmengine_safe"]  # the plain import registered the safe loader for every mmengine scheme


def test_plain_import_loads_a_good_url_into_the_zoo_cache(tmp_path: Path, served) -> None:  # noqa: ANN001
    store, url, env = served
    src = __import__("backbones").MixerViT(**TINY)
    torch.save({"state_dict": src.state_dict()}, store / "good.pth")
    script = tmp_path / "load.py"
    script.write_text(PLAIN_IMPORT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), f"{url}/good.pth", "pretrained"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                          timeout=300)
    assert json.loads(proc.stdout.strip().splitlines()[-1])["outcome"] == ["loaded", ""], proc.stderr[-2000:]
    assert cached_path(f"{url}/good.pth", env["BACKBONES_CACHE"]).is_file()
    assert not (tmp_path / "torch_home" / "hub").exists()


def test_cache_is_keyed_by_the_full_url(monkeypatch, served) -> None:  # noqa: ANN001
    """The same file name from two folders (hosts), or with a query string, are separate downloads."""
    store, url, env = served
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for folder, value in (("a", 1.0), ("b", 2.0)):
        (store / folder).mkdir()
        torch.save({"w": torch.full((2,), value)}, store / folder / "w.pth")
    assert load_weights(f"{url}/a/w.pth")["w"][0] == 1.0
    assert load_weights(f"{url}/b/w.pth")["w"][0] == 2.0
    torch.save({"w": torch.full((2,), 3.0)}, store / "a" / "w.pth")  # a new version at the same path
    assert load_weights(f"{url}/a/w.pth")["w"][0] == 1.0  # the cached copy of that URL
    assert load_weights(f"{url}/a/w.pth?v=2")["w"][0] == 3.0  # another URL: downloaded anew
    assert len({cached_path(u).parent for u in (f"{url}/a/w.pth", f"{url}/b/w.pth", f"{url}/a/w.pth?v=2")}) == 3


def test_hash_in_the_name_is_checked_and_the_file_not_kept(monkeypatch, served) -> None:  # noqa: ANN001
    store, url, env = served
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    torch.save({"w": torch.ones(2)}, store / "w-0123456789.pth")
    with pytest.raises(CheckpointReadError, match="hash"):
        load_weights(f"{url}/w-0123456789.pth")
    assert not cached_path(f"{url}/w-0123456789.pth").exists()


def flip_weight_bit(path: Path) -> None:
    """Flip one bit in the first tensor's bytes of a torch zip checkpoint (its pickle is untouched)."""
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if "/data/" in i.filename)
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        at = info.header_offset + 30 + name_len + extra_len
        f.seek(at)
        byte = f.read(1)[0]
        f.seek(at)
        f.write(bytes([byte ^ 0x08]))


def test_a_flipped_bit_in_a_weight_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save({"state_dict": {"w": torch.arange(64, dtype=torch.float32)}}, path)
    assert torch.load(path, weights_only=True)["state_dict"]["w"][0] == 0  # torch alone reads the intact file
    flip_weight_bit(path)
    assert not torch.equal(torch.load(path, weights_only=True)["state_dict"]["w"], torch.arange(64.0))  # silently
    with pytest.raises(CheckpointReadError, match=r"model\.pth is damaged: its entry \S+/data/0 fails the zip check"):
        safe_load(path)


def test_legacy_format_with_class_assignment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pth"
    ckpt = {"state_dict": {"w": torch.ones(2), "w2": payload("class_assign", tmp_path / "never")}}
    torch.save(ckpt, path, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(path)
    with pytest.raises(UnsafeCheckpointError, match="special attribute __class__"):
        safe_load(path)
    plain = tmp_path / "plain_legacy.pth"
    torch.save({"state_dict": {"w": torch.ones(3)}}, plain, _use_new_zipfile_serialization=False)
    assert torch.equal(safe_load(plain)["state_dict"]["w"], torch.ones(3))  # a clean legacy file still loads


def test_duplicate_data_pkl_entries_are_refused(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.pth", craft(tmp_path / "bad.pth", "class_assign", tmp_path / "never")
    torch.save({"state_dict": {"w": torch.ones(2), "w2": torch.zeros(2)}}, good)
    mixed = tmp_path / "mixed.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad) as evil, \
            zipfile.ZipFile(mixed, "w", zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        pkl = next(n for n in evil.namelist() if n.endswith("data.pkl"))
        with pytest.warns(UserWarning, match="Duplicate name"):
            out.writestr(next(n for n in src.namelist() if n.endswith("data.pkl")), evil.read(pkl))
    with pytest.raises(CheckpointReadError, match=r"mixed\.pth refused: the zip lists entries more than once: "
                                                  r"\['\S+/data.pkl'\]"):
        safe_load(mixed)


def test_load_from_another_architecture_is_refused(tmp_path: Path) -> None:
    import backbones

    model = backbones.MixerViT(**TINY)
    other = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    with pytest.raises(KeyMismatchError, match=r"fills 0 of \d+ keys of MixerViT.*missing \['cls_token'.*"
                                               r"unexpected \['0.bias'"):
        check_load_from(model, {"state_dict": other.state_dict()}, "other.pth")
    assert check_load_from(model, {"state_dict": other.state_dict()}, "other.pth", min_share=0.0)  # explicit partial
    assert check_load_from(model, {"state_dict": model.state_dict()}, "same.pth").keys() == model.state_dict().keys()
    int8 = {k: v.to(torch.int8) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    with pytest.raises(TypeError, match=r"int8\.pth holds tensors of another kind of dtype than the model: cls_token "
                                        r"\(int8, the model holds float32\)"):
        check_load_from(model, {"state_dict": int8}, "int8.pth")


def test_train_tool_refuses_load_from_of_another_architecture(tmp_path: Path, digits: Path) -> None:  # noqa: F811
    torch.save({"state_dict": {"conv.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "other.pth")
    cfg = small_config(tmp_path, digits, epochs=1, train_images=32)
    args = ["tools/train.py", str(cfg), "--work-dir", str(tmp_path / "work"), "--cfg-options",
            f"load_from={tmp_path / 'other.pth'}"]
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "other.pth (load_from) fills 0 of" in out and "conv.weight" in out, out[-3000:]
    assert not (tmp_path / "work" / "epoch_1.pth").exists()
    run_tool(*args, "--allow-partial")  # the explicit partial load trains
    assert (tmp_path / "work" / "epoch_1.pth").exists()


def test_pretrained_partial_load_is_explicit(tmp_path: Path) -> None:
    import backbones

    src = backbones.MixerViT(**TINY)
    state = {k: v for k, v in src.state_dict().items() if not k.startswith("blocks.")}
    torch.save({"state_dict": state}, tmp_path / "part.pth")
    init = dict(type="Pretrained", checkpoint=str(tmp_path / "part.pth"))
    with pytest.raises(KeyMismatchError, match=r"keys not matched - missing \['blocks.0"):
        backbones.MixerViT(**TINY, init_cfg=init).init_weights()
    with pytest.raises(KeyMismatchError, match="fewer than the 90% required"):
        backbones.MixerViT(**TINY, init_cfg=dict(init, strict=False, min_key_share=0.9)).init_weights()
    dst = backbones.MixerViT(**TINY, init_cfg=dict(init, strict=False, min_key_share=0.2))
    dst.init_weights()
    torch.testing.assert_close(dst.cls_token, src.cls_token)


def test_inferencer_loading_checks_keys(tmp_path: Path) -> None:
    import backbones

    model = backbones.MixerViT(**TINY)
    torch.save({"state_dict": {"x": torch.ones(1)}}, tmp_path / "x.pth")
    with pytest.raises(KeyMismatchError, match=r"x\.pth: MixerViT keys not matched"):
        load_checkpoint_into(model, tmp_path / "x.pth")


def test_load_report_names_loaded_resized_left_and_unexpected() -> None:
    import backbones
    from backbones.engine.checkpoint.pretrained import report_load

    src = backbones.MixerViT(dict(preset="vit-tiny", depth=1), img_size=64)
    dst = backbones.MixerViT(**TINY)
    state = {k: v for k, v in src.state_dict().items() if not k.startswith("norm.")}
    state["extra.weight"] = torch.ones(2)
    state["cls_token"] = state["cls_token"].double()  # a float tensor of another width is cast, and said
    report = report_load(dst, state, "src.pth")
    total = len(dst.state_dict())
    assert (report.total, report.loaded) == (total, total - 2)
    assert report.resized == [("pos_embed.pos_embed", (1, 17, 192), (1, 5, 192))]
    assert report.left == ["norm.weight", "norm.bias"] and report.unexpected == ["extra.weight"]
    line = report.line()
    assert line.startswith(f"loaded src.pth: {total - 2} of {total} tensors; resized pos_embed.pos_embed 1x17x192 -> "
                           f"1x5x192; cast cls_token float64 -> float32; left at init: norm.weight, norm.bias; "
                           f"unexpected: extra.weight"), line
    torch.testing.assert_close(dst.cls_token, src.cls_token)
