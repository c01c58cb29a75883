"""Checkpoints: secure loading of the official release files and atomic saving in their layout.

File layout (official release, ``detected81f.bin`` / ``gt81f.bin``): ``torch.save`` of
``{'epoch': int, 'lr': float, 'random_state': numpy.random.RandomState, 'optimizer':
optimizer.state_dict(), 'model_pos': state_dict with every key prefixed 'module.'}``.

Files we write (``save_checkpoint``) keep ``epoch``, ``lr``, ``optimizer``, ``model_pos``
(``module.``-prefixed keys) and ``random_state`` (the training sampler's RandomState) so the
official script can evaluate them and resume from them (its resume reads exactly these five), and add
``config`` (the model's constructor arguments, `common.model.config.ModelConfig.to_dict`: the head
count included, which release files cannot tell), ``layouts`` (``{'joints': name, 'keypoints': name}``:
the `common.data.layouts.JointLayout` names of the training data's 3D poses and 2D keypoints, which
`common.model.loading.check_data_fit` compares with the data a file is used on), ``rng_state``
(`common.io.rng.capture_rng_state`, every generator as plain data: what our own resume uses) and
``extra``. A pickled RandomState is not plain data, so our files, like the release files, load
with the allow-list below (plain ``torch.load(path, weights_only=True)`` refuses them).

Loading never executes code from the file: ``torch.load(..., weights_only=True)`` with an
allow-list of exactly the numpy pieces a pickled ``RandomState`` and numpy arrays need. numpy's
own pickle helpers for RandomState (``numpy.random._pickle.__randomstate_ctor`` /
``__bit_generator_ctor``) call a callable taken from the pickle, so instead of allow-listing
them we map their names to restricted stand-ins (``_safe_randomstate_ctor``,
``_safe_bit_generator_ctor``) that can only build an MT19937 bit generator and a RandomState.

Putting the weights into a model (prefix, strict load, mismatch report) is `common.model.release`.
"""

import os
import pickle
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import torch

from common.distributed import unwrap_model
from common.errors import UserError
from common.io.atomic import atomic_write

__all__ = ["load_checkpoint", "save_checkpoint"]

_README = "checkpoint/README.md"


# ---------------------------------------------------------------------------------------------
# secure loading

class _PortableMT19937(np.random.MT19937):
    """The MT19937 a pickle builds: reads its state as numpy 1.x (a dict) or numpy >= 2 (``(dict, seed
    sequence)``) stores it, whatever numpy runs here; numpy 1.x alone cannot read numpy 2's form, so a
    checkpoint written where numpy 2 is installed would not load where numpy 1 is (the video extra pins
    numpy<2). The state goes to a plain ``np.random.MT19937`` (``plain``), which the RandomState gets."""

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
            state = state[0]          # numpy >= 2: (state, seed sequence); the state alone fixes the stream
        self.plain = np.random.MT19937()
        self.plain.state = state


def _plain_mt19937(bit_generator):
    """The plain ``np.random.MT19937`` of a built `_PortableMT19937` (a fresh one when no state was set)."""
    return getattr(bit_generator, 'plain', None) or np.random.MT19937()


def _safe_bit_generator_ctor(bit_generator="MT19937"):
    """Stand-in for ``numpy.random._pickle.__bit_generator_ctor``: only builds an MT19937."""
    if bit_generator == "MT19937" or bit_generator is np.random.MT19937:
        return _PortableMT19937()
    raise pickle.UnpicklingError(f"refusing to build bit generator {bit_generator!r}")


def _safe_randomstate_ctor(bit_generator_name="MT19937", bit_generator_ctor=None):
    """Stand-in for ``numpy.random._pickle.__randomstate_ctor``: only builds a RandomState.

    numpy >= 2 pickles ``(MT19937 instance,)``; numpy 1.x pickles ``('MT19937',)`` or
    ``('MT19937', __bit_generator_ctor)``. Any other constructor argument is refused.
    """
    if isinstance(bit_generator_name, np.random.MT19937):
        return np.random.RandomState(_plain_mt19937(bit_generator_name))
    if bit_generator_ctor not in (None, _safe_bit_generator_ctor):
        raise pickle.UnpicklingError("refusing a RandomState with a custom constructor")
    return np.random.RandomState(_plain_mt19937(_safe_bit_generator_ctor(bit_generator_name)))


def _legacy_randomstate_ctor():
    """Stand-in for numpy < 1.17's ``numpy.random.__RandomState_ctor`` (state set by BUILD)."""
    return np.random.RandomState(0)


