"""The class-conditional GAN (an mmengine ``BaseModel``), its data preprocessor and the hinge loss.

Training follows mmengine's documented GAN recipe: ``train_step(data, optim_wrapper)`` receives an
``OptimWrapperDict`` with a ``'generator'`` and a ``'discriminator'`` wrapper (built by
:class:`~backbones.generation.optim.GANOptimWrapperConstructor`) and steps each on its own network's loss. Every
training iteration is one discriminator step; every ``n_disc``-th also a generator step (SNGAN: 5, SAGAN: 1 with
the two time-scale learning rates). An exponential moving average of the generator (``ema_momentum``) is kept
in the model, so it is saved and resumed with it and used for evaluation and sampling; until the generator's
``ema_start``-th step the average is a copy of the generator.

Data-efficient training (:mod:`backbones.generation.augment`): with ``augment`` set, every image the discriminator
sees - real and fake, in its own step and in the generator's - first passes the same differentiable augmentation
(DiffAugment; optionally adaptive, ADA), and ``lecam_weight`` > 0 adds LeCam's regulariser to the discriminator's
loss (its moving averages of the real and fake scores are buffers, saved and resumed).

Several processes: with mmengine's ``MMSeparateDistributedDataParallel`` (``model_wrapper_cfg``) each network is
wrapped on its own and this model's ``train_step`` still drives the step; the model reaches the unwrapped networks
through :meth:`ConditionalGAN.unwrap` where it needs their attributes.

Batches come from :class:`~backbones.generation.datasets.ImageFolderTensors`: ``inputs`` a list of (C, H, W)
uint8 tensors, ``data_samples`` a list of ``BaseDataElement`` with ``gt_label`` and the metainfo ``sample_idx``.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor, BaseModel, ExponentialMovingAverage
from mmengine.optim import OptimWrapperDict
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement

from backbones.engine.runner.seeding import derive_seed
from backbones.generation.augment import DiffAugment, lecam_regulariser


def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
    """The discriminator's hinge loss (Lim & Ye 2017; SAGAN eq. 6): ``E relu(1 - D(x)) + E relu(1 + D(G(z)))``."""
    return dict(loss_d_real=F.relu(1 - real_scores).mean(), loss_d_fake=F.relu(1 + fake_scores).mean())


