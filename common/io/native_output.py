"""Keeping what native libraries print out of the program's output.

MediaPipe's C++ threads print TensorFlow Lite's ``INFO:`` lines and absl notices, OpenCV its
``[ WARN:0@...]`` lines, straight to file descriptor 2, whenever they like (at start-up, when a graph
starts a model, when a camera cannot be opened). `NativeStderrSilenced` sends descriptor 2 to
/dev/null while a detector or a capture lives, and keeps Python's ``sys.stderr`` on the real stream
(when it was writing to descriptor 2; a captured or replaced stream is left alone); our own
messages say what went wrong instead. `native_stderr_silenced()` is the same as a context manager.
"""
import io
import os
import sys
from contextlib import contextmanager


class NativeStderrSilenced:
    """File descriptor 2 sent to /dev/null until ``restore()``; Python's own ``sys.stderr`` (warnings,
    progress bars) keeps writing to the real stream through a copy of the descriptor."""

    def __init__(self):
        self._saved = None
        self._replaced = None
        try:
            self._saved = os.dup(2)
        except OSError:
            return
        if sys.stderr is not None:
            sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        try:
            uses_fd2 = sys.stderr is not None and sys.stderr.fileno() == 2
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            uses_fd2 = False      # a captured / replaced stream (pytest, notebooks): leave it alone
        if uses_fd2:
            self._replaced = sys.stderr
            sys.stderr = os.fdopen(os.dup(self._saved), 'w', buffering=1, encoding=self._replaced.encoding,
                                   errors='backslashreplace')

    def restore(self):
        if self._saved is None:
            return
        if self._replaced is not None:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = self._replaced
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None


@contextmanager
def native_stderr_silenced():
    silenced = NativeStderrSilenced()
    try:
        yield
    finally:
        silenced.restore()
