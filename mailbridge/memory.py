"""Process-wide memory behaviour, shared by the CLI process and the parse worker."""
from __future__ import annotations

import ctypes


KB = 1024
DEFAULT_MMAP_FROM = 256 * KB


def return_freed_memory(mmap_from: int = DEFAULT_MMAP_FROM) -> None:
    """Keep large buffers (mail bodies, attachments) out of the heap, so freeing returns them.

    glibc raises its mmap threshold after the first large free; from then on each mail body lands
    in the heap and the process keeps growing through a long back-fill. Pinning it keeps RSS flat.
    Each buffer from `mmap_from` up is mapped fresh, its pages faulted in and zeroed by the kernel
    (about 0.3 ms per 600 KB here), so a process that holds one mail at a time may set it higher.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, mmap_from)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass
