"""Checks that an output can be written, made BEFORE any work, so a long run never fails at its end.

`check_output_file` / `check_output_folder` raise `UserError(setting=...)` when the path (or the folder
it would be created in) cannot be written: a file where a folder is needed or the reverse, a path
under a file, a folder without write permission. They create nothing. (A full disk can only show
when writing; the atomic writer then keeps the previous file.)
"""
import os
from pathlib import Path

from common.errors import UserError

_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)


def _first_existing(path):
    """The path itself or its nearest existing ancestor."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_folder_chain(folder, shown, setting):
    """`folder` exists as a writable folder or can be created inside one."""
    existing = _first_existing(folder)
    if not existing.is_dir():
        raise UserError(f'{shown}: {existing} is a file, so the folder {folder} cannot be created there; '
                        'choose another path', setting=setting)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f'{shown}: no permission to write in {existing}; choose a writable folder', setting=setting)


def check_file_name(path, setting, example='out'):
    """`path` names a file: not an existing folder, nor a name ending in a path separator (``new/`` names a
    folder even before it exists; written as a file it would become ``new/`` + suffix, a hidden file there).

    `example`: a file name shown inside the folder in the message.
    """
    text = os.fspath(path)
    if os.path.isdir(text):
        raise UserError(f'{text}: is a folder; give a file name, e.g. {os.path.join(text, example)}', setting=setting)
    if text.endswith(_SEPARATORS):
        raise UserError(f'{text}: names a folder (it ends in {text[-1]}); give a file name, e.g. {text}{example}',
                        setting=setting)


def check_output_file(path, setting):
    """`path` can be written as a file (replacing an existing file is fine)."""
    check_file_name(path, setting)
    path = Path(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f'{path}: the file is read-only; choose another name or make it writable', setting=setting)
    _check_folder_chain(path.parent, path, setting)


def check_output_folder(path, setting):
    """`path` is, or can be created as, a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f'{path}: is a file, not a folder; choose a folder', setting=setting)
    _check_folder_chain(path, path, setting)