def _numpy_safe_globals():
    """The allow-list for ``torch.serialization.safe_globals``: RandomState + numeric arrays."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    numeric = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
               np.uint64, np.float16, np.float32, np.float64]
    allowed = [
        (_reconstruct, "numpy._core.multiarray._reconstruct"),   # arrays, numpy >= 2
        (_reconstruct, "numpy.core.multiarray._reconstruct"),    # arrays, numpy 1.x files
        np.ndarray, np.dtype,
        np.random.RandomState, np.random.MT19937, _PortableMT19937,   # targets of BUILD
        (_safe_randomstate_ctor, "numpy.random._pickle.__randomstate_ctor"),
        (_safe_bit_generator_ctor, "numpy.random._pickle.__bit_generator_ctor"),
        (_legacy_randomstate_ctor, "numpy.random.__RandomState_ctor"),
    ]
    # dtype instances are rebuilt by numpy.dtype(...) and then BUILD on their class
    allowed += [type(np.dtype(t)) for t in numeric]
    return allowed


# phrases of torch's weights-only unpickler (and of our stand-ins) that mean "this file holds
# objects we will not build"; other unpickling errors are treated as a damaged file
_UNSAFE_MARKERS = ("GLOBAL", "Unsupported global", "Can only build", "Can only create new object",
                   "unrecognized function", "refusing")


def load_checkpoint(path, map_location="cpu"):
    """Load a checkpoint dict without executing code from the file.

    Args:
        path: file written by ``torch.save`` (official release or ``save_checkpoint``).
        map_location: passed to ``torch.load`` (default: everything on the CPU).

    Returns:
        The checkpoint dict; ``'model_pos'`` is a mapping of tensors (keys possibly prefixed
        ``module.``). An official file's ``'random_state'`` comes back as a numpy RandomState.

    Raises:
        UserError: missing / unreadable / truncated file; a file holding objects other than
            tensors and plain data; not a dict; no ``'model_pos'``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"checkpoint file not found: {path}. Download a released checkpoint "
                        f"(see {_README}) or pass the path of one written by training.")
    if os.path.isdir(path):
        raise UserError(f"checkpoint path {path} is a directory; pass the checkpoint file "
                        f"itself (see {_README})")
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    try:
        with warnings.catch_warnings():
            # torch warns about files it is about to refuse (e.g. "Detected pickle protocol 4" for a raw
            # pickle); the refusal below is the one message the user gets
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch(\.|$)")
            if safe_globals is not None:
                with safe_globals(_numpy_safe_globals()):
                    ckpt = torch.load(path, map_location=map_location, weights_only=True)
            else:  # torch < 2.5: no allow-list, files with a numpy RandomState are refused below
                ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if any(m in msg for m in _UNSAFE_MARKERS):
            found = re.search(r"GLOBAL (\S+)", msg)
            what = f" (it references {found.group(1)})" if found else ""
            hint = "" if safe_globals is not None else \
                " PyTorch >= 2.5 is needed to read the numpy random state of released files."
            raise UserError(
                f"checkpoint {path} contains objects other than tensors and plain data{what}; "
                f"refusing to load it because unpickling them could run code. Use a released "
                f"checkpoint (see {_README}) or one written by this program.{hint}") from None
        raise UserError(f"checkpoint {path} could not be read ({_unpickler_reason(msg)}); the "
                        f"file is corrupt or truncated, or not a PyTorch checkpoint: download or "
                        f"copy it again (see {_README})") from None
    except OSError as e:
        raise UserError(f"cannot read checkpoint {path}: {e.strerror or e}; check the path and "
                        "its permissions") from None
    except (RuntimeError, EOFError, KeyError, ValueError, IndexError) as e:
        raise UserError(f"checkpoint {path} could not be read ({type(e).__name__}: "
                        f"{_first_line(str(e))}); the file is corrupt or truncated, or not a "
                        f"PyTorch checkpoint: download or copy it again (see {_README})") from None
    if not isinstance(ckpt, Mapping):
        raise UserError(f"checkpoint {path} holds a {type(ckpt).__name__}, not a checkpoint dict "
                        f"with 'model_pos' (see {_README})")
    if "model_pos" not in ckpt or not isinstance(ckpt["model_pos"], Mapping):
        raise UserError(f"checkpoint {path} has no 'model_pos' weights (keys: "
                        f"{', '.join(map(str, ckpt.keys())) or 'none'}); it is not a PoseFormer "
                        f"checkpoint (see {_README})")
    return dict(ckpt)


