"""Atomic file writing: write to a temporary file in the same folder, then rename over the target.

An interrupted run therefore never leaves a half-written file behind.
"""
import os
import tempfile
from pathlib import Path


def atomic_write(path, write_fn, suffix='.tmp'):
    """Call ``write_fn(file_object)`` on a temp file (binary) and move it to `path` when it succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + '.', suffix=suffix)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)    # mkstemp makes 0600 files; give the usual permissions
    try:
        with os.fdopen(fd, 'wb') as f:
            write_fn(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))
