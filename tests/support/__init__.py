"""What the tests share: the repository root, the shipped digits configs, building configs and models as mmengine
does, small training configs, running a tool, comparing training states, a loopback HTTP server.

The tests import it as ``tests.support`` (pytest puts the repository root on the import path: ``tests`` is a
package); nothing here edits ``sys.path``."""
from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]



def digits_config(mixer: str) -> Path:
    """The shipped digits config of a mixer (lower-case name, e.g. ``'reattention'``)."""
    return ROOT / f"configs/classification/digits/mixervit_{mixer}-p4-w96-d4_1xb64-40e_digits-32px.py"


DIGITS_CFG = digits_config("selfattention")


def load_cfg(path: str | Path):  # noqa: ANN201
    """Load a config of the zoo with mmengine (imports ``backbones`` through custom_imports)."""
    from mmengine.config import Config

    return Config.fromfile(str(path))


def build_classifier(cfg):  # noqa: ANN001, ANN201
    """Build a config's model as mmengine's Runner does (see ``backbones.engine.runner.config.build_model``)."""
    from backbones.engine.runner.config import build_model

    return build_model(cfg)


def small_config(tmp_path: Path, data_root: Path, base: Path = DIGITS_CFG, extra: str = "",
                 train_images: int = 128, epochs: int = 2) -> Path:
    """A config inheriting ``base`` that trains a few iterations in-process (no workers)."""
    cfg = tmp_path / "small.py"
    cfg.write_text(f"""
_base_ = ['{base}']
data_root = '{data_root}'
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root, indices={train_images}), **loader)
val_dataloader = dict(batch_size=64, dataset=dict(data_root=data_root, indices=64), **loader)
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={epochs}, val_interval={epochs})
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1, save_best=None))
{extra}
""")
    return cfg


def run_tool(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def assert_same_training_state(a: dict, b: dict) -> None:
    """Two checkpoints hold the same weights and the same optimizer state, bit for bit."""
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        for k in sa[i]:
            assert torch.equal(torch.as_tensor(sa[i][k]), torch.as_tensor(sb[i][k])), (i, k)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port, 2 s socket timeout) while the block runs; yields the
    base URL. Bounded: loopback only, this folder only, shut down when the block ends."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    httpd.timeout = 2
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