def _unpickler_reason(text):
    """The unpickler's own reason inside torch's long "Weights only load failed" message."""
    text = str(text)
    marker = "WeightsUnpickler error:"
    if marker in text:
        text = text.split(marker, 1)[1]
    return _first_line(text)


def _first_line(text):
    """First sentence of an exception message, for a one-line report."""
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    if not lines:
        return "no details"
    return lines[0].split(". ")[0].rstrip(".")[:200]


# ---------------------------------------------------------------------------------------------
# saving

def _plain_check(obj, where):
    """Raise TypeError unless obj is tensors / None / bool / int / float / str / bytes, nested
    in dicts, lists and tuples."""
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, torch.Tensor)):
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _plain_check(v, f"{where}[{i}]")
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save_checkpoint: {where} has a key of type {type(k).__name__}")
            _plain_check(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"save_checkpoint: {where} holds a {type(obj).__name__}; only tensors and "
                    "plain Python data can be saved (so the file loads with weights_only=True)")


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_cpu(v) for v in obj)
    return obj


def _copy_random_state(random_state):
    """A new MT19937 RandomState in the same state (what the file stores; the original keeps going).

    Seeded with an int first, so that it holds no SeedSequence (which the loading allow-list refuses).
    """
    copy = np.random.RandomState(0)
    copy.set_state(random_state.get_state())
    return copy


def save_checkpoint(path, *, epoch, lr, model, optimizer, config, rng_state=None, random_state=None, extra=None,
                    layouts=None):
    """Write a checkpoint atomically in the release layout plus our plain-data additions.

    Contents: ``epoch`` (int), ``lr`` (float), ``optimizer`` (its state_dict, tensors on the
    CPU; None if ``optimizer`` is None), ``model_pos`` (``module.``-prefixed state_dict on the
    CPU; a DataParallel / DDP wrapper is removed first), ``config`` (a `ModelConfig` or plain
    dict, stored as a plain dict: normally ``model.config``), and where given ``rng_state``
    (``capture_rng_state()``), ``random_state`` (a ``numpy.random.RandomState``: the official
    script's sampler, stored as a copy under ``'random_state'``), ``extra`` (plain data, stored
    under ``'extra'``) and ``layouts`` (``{'joints': name, 'keypoints': name}``, the layouts of the
    training data, e.g. ``DataBundle.layout_names``; stored under ``'layouts'``). The file loads
    with `load_checkpoint` (and, without ``random_state``, with plain ``torch.load(path, weights_only=True)``).

    Written through `common.io.atomic.atomic_write`: an interruption leaves any previous
    checkpoint intact and no temporary file behind.

    Raises:
        TypeError: ``config`` / ``rng_state`` / ``extra`` hold non-plain objects, or
            ``random_state`` is not a RandomState.
        UserError (setting ``checkpoint``): the file cannot be written (folder not writable,
            disk full, ...).
    """
    net = unwrap_model(model)
    payload = {
        "epoch": int(epoch),
        "lr": float(lr),
        "optimizer": _to_cpu(optimizer.state_dict()) if optimizer is not None else None,
        "model_pos": OrderedDict(("module." + k, v.detach().cpu())
                                 for k, v in net.state_dict().items()),
        "config": dict(config),
    }
    _plain_check(payload["config"], "config")
    if rng_state is not None:
        _plain_check(rng_state, "rng_state")
        payload["rng_state"] = rng_state
    if random_state is not None:
        if type(random_state) is not np.random.RandomState:
            raise TypeError("save_checkpoint: random_state must be a numpy.random.RandomState, not "
                            f"{type(random_state).__name__}")
        payload["random_state"] = _copy_random_state(random_state)
    if extra is not None:
        _plain_check(extra, "extra")
        payload["extra"] = extra
    if layouts is not None:
        layouts = dict(layouts)
        if set(layouts) != {"joints", "keypoints"} or not all(isinstance(v, str) for v in layouts.values()):
            raise TypeError("save_checkpoint: layouts must be {'joints': name, 'keypoints': name}, not "
                            f"{layouts!r}")
        payload["layouts"] = layouts
    _plain_check(payload["optimizer"], "optimizer state")
    try:
        atomic_write(path, lambda f: torch.save(payload, f))
    except OSError as e:
        reason = f"{e.strerror}: {e.filename}" if e.strerror and e.filename else (e.strerror or str(e))
        raise UserError(f"{os.fspath(path)}: cannot write the checkpoint ({reason}); the "
                        "previous file (if any) is unchanged: choose a writable folder with free space",
                        setting="checkpoint") from e
