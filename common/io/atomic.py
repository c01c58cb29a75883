"""Atomic, durable file writing: the one writer every output of the program goes through.

A file is written to a temporary name in the target's folder (``.<name>.<random>.tmp``), flushed
and fsync'ed, then renamed over the target (and the folder fsync'ed), so an interrupted or crashed
run never leaves a half-written file behind and a finished write survives a power cut. The
temporary file gets the usual permissions (0666 minus the umask), not mkstemp's 0600.

Ctrl-C: a KeyboardInterrupt that arrives while a writer runs C++ code (``torch.save`` calls the
file's ``write`` from C++, which reports the interrupt as a ``RuntimeError``) is raised again as
KeyboardInterrupt (of the same kind: SIGTERM's `common.termination.Terminated` stays one), so
programs exit with their Ctrl-C (or SIGTERM) status; a failed write hidden that way (disk
full) is raised again as its OSError. Creating and removing the temporary
file are not cut in half by Ctrl-C or SIGTERM (the interrupt is raised just after). Only SIGKILL or a power cut
can leave a temporary file: `remove_stale_temporaries` deletes those of a folder.
"""
import os
import re
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from common.termination import Terminated, is_raising_handler

TEMP_SUFFIX = '.tmp'

# mkstemp's names: prefix '.<name>.', 8 random characters, suffix '.tmp'
_TEMPORARY_NAME = re.compile(r'^\.(?P<target>.+)\.[a-z0-9_]{8}' + re.escape(TEMP_SUFFIX) + r'$')


@contextmanager
def atomic_path(path, suffix=TEMP_SUFFIX):
    """Yield a temporary path beside `path`; on a clean exit it is fsync'ed and renamed to `path`.

    For writers that want a file name (ffmpeg, np.save to a path); on an exception the temporary
    file is removed and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        with _ctrl_c_deferred():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix=suffix)
            os.close(fd)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            yield Path(tmp)
        except BaseException as exc:
            _raise_underlying(exc)
            raise
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with _ctrl_c_deferred():
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


def atomic_write(path, write_fn, suffix=TEMP_SUFFIX):
    """Call ``write_fn(binary file object)`` on a temporary file and move it to `path` when it succeeds."""
    with atomic_path(path, suffix) as tmp:
        with open(tmp, 'wb') as f:
            write_fn(f)


def atomic_write_text(path, text):
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write(path, lambda f: f.write(text.encode('utf-8')))


def is_temporary_name(name):
    """Whether a file name is one of this writer's temporary files (``.<name>.<random>.tmp``)."""
    return _TEMPORARY_NAME.match(name) is not None


def remove_stale_temporaries(folder, older_than):
    """Delete this writer's temporary files in `folder` last modified before `older_than` (a time.time()).

    Such files are left only by a process killed mid-write (SIGKILL, power cut); a write still in
    progress keeps touching its file, so pass the start of the current run. Returns the names removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not is_temporary_name(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < older_than:
                os.remove(entry.path)
                removed.append(entry.name)
        except FileNotFoundError:      # removed meanwhile
            pass
    return sorted(removed)


def _raise_underlying(exc):
    """Re-raise what a C++ writer hid in a RuntimeError: Ctrl-C as KeyboardInterrupt, a failed write as its OSError.

    ``torch.save`` calls the file's ``write`` from C++, which reports any exception there as a
    RuntimeError raised while handling it (the original is in the context chain).
    """
    if isinstance(exc, (KeyboardInterrupt, OSError)):
        return
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    interrupts = [e for e in chain if isinstance(e, KeyboardInterrupt)]
    if interrupts:
        raise type(interrupts[0])() from chain[0]
    for e in chain:
        if isinstance(e, OSError):
            raise e from chain[0]


@contextmanager
def _ctrl_c_deferred():
    """Hold Ctrl-C and SIGTERM back for a few statements that must run together; raise after them.

    Only in the main thread, and only for a signal whose handler raises (Python's default SIGINT
    handler; SIGTERM inside `common.termination.raising_on_sigterm`); elsewhere: no effect. The
    first signal received is raised again, as its handler would have: KeyboardInterrupt or Terminated.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if is_raising_handler(s)]
    received, previous = [], {}
    for signum in held:
        previous[signum] = signal.signal(signum, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for signum in held:
            signal.signal(signum, previous[signum])
    if received:
        if received[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated()


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
