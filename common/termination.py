"""SIGTERM as an exception: how a pre-empted or stopped run ends at once and cleanly.

A scheduler that pre-empts a job (SLURM), and torchrun when it stops its workers (one of them died,
or it was itself signalled), send SIGTERM first and SIGKILL after a grace period. Python's default
for SIGTERM is to die on the spot, skipping every ``finally``; inside `raising_on_sigterm` the
signal raises `Terminated` in the main thread instead, at the next Python instruction, so the
program unwinds like a Ctrl-C: the checkpoint being written (`common.io.atomic`) is abandoned and
its temporary file removed, so the file is complete or absent; the folder lock is released; the
program exits with `EXIT_TERMINATED` (`cli.entry.run_program`).

`Terminated` is a KeyboardInterrupt, so every place that makes Ctrl-C safe (the atomic writer
holds both signals back while it creates or removes its temporary file) treats SIGTERM alike.
"""
import signal
import threading
from contextlib import contextmanager

__all__ = ['EXIT_TERMINATED', 'Terminated', 'raising_on_sigterm', 'is_raising_handler']

# 128 + 15: the status a shell reports for a process ended by SIGTERM, so wrappers and schedulers
# that treat "killed by SIGTERM" as requeueable (e.g. slurm.conf RequeueExit=143) treat this alike.
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (pre-emption, torchrun stopping the workers): unwind and exit."""


def _raise_terminated(signum, frame):
    raise Terminated()


def is_raising_handler(signum):
    """Whether `signum`'s current handler raises an exception in the main thread (SIGINT: Python's
    default; SIGTERM: inside `raising_on_sigterm`), i.e. whether the signal can cut Python code in half."""
    handler = signal.getsignal(signum)
    return handler is (signal.default_int_handler if signum == signal.SIGINT else _raise_terminated)


@contextmanager
def raising_on_sigterm():
    """Within the block, SIGTERM raises `Terminated` (main thread only; elsewhere: no effect).

    The previous handler is put back afterwards, so calling a program's ``main`` in-process (tests)
    leaves the caller's handler alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
