"""Process-wide memory behaviour, shared by the CLI process and the parse worker."""
from __future__ import annotations

import ctypes


def return_freed_memory() -> None:
    """Keep large buffers (mail bodies, attachments) out of the heap, so freeing returns them.

    glibc raises its mmap threshold after the first large free; from then on each mail body lands
    in the heap and the process keeps growing through a long back-fill. Pinning it keeps RSS flat.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass
