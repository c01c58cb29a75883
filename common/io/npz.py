"""Reading and writing the community `.npz` files without ever executing code from them.

The Human3.6M files keep Python dicts inside 0-d object arrays, which numpy stores as pickles.
`np.load(..., allow_pickle=True)` would run whatever a pickle asks for, so object arrays are read
here with a restricted unpickler that can rebuild only numpy arrays, dtypes, scalars and plain
containers (dict, list, tuple, str, numbers). Any other object makes loading fail with a
`UserError` naming the file; nothing from the file runs.
"""
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_write

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

# (module, name) -> object the unpickler may build. Both numpy 1 and numpy 2 module paths appear
# in files written by the community tools.
_ALLOWED_GLOBALS = {}
for _module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
    _ALLOWED_GLOBALS[(_module, '_reconstruct')] = _multiarray._reconstruct
    _ALLOWED_GLOBALS[(_module, 'scalar')] = _multiarray.scalar
_ALLOWED_GLOBALS[('numpy', 'ndarray')] = np.ndarray
_ALLOWED_GLOBALS[('numpy', 'dtype')] = np.dtype
_ALLOWED_GLOBALS[('collections', 'OrderedDict')] = dict
# Protocol-2 pickles encode raw bytes as latin-1 text through codecs.encode (pure data).
_ALLOWED_GLOBALS[('_codecs', 'encode')] = lambda text, encoding='latin1': text.encode(encoding)


def _dtype_classes():
    import numpy.dtypes as dtypes  # numpy >= 1.25 pickles dtypes through these classes
    return {('numpy.dtypes', name): getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')}


try:
    _ALLOWED_GLOBALS.update(_dtype_classes())
except ImportError:
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f'refusing to load {module}.{name}') from None


def _restricted_loads(data):
    return _RestrictedUnpickler(io.BytesIO(data), encoding='latin1').load()


def load_npz(path, required_keys=(), hint='See data/README.md for how to obtain and prepare the data files.'):
    """Load every entry of an npz file into a dict.

    Plain arrays come back as arrays; 0-d object arrays (pickled dicts) come back as the object
    inside (`.item()`); other object arrays as object ndarrays. Raises `UserError` for a missing
    file, a file that is not an npz, an entry that holds anything but data, or a missing key.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f'file not found: {path}. {hint}')
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f'{path} is not a readable .npz archive ({exc}); re-create or re-download it. {hint}') from None
    entries = {}
    with archive:
        for member in archive.namelist():
            if not member.endswith('.npy'):
                continue
            key = member[:-len('.npy')]
            try:
                entries[key] = _read_member(archive, member)
            except pickle.UnpicklingError as exc:
                raise UserError(f'{path}: entry {key!r} contains objects other than arrays and plain data '
                                f'({exc}); it was not loaded. Only use data files from a source you trust, '
                                f'or re-create it with the scripts in data/.') from None
            except (ValueError, EOFError, zipfile.BadZipFile, OSError) as exc:
                raise UserError(f'{path}: entry {key!r} is corrupt ({exc}). {hint}') from None
    missing = [k for k in required_keys if k not in entries]
    if missing:
        raise UserError(f'{path} has no {", ".join(repr(k) for k in missing)} entry (it has: '
                        f'{", ".join(sorted(entries)) or "nothing"}); is it the right file? {hint}')
    return entries


def _read_member(archive, member):
    with archive.open(member) as f:
        raw = f.read()
    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = _restricted_loads(raw[stream.tell():])
    if not isinstance(array, np.ndarray):
        raise pickle.UnpicklingError(f'expected an array, found {type(array).__name__}')
    if array.shape == ():
        return array.item()
    return array


def save_npz(path, **entries):
    """Write entries with `np.savez_compressed` atomically (temp file in the same folder + rename).

    Dict or list values are stored as 0-d object arrays, as the community files do.
    """
    arrays = {}
    for key, value in entries.items():
        if isinstance(value, (dict, list, tuple)):
            holder = np.empty((), dtype=object)
            holder[()] = value
            value = holder
        arrays[key] = value
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays), suffix='.tmp.npz')
