"""glibc malloc tuning for large tensors on the CPU.

By default glibc serves allocations above a threshold with fresh mmap()s and unmaps them on free,
so every large activation of every batch is page-faulted in again (measured here: up to 40 % of
CPU time in the kernel during evaluation). `tune_malloc` makes such allocations reuse the heap
instead: no mmap for allocations, the heap grows and is kept in steps of `pad_bytes`. Same math,
more speed (see benchmarks/README.md); peak memory grows by up to `pad_bytes`.

Set POSEFORMER_NO_MALLOC_TUNING=1 to keep glibc's defaults. No effect on other C libraries.
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4


def tune_malloc(pad_bytes=1 << 30):
    """Apply the tuning; returns True when glibc accepted all three settings."""
    if os.environ.get('POSEFORMER_NO_MALLOC_TUNING') or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok &= mallopt(M_TOP_PAD, int(pad_bytes)) == 1
    ok &= mallopt(M_TRIM_THRESHOLD, int(pad_bytes)) == 1
    return bool(ok)
