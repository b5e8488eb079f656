"""Disk image headers: format and virtual size. Pure.

A qcow2 file starts with the magic `QFI\\xfb`; its virtual size is the
big-endian 64-bit integer at offset 24 (QEMU's qcow2 spec). Anything else is
taken as raw, whose virtual size is its length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

QCOW2_MAGIC = b"QFI\xfb"


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int


def image_info(head: bytes, length: int) -> ImageInfo:
    if head[:4] == QCOW2_MAGIC:
        if len(head) < 32:
            raise ValueError("truncated qcow2 header")
        (size,) = struct.unpack(">Q", head[24:32])
        return ImageInfo("qcow2", size)
    return ImageInfo("raw", length)
