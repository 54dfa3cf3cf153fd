"""PNG output with numpy + zlib only (no imaging dependency)."""

import os
import struct
import zlib

import numpy as np
from jaxtyping import ArrayLike, Float


def _srgb(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer function (linear radiance -> display value)."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def save_image(path: str | os.PathLike, image: Float[ArrayLike, "..."]) -> None:
    """Write `(height, width, 3)` linear radiance as an 8-bit sRGB PNG.

    The sRGB transfer curve (gamma encoding) is applied to values in [0, 1].

    Values outside [0, 1] are clipped; NaNs are written as 0.

    Raises:
        ValueError: `image` is not `(height, width, 3)` or is empty.
    """
    img = np.nan_to_num(np.asarray(image, dtype=np.float64))
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(
            f"`image` must have shape (height, width, 3); got {img.shape}."
        )
    data = np.round(_srgb(img) * 255).astype(np.uint8)
    h, w, _ = data.shape
    raw = b"".join(b"\x00" + data[i].tobytes() for i in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"sRGB", b"\x00")
    png += chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
