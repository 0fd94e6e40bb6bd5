"""The class-per-folder layout every image task reads (``<split>/<class>/<image>``): its class names, and the one
way every image loader of the zoo decodes a file (bit depth, alpha) and names a file it cannot decode."""
from __future__ import annotations

import os
import os.path as osp
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def class_folders(folder: str) -> list[str]:
    """The sorted sub-folder names of ``folder`` (the class names of a class-per-folder layout).

    Raises:
        FileNotFoundError: ``folder`` does not exist (named, with where it comes from).
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f"image folder {folder} does not exist (check data_root / data_prefix)")
    return sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))


class ImageFileError(ValueError):
    """An image file cannot be loaded (empty, truncated, too large, not an image, transparent); names the file."""


#: modes with an alpha channel (a palette image may carry transparency too: ``info['transparency']``)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _open(path: str):  # noqa: ANN202
    """``PIL.Image.open`` with every failure (missing, truncated, a decompression bomb, not an image) as
    :class:`ImageFileError` naming the file and its size."""
    from PIL import Image

    try:
        return Image.open(path)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:
        raise _named(path, e) from e


def _named(path: str, e: BaseException) -> ImageFileError:
    size = f"{os.path.getsize(path)} bytes" if osp.isfile(path) else "missing"
    return ImageFileError(f"{path} ({size}): cannot be decoded: {type(e).__name__}: {str(e).strip()}")


def _transparency_problem(img, path: str) -> str | None:  # noqa: ANN001
    """Why ``img`` (opened, not decoded) cannot be read without guessing a background, or None."""
    if img.mode not in _ALPHA_MODES and not (img.mode == "P" and "transparency" in img.info):
        return None
    alpha = img.convert("RGBA").getchannel("A") if img.mode in ("P", "PA") else img.getchannel("A")
    low = alpha.getextrema()[0]
    if low == 255:
        return None  # an opaque alpha channel: dropped
    return (f"{path}: {img.mode} image with transparent pixels (alpha down to {low}): every image loader of the zoo "
            f"drops the alpha channel, so what is drawn in alpha (ink on a transparent background) would be lost "
            f"(read as a blank image); save it without transparency (e.g. composited on the background you mean)")


def check_image_file(path: str) -> None:
    """Refuse an image file that :func:`decode_image` refuses, reading only what that needs: the header, and the
    alpha channel of an image that has one. The classification loader (OpenCV, through mmcv's
    ``LoadImageFromFile``) calls it for each sample: OpenCV drops alpha silently and reads 16-bit images as
    :func:`decode_image` does (the high byte).

    Raises:
        ImageFileError: naming the file.
    """
    with _open(path) as img:
        try:
            problem = _transparency_problem(img, path)
        except (OSError, ValueError) as e:
            raise _named(path, e) from e
    if problem:
        raise ImageFileError(problem)


def decode_image(path: str, channels: int) -> np.ndarray:
    """An image file -> (H, W, channels) uint8 array, grayscale (``channels=1``) or RGB (3), decoded the same way
    in every task: 16-bit images keep their high byte (as OpenCV reads them: 65535 -> 255, 32768 -> 128), an
    alpha channel is dropped when it is opaque and refused otherwise, anything else Pillow reads is converted.

    Raises:
        ImageFileError: naming the file: it cannot be decoded (truncated, a decompression bomb, not an image),
            has transparent pixels, or is a floating-point image.
    """
    import numpy as np

    if channels not in (1, 3):
        raise ValueError(f"decode_image: channels must be 1 or 3, got {channels}")
    with _open(path) as img:
        try:
            img.load()
            problem = _transparency_problem(img, path)
            if problem:
                raise ImageFileError(problem)
            if img.mode == "F":
                raise ImageFileError(f"{path}: a floating-point image (mode F); expected 8- or 16-bit pixels")
            if img.mode.startswith("I"):  # 16-bit (I;16, I;16B) or 32-bit integer grayscale
                array = np.asarray(img).astype(np.int64)
                if array.min() < 0 or array.max() > 65535:
                    raise ImageFileError(f"{path}: {img.mode} pixels outside 0..65535; expected 8- or 16-bit pixels")
                gray = (array >> 8).astype(np.uint8)
                array = gray[:, :, None] if channels == 1 else np.repeat(gray[:, :, None], 3, axis=2)
                return np.ascontiguousarray(array)
            array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
        except ImageFileError:
            raise
        except (OSError, ValueError, SyntaxError) as e:
            raise _named(path, e) from e
    return array[:, :, None] if channels == 1 else array
