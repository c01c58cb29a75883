"""One training per checkpoint folder, and no silent replacement of an earlier run's checkpoints: the lock of
`common.io.checkpoint_folder.CheckpointFolder.claim` (which owns the file names).

    with claim_checkpoint_folder(folder, resume_from=path_or_None, overwrite=False):
        ... train, writing checkpoints into folder ...

While the block runs, this process holds an exclusive lock (``fcntl.flock`` on ``.poseformer.lock``
in the folder, which records the holder's process id and host): a second training into the same
folder is refused at once, naming the holder. The kernel drops the lock when the process ends,
however it ends (even SIGKILL), and the lock file is removed on a normal exit.

Once locked, the folder is checked: if it holds checkpoints a training writes (`is_training_checkpoint`:
``epoch_N.bin``, ``best_epoch.bin``, ``last_epoch.bin``) the run is refused unless it resumes from a
file in that folder or ``overwrite`` is set, so a new run never replaces a better ``best_epoch.bin``
of an earlier one. Other files (e.g. released checkpoints such as ``detected81f.bin``) are no
obstacle. Finally, temporary files left by a writer that was killed (`common.io.atomic`) are removed.

The folders this claim created are removed again when the block ends with them empty (a run refused or
stopped before its first checkpoint leaves no empty folder behind); a folder that existed is left alone.

On systems without ``fcntl`` (Windows) the folder is still checked but not locked.
"""
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from common.errors import UserError
from common.io.checkpoint_folder import is_training_checkpoint
from common.io.writable import check_output_folder
from common.io.atomic import remove_stale_temporaries

try:
    import fcntl
except ImportError:         # Windows: no advisory locks; the folder check still applies
    fcntl = None

__all__ = ['LOCK_NAME', 'claim_checkpoint_folder', 'hold_folder', 'training_checkpoints']

LOCK_NAME = '.poseformer.lock'


def training_checkpoints(folder):
    """The training checkpoints in `folder` (sorted names; none when the folder does not exist)."""
    try:
        return sorted(name for name in os.listdir(folder) if is_training_checkpoint(name))
    except (FileNotFoundError, NotADirectoryError):
        return []


@contextmanager
def claim_checkpoint_folder(folder, resume_from=None, overwrite=False):
    """Create `folder` if needed and hold it for one training: locked, checked, cleaned; yields its Path.

    Args:
        folder: the checkpoint folder of the run.
        resume_from: the checkpoint file the run resumes from, if any; a resume from a file inside
            `folder` continues the run whose checkpoints are there.
        overwrite: allow replacing the training checkpoints already in `folder`.

    Raises:
        UserError (setting ``checkpoint``): the folder cannot be created or written, or another
            process is training into it (its process id is named when known).
        UserError (setting ``overwrite``): the folder holds another run's checkpoints.
    """
    started = time.time()
    folder = Path(folder)
    created = _make_folder(folder)
    try:
        lock = _acquire(folder)
        try:
            _refuse_earlier_run(folder, resume_from, overwrite)
            remove_stale_temporaries(folder, older_than=started)
            yield folder
        finally:
            _release(folder, lock)
    finally:
        _remove_if_empty(created)


def _make_folder(folder):
    """Create `folder` and its missing parents; returns the folders created, innermost first."""
    check_output_folder(folder, 'checkpoint')       # a file in the way, a read-only parent: named
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f'{folder}: cannot create the checkpoint folder ({e.strerror or e}); choose a '
                        'writable location', setting='checkpoint') from None
    return [path for path in missing if path.is_dir()]


def _remove_if_empty(folders):
    """Remove each of `folders` (innermost first) that is empty; stop at the first that is not."""
    for path in folders:
        try:
            path.rmdir()
        except OSError:          # not empty (or gone): the folders above it are not empty either
            return


@contextmanager
def hold_folder(folder, activity, setting):
    """Hold the existing `folder` for this process alone while the block runs (the lock of a training,
    for any program that writes into a folder). ``activity``: what the holder does, e.g. ``'a video_to_3d
    run'``, named when a second one is refused (UserError with `setting`)."""
    lock = _acquire(Path(folder), activity, setting)
    try:
        yield Path(folder)
    finally:
        _release(Path(folder), lock)


def _acquire(folder, activity='training', setting='checkpoint'):
    """Open and lock the folder's lock file; returns its descriptor (None without fcntl)."""
    if fcntl is None:
        return None
    path = folder / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise UserError(f'{folder}: cannot write into the folder ({e.strerror or e}); '
                            'choose a writable folder', setting=setting) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            what = 'another training' if activity == 'training' else f'another {activity}'
            raise UserError(f'{folder}: {what} ({holder}) is writing into this folder; wait until it ends or '
                            'choose another folder', setting=setting) from None
        # The previous holder removes the file when it ends: make sure ours is still the file at `path`.
        if _same_file(fd, path):
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f'{os.getpid()} {socket.gethostname()}\n'.encode())
    return fd


def _release(folder, fd):
    if fd is None:
        return
    try:
        if _same_file(fd, folder / LOCK_NAME):
            os.remove(folder / LOCK_NAME)     # while still locked: a waiting process re-checks the file
    finally:
        os.close(fd)                          # releases the lock


def _same_file(fd, path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _read_holder(fd):
    """'process 1234 on host' from a lock file (or a vaguer phrase when it says nothing usable)."""
    try:
        fields = os.pread(fd, 200, 0).decode(errors='replace').split()
    except OSError:
        fields = []
    if len(fields) >= 2 and fields[0].isdigit():
        return f'process {fields[0]} on {fields[1]}'
    return 'another process'


def _refuse_earlier_run(folder, resume_from, overwrite):
    if overwrite:
        return
    found = training_checkpoints(folder)
    if not found or (resume_from is not None and _inside(resume_from, folder)):
        return
    shown = ', '.join(found[:4]) + (f' and {len(found) - 4} more' if len(found) > 4 else '')
    raise UserError(f'not given: {folder} holds the checkpoints of an earlier run ({shown}) that this '
                    'training would replace; add it to replace them, resume from one of them, or choose '
                    'another checkpoint folder', setting='overwrite')


def _inside(path, folder):
    """Whether the file `path` lies directly in `folder` (compared as resolved paths)."""
    return Path(path).resolve().parent == Path(folder).resolve()
