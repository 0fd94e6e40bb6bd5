"""What the deploy pipeline is asked to do, in one object validated once: the precision of the deploy form, the
calibration of int8 activations and compilation. The test tool, the export tool and :class:`~backbones.deploy.hook.
DeployHook` build it from their flags or arguments; the pipeline takes it as it is."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from backbones.deploy.precision import PRECISIONS

#: the sets calibration may read.
CALIBRATION_SETS = ("train", "val")


@dataclass(frozen=True)
class DeployOptions:
    """The deploy form's options.

    Args:
        precision: ``fp32``, ``bf16`` or ``int8`` (:mod:`backbones.deploy.precision`).
        calibrate: with ``int8``: 0 quantizes activations at run time (per call: results depend slightly on the
            batch); N > 0 fixes their scales on N batches of the ``calibrate_from`` set (batch-independent).
        calibrate_from: ``'train'`` or ``'val'``.
        compile: compile the deploy form with ``torch.compile``.
        autotune: with ``compile``: try inductor's GEMM templates too.

    Raises:
        ValueError: an unknown precision or set, a negative count, calibration without int8, autotuning without
            compiling (the option and the value named).
    """

    precision: str = "fp32"
    calibrate: int = 0
    calibrate_from: str = "train"
    compile: bool = False
    autotune: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r}: expected one of {list(PRECISIONS)}")
        if isinstance(self.calibrate, bool) or not isinstance(self.calibrate, int) or self.calibrate < 0:
            raise ValueError(f"calibrate={self.calibrate!r}: expected a number of batches >= 0")
        if self.calibrate and self.precision != "int8":
            raise ValueError(f"calibrate={self.calibrate} calibrates int8 activations; precision is "
                             f"{self.precision!r}, expected 'int8'")
        if self.calibrate_from not in CALIBRATION_SETS:
            raise ValueError(f"calibrate_from={self.calibrate_from!r}: expected 'train' or 'val'")
        if self.autotune and not self.compile:
            raise ValueError("autotune=True tunes the compilation: it needs compile=True")

    def as_dict(self) -> dict:
        """The options as keyword arguments (e.g. of ``dict(type='DeployHook', ...)`` in a config)."""
        return asdict(self)
