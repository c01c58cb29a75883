"""Atomic, durable file writing: the one writer every output of the program goes through.

A file is written to a temporary name in the target's folder (``.<name>.<random>.tmp``), flushed
and fsync'ed, then renamed over the target (and the folder fsync'ed), so an interrupted or crashed
run never leaves a half-written file behind and a finished write survives a power cut. The
temporary file gets the usual permissions (0666 minus the umask), not mkstemp's 0600.
"""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = '.tmp'


@contextmanager
def atomic_path(path, suffix=TEMP_SUFFIX):
    """Yield a temporary path beside `path`; on a clean exit it is fsync'ed and renamed to `path`.

    For writers that want a file name (ffmpeg, np.save to a path); on an exception the temporary
    file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path, write_fn, suffix=TEMP_SUFFIX):
    """Call ``write_fn(binary file object)`` on a temporary file and move it to `path` when it succeeds."""
    with atomic_path(path, suffix) as tmp:
        with open(tmp, 'wb') as f:
            write_fn(f)


def atomic_write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:       # some systems cannot open folders; the rename is done all the same
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