def hinge_g_loss(fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
    """The generator's hinge loss (SAGAN eq. 6): ``-E D(G(z), y)``."""
    return dict(loss_g=-fake_scores.mean())


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255] (rounded), any shape."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@MODELS.register_module()
class GANDataPreprocessor(BaseDataPreprocessor):
    """Stack (C, H, W) uint8 images into (B, C, H, W) float images in [-1, 1] (``x / 127.5 - 1``)."""

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=[(C, H, W)] * B, data_samples=[...])`` -> ``dict(inputs=(B, C, H, W), data_samples=...)``."""
        data = self.cast_data(data)
        inputs = data["inputs"]
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        return dict(inputs=inputs.float() / 127.5 - 1, data_samples=data.get("data_samples"))


def _rename(state_dict: dict, rename: Any) -> None:
    """Rename every key of ``state_dict`` by ``rename(key)`` in place, keeping the order."""
    items = [(rename(k), v) for k, v in state_dict.items()]
    state_dict.clear()
    state_dict.update(items)


def _wrapped_children(module: torch.nn.Module) -> list[str]:
    """Names of the children that a data-parallel wrapper holds (MMSeparateDistributedDataParallel wraps them)."""
    from torch.nn.parallel import DistributedDataParallel

    return [name for name, child in module.named_children() if isinstance(child, DistributedDataParallel)]


def _unwrapped_keys(module: torch.nn.Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    """state_dict post-hook: ``generator.module.x`` -> ``generator.x`` for wrapped children, so a checkpoint of a
    several-process run has the keys of a one-process run."""
    heads = [prefix + name + "." for name in _wrapped_children(module)]
    if heads:
        _rename(state_dict, lambda k: next((h + k[len(h) + 7:] for h in heads if k.startswith(h + "module.")), k))


def _wrapped_keys(module: torch.nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
    """load_state_dict pre-hook, the inverse of :func:`_unwrapped_keys`: ``generator.x`` -> ``generator.module.x``
    for wrapped children, so any checkpoint loads in any number of processes."""
    heads = [prefix + name + "." for name in _wrapped_children(module)]
    if heads:
        _rename(state_dict, lambda k: next((h + "module." + k[len(h):] for h in heads
                                            if k.startswith(h) and not k.startswith(h + "module.")), k))


@MODELS.register_module()
class ConditionalGAN(BaseModel):
    """A class-conditional GAN with hinge loss: generator, discriminator, optional generator EMA.

    Args:
        generator: config of the generator, (B, Z) noise and (B,) labels -> (B, C, H, W) in [-1, 1]
            (e.g. :class:`~backbones.generation.networks.SAGANGenerator`); needs a ``noise_dim`` attribute.
        discriminator: config of the discriminator, images and labels -> (B,) scores.
        n_disc: discriminator steps per generator step.
        ema_momentum: momentum of the generator's moving average (mmengine's convention: ``avg = (1 - m) avg
            + m param``); None: no average.
        eval_seed: the noise of the evaluation sample with ``sample_idx`` i is drawn from ``(eval_seed, i)``, so
            every evaluation of a checkpoint sees the same samples and the global generators are left alone.
        ema_start: generator steps during which the moving average is reset to a copy of the generator (0: it
            averages from the first step).
        augment: ``dict(policy='translation,cutout', p=1.0, ada_target=None, ...)``, the arguments of
            :class:`~backbones.generation.augment.DiffAugment`, or None for none.
        lecam_weight: weight of LeCam's regulariser in the discriminator's loss (0: none; the paper: 0.3).
        lecam_decay: decay of its moving averages of the discriminator's mean real and fake scores.
        aux_weight: weight of the auxiliary classification losses (AC-GAN, Odena et al. 2017; needs a discriminator
            with a class head): cross-entropy of the head on the real images in the discriminator's step
            (``loss_d_cls``) and on the fakes for their labels in the generator's (``loss_g_cls``); 0: none.
        channels_last: hold the networks' 4-d weights and the real batch in the channels-last memory format
            (oneDNN's convolutions: a GAN step at width 16 took 20-30% less CPU time).
        data_preprocessor: defaults to :class:`GANDataPreprocessor`.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, generator: dict, discriminator: dict, n_disc: int = 1, ema_momentum: float | None = None,
                 eval_seed: int = 0, ema_start: int = 0, augment: dict | None = None, lecam_weight: float = 0.0,
                 lecam_decay: float = 0.99, aux_weight: float = 0.0, channels_last: bool = False,
                 data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(type="GANDataPreprocessor"), init_cfg=init_cfg)
        if n_disc < 1:
            raise ValueError(f"ConditionalGAN: n_disc must be >= 1, got {n_disc}")
        if ema_start < 0 or lecam_weight < 0 or not 0 <= lecam_decay < 1:
            raise ValueError(f"ConditionalGAN: expected ema_start >= 0, lecam_weight >= 0 and 0 <= lecam_decay < 1, "
                             f"got {ema_start}, {lecam_weight}, {lecam_decay}")
        self.ema_start, self.lecam_weight, self.lecam_decay = ema_start, lecam_weight, lecam_decay
        if aux_weight < 0:
            raise ValueError(f"ConditionalGAN: aux_weight must be >= 0, got {aux_weight}")
        self.aux_weight = aux_weight
        self.augment = DiffAugment(**augment) if augment is not None else None
        self.register_buffer("lecam_ema", torch.zeros(2))  # moving averages of the mean real and fake scores
        self.generator = MODELS.build(generator)
        self.discriminator = MODELS.build(discriminator)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.generator.to(memory_format=self.memory_format)
        self.discriminator.to(memory_format=self.memory_format)
        self.n_disc, self.eval_seed = n_disc, eval_seed
        self.generator_ema = (ExponentialMovingAverage(self.generator, momentum=ema_momentum)
                              if ema_momentum is not None else None)
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))  # saved: resume keeps the G/D rhythm
        self.register_state_dict_post_hook(_unwrapped_keys)
        self.register_load_state_dict_pre_hook(_wrapped_keys)

    @property
    def noise_dim(self) -> int:
        """Z, the generator's noise width."""
        return self.unwrap(self.generator).noise_dim

    @staticmethod
    def unwrap(module: torch.nn.Module) -> torch.nn.Module:
        """``module`` itself, or the network inside a data-parallel wrapper (its ``module``)."""
        return getattr(module, "module", module)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The discriminator's scores (B,) of ``images`` after the augmentation (if any), what both steps use, and
        its class logits (B, K) with ``aux_weight`` > 0 (else None)."""
        if self.augment is not None:
            images = self.augment(images)
        if self.aux_weight > 0:
            return self.discriminator(images, labels, with_logits=True)
        return self.discriminator(images, labels), None

    def lecam(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        """Update the moving averages of the mean scores with this batch (the first batch sets them), then
        LeCam's term against them (:func:`~backbones.generation.augment.lecam_regulariser`), unweighted."""
        with torch.no_grad():
            means = torch.stack([real_scores.mean(), fake_scores.mean()])
            decay = self.lecam_decay if int(self.d_steps) > 0 else 0.0
            self.lecam_ema.mul_(decay).add_((1 - decay) * means)
        return lecam_regulariser(real_scores, fake_scores, self.lecam_ema[0], self.lecam_ema[1])

    @property
    def sampler(self) -> torch.nn.Module:
        """The network that draws samples: the moving average of the generator if kept, else the generator."""
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    @staticmethod
    def labels_of(data_samples: list[BaseDataElement], device: torch.device) -> torch.Tensor:
        """(B,) long labels from the samples' ``gt_label``."""
        return torch.stack([torch.as_tensor(s.gt_label).reshape(()) for s in data_samples]).long().to(device)

    def noise(self, n: int, device: torch.device, seeds: list[int] | None = None) -> torch.Tensor:
        """(n, Z) standard normal noise: from the global generator, or one draw per seed in ``seeds``."""
        if seeds is None:
            return torch.randn(n, self.noise_dim, device=device)
        rows = [torch.randn(self.noise_dim, generator=torch.Generator().manual_seed(s)) for s in seeds]
        return torch.stack(rows).to(device)

    @torch.no_grad()
    def generate(self, labels: torch.Tensor, noise: torch.Tensor | None = None,
                 seeds: list[int] | None = None) -> torch.Tensor:
        """(B,) labels -> (B, C, H, W) samples in [-1, 1] from :attr:`sampler` (in its current train/eval mode)."""
        if noise is None:
            noise = self.noise(len(labels), labels.device, seeds)
        return self.sampler(noise, labels)

    def train_step(self, data: dict | tuple | list, optim_wrapper: OptimWrapperDict) -> dict[str, torch.Tensor]:
        """One discriminator step and, every ``n_disc``-th call, one generator step.

        Args:
            data: a batch of real images and labels.
            optim_wrapper: ``OptimWrapperDict`` with keys ``'generator'`` and ``'discriminator'``, each over its
                own network's parameters.

        Returns:
            The logged losses: ``loss_d_real``, ``loss_d_fake``, ``loss_lecam`` (weighted; with LeCam), ``aug_p``
            (with augmentation) and, on generator steps, ``loss_g``.
        """
        g_optim, d_optim = optim_wrapper["generator"], optim_wrapper["discriminator"]
        data = self.data_preprocessor(data, True)
        real = data["inputs"].contiguous(memory_format=self.memory_format)
        labels = self.labels_of(data["data_samples"], real.device)
        with d_optim.optim_context(self.discriminator):
            with torch.no_grad():
                fake = self.generator(self.noise(len(labels), real.device), labels)
            scores, logits = self.discriminate(torch.cat([real, fake]), torch.cat([labels, labels]))
            real_scores, fake_scores = scores.split(len(labels))
            losses = hinge_d_loss(real_scores, fake_scores)
            if logits is not None:
                losses["loss_d_cls"] = self.aux_weight * F.cross_entropy(logits[:len(labels)], labels)
            if self.lecam_weight > 0:
                losses["loss_lecam"] = self.lecam_weight * self.lecam(real_scores, fake_scores)
            d_loss, log_vars = self.parse_losses(losses)
        if self.augment is not None:
            self.augment.observe(real_scores)
            log_vars["aug_p"] = self.augment.p.detach().clone()
        d_optim.zero_grad()  # nothing from an earlier generator step reaches this one
        d_optim.update_params(d_loss)
        self.d_steps += 1
        if int(self.d_steps) % self.n_disc == 0:
            self.discriminator.requires_grad_(False)
            try:
                with g_optim.optim_context(self.generator):
                    fake = self.generator(self.noise(len(labels), real.device), labels)
                    scores, logits = self.discriminate(fake, labels)
                    losses = hinge_g_loss(scores)
                    if logits is not None:
                        losses["loss_g_cls"] = self.aux_weight * F.cross_entropy(logits, labels)
                    g_loss, g_vars = self.parse_losses(losses)
                g_optim.zero_grad()
                g_optim.update_params(g_loss)
            finally:
                self.discriminator.requires_grad_(True)
            log_vars.update({k: v for k, v in g_vars.items() if k != "loss"})
            if self.generator_ema is not None:
                if int(self.d_steps) // self.n_disc <= self.ema_start:
                    self.generator_ema.steps.zero_()  # the next update copies the generator
                self.generator_ema.update_parameters(self.unwrap(self.generator))
        log_vars.pop("loss", None)
        return log_vars

    def predict(self, inputs: torch.Tensor, data_samples: list[BaseDataElement]) -> list[BaseDataElement]:
        """One class-conditional sample per real sample: its label, noise seeded by ``(eval_seed, sample_idx)``.

        Returns:
            The samples with ``fake_img`` and ``real_img`` ((C, H, W) uint8) set.
        """
        labels = self.labels_of(data_samples, inputs.device)
        seeds = [derive_seed(self.eval_seed, int(s.metainfo.get("sample_idx", i))) for i, s in enumerate(data_samples)]
        fake = to_uint8(self.generate(labels, seeds=seeds)).cpu()
        real = to_uint8(inputs).cpu()
        for i, sample in enumerate(data_samples):
            sample.set_data(dict(fake_img=fake[i], real_img=real[i]))
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples: list[BaseDataElement] | None = None,
                mode: str = "tensor") -> Any:
        """``'predict'``: :meth:`predict`; ``'tensor'``: (B, C, H, W) samples for the batch's labels; ``'loss'``:
        the hinge losses of both networks on this batch (no update)."""
        if mode == "predict":
            return self.predict(inputs, data_samples)
        labels = self.labels_of(data_samples, inputs.device)
        fake = self.generator(self.noise(len(labels), inputs.device), labels)
        if mode == "tensor":
            return fake
        if mode == "loss":
            scores = self.discriminator(torch.cat([inputs, fake]), torch.cat([labels, labels]))
            return {**hinge_d_loss(*scores.split(len(labels))), **hinge_g_loss(scores[len(labels):])}
        raise ValueError(f"ConditionalGAN: invalid mode {mode!r} (loss, predict or tensor)")
