"""Small GANs for the generation tests: a tiny ConditionalGAN, a batch of random digits, its two optimizers, a
parameter snapshot, and a few-iteration config of the shipped self-attention GAN."""
from __future__ import annotations

from pathlib import Path

import torch

from backbones.generation import ConditionalGAN
from tests.support import ROOT

CONFIG = ROOT / "configs/generation/digits/sagan_selfattention-w16_1xb32-1k_digits-32px.py"


def tiny_gan(mixer: str | None = "SelfAttention", channels: int = 1, n_disc: int = 1,
             ema: float | None = 0.01) -> ConditionalGAN:
    attention = None if mixer is None else dict(mixer=mixer, num_heads=2)
    return ConditionalGAN(
        generator=dict(type="SAGANGenerator", out_channels=channels, base_width=8, noise_dim=16, attention=attention),
        discriminator=dict(type="SAGANDiscriminator", in_channels=channels, base_width=8, attention=attention),
        n_disc=n_disc, ema_momentum=ema)


def batch(n: int = 6, channels: int = 1) -> dict:
    from mmengine.structures import BaseDataElement

    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (channels, 32, 32), dtype=torch.uint8, generator=g) for _ in range(n)],
                data_samples=[BaseDataElement(gt_label=torch.tensor(i % 10), metainfo=dict(sample_idx=i))
                              for i in range(n)])


def optimizers(model: ConditionalGAN, g_lr: float = 1e-3, d_lr: float = 1e-3):  # noqa: ANN201
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

    cfg = dict(generator=dict(optimizer=dict(type="Adam", lr=g_lr, betas=(0.0, 0.9))),
               discriminator=dict(optimizer=dict(type="Adam", lr=d_lr, betas=(0.0, 0.9))))
    return OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type="GANOptimWrapperConstructor", optim_wrapper_cfg=cfg))(model)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in module.named_parameters()}


def tiny_config(tmp_path: Path, data_root: Path, iters: int, validate: bool = True) -> Path:
    """The shipped self-attention config, width 8, batch 8, ``iters`` iterations, checkpoints every 2."""
    cfg = tmp_path / f"gan{iters}{int(validate)}.py"
    val = (f"val_dataloader = dict(batch_size=32, dataset=dict(data_root=data_root, indices=40))\n"
           f"test_dataloader = val_dataloader\n"
           f"val_evaluator = dict(data_root=data_root, classifier_path='{tmp_path}/cnn.pth', classifier_images=200,"
           f" classifier_epochs=1)\n"
           f"test_evaluator = val_evaluator\n") if validate else \
        "val_dataloader = None\nval_cfg = None\nval_evaluator = None\n"
    cfg.write_text(f"""
_base_ = ['{CONFIG}']
data_root = '{data_root}'
model = dict(generator=dict(base_width=8), discriminator=dict(base_width=8))
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root, indices=64))
{val}
train_cfg = dict(max_iters={iters}, val_interval={iters})
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1, save_best=None))
""")
    return cfg
