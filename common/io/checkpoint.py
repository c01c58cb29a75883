"""Checkpoints: secure loading of the official release files, strict weight loading with a
readable report, atomic saving in the release layout, and RNG state as plain data.

File layout (official release, ``detected81f.bin`` / ``gt81f.bin``): ``torch.save`` of
``{'epoch': int, 'lr': float, 'random_state': numpy.random.RandomState, 'optimizer':
optimizer.state_dict(), 'model_pos': state_dict with every key prefixed 'module.'}``.

Files we write (``save_checkpoint``) keep ``epoch``, ``lr``, ``optimizer`` and ``model_pos``
(``module.``-prefixed keys) so the official script can evaluate them, and add ``config`` (the
model's constructor arguments) and ``rng_state`` (``capture_rng_state``, plain data). They do
NOT contain ``random_state``: a pickled RandomState is an arbitrary object, and we want our files
to load with ``torch.load(path, weights_only=True)`` without any allow-listing. (The official
script reads ``random_state`` only when resuming training, which is done with this code base.)

Loading never executes code from the file: ``torch.load(..., weights_only=True)`` with an
allow-list of exactly the numpy pieces a pickled ``RandomState`` and numpy arrays need. numpy's
own pickle helpers for RandomState (``numpy.random._pickle.__randomstate_ctor`` /
``__bit_generator_ctor``) call a callable taken from the pickle, so instead of allow-listing
them we map their names to restricted stand-ins (``_safe_randomstate_ctor``,
``_safe_bit_generator_ctor``) that can only build an MT19937 bit generator and a RandomState.
"""

import os
import pickle
import random
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from common.errors import UserError

__all__ = [
    "load_checkpoint", "strip_module_prefix", "infer_model_config", "checkpoint_model_config",
    "load_model_weights", "save_checkpoint", "capture_rng_state", "restore_rng_state",
]

_README = "checkpoint/README.md"


# ---------------------------------------------------------------------------------------------
# secure loading

def _safe_bit_generator_ctor(bit_generator="MT19937"):
    """Stand-in for ``numpy.random._pickle.__bit_generator_ctor``: only builds an MT19937."""
    if bit_generator == "MT19937" or bit_generator is np.random.MT19937:
        return np.random.MT19937()
    raise pickle.UnpicklingError(f"refusing to build bit generator {bit_generator!r}")


def _safe_randomstate_ctor(bit_generator_name="MT19937", bit_generator_ctor=None):
    """Stand-in for ``numpy.random._pickle.__randomstate_ctor``: only builds a RandomState.

    numpy >= 2 pickles ``(MT19937 instance,)``; numpy 1.x pickles ``('MT19937',)`` or
    ``('MT19937', __bit_generator_ctor)``. Any other constructor argument is refused.
    """
    if type(bit_generator_name) is np.random.MT19937:
        return np.random.RandomState(bit_generator_name)
    if bit_generator_ctor not in (None, _safe_bit_generator_ctor):
        raise pickle.UnpicklingError("refusing a RandomState with a custom constructor")
    return np.random.RandomState(_safe_bit_generator_ctor(bit_generator_name))


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
        np.random.RandomState, np.random.MT19937,                # targets of BUILD
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
# state_dict helpers

def strip_module_prefix(state_dict):
    """Remove a leading ``module.`` (added by DataParallel / DDP) from every key that has one."""
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v)
                       for k, v in state_dict.items())


def _unwrap(model):
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def infer_model_config(state_dict, checkpoint_path=None):
    """Model constructor arguments readable from a PoseFormer state_dict (prefix optional).

    Returns a dict with ``num_frame`` (``Temporal_pos_embed.shape[1]``), ``num_joints`` and
    ``embed_dim_ratio`` (``Spatial_pos_embed`` shape), ``in_chans``, ``depth`` (number of
    temporal blocks), ``mlp_ratio`` and ``qkv_bias``. ``num_heads`` cannot be read from the
    weights: it is set to 8 (the release value); prefer ``checkpoint_model_config`` when the
    checkpoint dict is at hand, which uses a stored ``config``.
    """
    sd = strip_module_prefix(state_dict)
    where = f"checkpoint {checkpoint_path}" if checkpoint_path else "state_dict"
    needed = ("Temporal_pos_embed", "Spatial_pos_embed", "Spatial_patch_to_embedding.weight")
    absent = [k for k in needed if k not in sd]
    if absent:
        raise UserError(f"{where} is not a PoseFormer model: it lacks {', '.join(absent)}")
    _, num_frame, width = sd["Temporal_pos_embed"].shape
    _, num_joints, ratio = sd["Spatial_pos_embed"].shape
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    fc1 = sd.get("blocks.0.mlp.fc1.weight")
    return {
        "num_frame": int(num_frame),
        "num_joints": int(num_joints),
        "in_chans": int(sd["Spatial_patch_to_embedding.weight"].shape[1]),
        "embed_dim_ratio": int(ratio),
        "depth": int(depth),
        "num_heads": 8,
        "mlp_ratio": float(fc1.shape[0]) / float(width) if fc1 is not None else 2.0,
        "qkv_bias": "blocks.0.attn.qkv.bias" in sd,
    }


def checkpoint_model_config(checkpoint, checkpoint_path=None):
    """Model config of a loaded checkpoint dict: the stored ``config`` where present (our
    files), else ``infer_model_config`` of its ``model_pos`` (official files)."""
    inferred = infer_model_config(checkpoint["model_pos"], checkpoint_path)
    stored = checkpoint.get("config")
    if isinstance(stored, Mapping):
        inferred.update(stored)
    return inferred


def _fmt_shape(shape):
    return "\u00d7".join(str(int(s)) for s in shape)


def _listing(title, items, limit=12):
    shown = list(items)[:limit]
    more = len(items) - len(shown)
    text = f"\n  {title} ({len(items)}): " + ", ".join(shown)
    return text + (f", ... and {more} more" if more > 0 else "")


def load_model_weights(model, state_dict, checkpoint_path, frames_flag_given=False):
    """Load ``state_dict`` into ``model`` strictly, or raise a UserError that says what differs.

    Args:
        model: PoseTransformer (may be DataParallel / DDP-wrapped).
        state_dict: e.g. ``checkpoint['model_pos']``; ``module.`` prefixes are stripped.
        checkpoint_path: named in error messages.
        frames_flag_given: whether the user chose the frame count with ``-f``; only changes
            the advice in the frame-mismatch message.

    Returns:
        ``model``. Raises UserError listing missing keys, unexpected keys and shape mismatches
        by name; a different number of frames gets one specific message.
    """
    net = _unwrap(model)
    sd = strip_module_prefix(state_dict)
    expected = net.state_dict()
    not_tensors = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [k for k in expected if k in sd and k not in not_tensors
                  and tuple(sd[k].shape) != tuple(expected[k].shape)]

    frame_msg = ""
    key = "Temporal_pos_embed"
    if key in mismatched and sd[key].dim() == 3 and sd[key].shape[2] == expected[key].shape[2]:
        ckpt_f, model_f = int(sd[key].shape[1]), int(expected[key].shape[1])
        advice = (f"-f {model_f} was given; drop -f or pass -f {ckpt_f}" if frames_flag_given
                  else f"the model was built for {model_f} frames; pass -f {ckpt_f}")
        frame_msg = (f"checkpoint {checkpoint_path} was trained with {ckpt_f} frames "
                     f"({key} {_fmt_shape(sd[key].shape)}) but {advice}")
        mismatched = [k for k in mismatched if k not in (key, "weighted_mean.weight")]

    if not (missing or unexpected or mismatched or not_tensors):
        if frame_msg:
            raise UserError(frame_msg)
        net.load_state_dict(sd, strict=True)
        return model

    report = frame_msg + ("; also " if frame_msg else "") + \
        f"checkpoint {checkpoint_path} does not match the model:"
    if missing:
        report += _listing("missing in checkpoint", missing)
    if unexpected:
        report += _listing("unexpected in checkpoint", unexpected)
    if mismatched:
        report += _listing("shape mismatch (checkpoint vs model)", [
            f"{k} {_fmt_shape(sd[k].shape)} vs {_fmt_shape(expected[k].shape)}"
            for k in mismatched])
    if not_tensors:
        report += _listing("not tensors", not_tensors)
    try:
        cfg = infer_model_config(sd, checkpoint_path)
        ours = getattr(net, "config", {})
        diffs = [f"{k}={v} (model: {ours[k]})" for k, v in cfg.items()
                 if k in ours and k != "num_heads" and ours[k] != v]
        if diffs:
            report += "\n  the checkpoint was trained with " + ", ".join(diffs) + \
                "; build the model with the checkpoint's settings"
    except UserError:
        report += "\n  it does not look like a PoseFormer checkpoint at all"
    raise UserError(report)


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


def save_checkpoint(path, *, epoch, lr, model, optimizer, config, rng_state=None, extra=None):
    """Write a checkpoint atomically in the release layout plus our plain-data additions.

    Contents: ``epoch`` (int), ``lr`` (float), ``optimizer`` (its state_dict, tensors on the
    CPU; None if ``optimizer`` is None), ``model_pos`` (``module.``-prefixed state_dict on the
    CPU; a DataParallel / DDP wrapper is removed first), ``config`` (plain dict, e.g.
    ``model_config(model)``), and where given ``rng_state`` (``capture_rng_state()``) and
    ``extra`` (plain data, stored under ``'extra'``). No ``random_state`` key (see module doc).
    The file loads with ``torch.load(path, weights_only=True)`` and no allow-list.

    The file is written to a temporary file in the same directory, fsynced, then renamed over
    ``path``: an interruption leaves any previous checkpoint intact and no temporary behind.

    Raises:
        TypeError: ``config`` / ``rng_state`` / ``extra`` hold non-plain objects.
        UserError: the file cannot be written (directory not writable, disk full, ...).
    """
    net = _unwrap(model)
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
    if extra is not None:
        _plain_check(extra, "extra")
        payload["extra"] = extra
    _plain_check(payload["optimizer"], "optimizer state")

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}."
                                  f"{secrets.token_hex(4)}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise UserError(f"cannot write checkpoint {path}: {e.strerror or e}; choose a writable "
                        "checkpoint directory") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise UserError(f"cannot write checkpoint {path}: {e.strerror or e}; the previous "
                            "file (if any) is unchanged") from e
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# RNG state as plain data

def _np_to_plain(obj):
    """numpy RNG state (dicts of ints / floats / arrays) -> plain data; arrays are tagged."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {k: _np_to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_np_to_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _np_from_plain(obj):
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__", "dtype"}:
            return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
        return {k: _np_from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_np_from_plain(v) for v in obj]
    return obj


def capture_rng_state(sampler_generator=None):
    """Snapshot every random number generator the training uses, as plain data.

    Args:
        sampler_generator: the data sampler's own generator, if any: a ``np.random.Generator``
            or ``np.random.RandomState`` (or None).

    Returns:
        dict with ``'torch'`` (CPU RNG state, uint8 tensor), ``'torch_cuda'`` (list of uint8
        tensors, only when CUDA is available), ``'numpy'`` (global numpy state),
        ``'python'`` (``random`` module state) and, with a sampler generator, ``'sampler'``
        (``{'kind': 'Generator' | 'RandomState', 'state': ...}``). Only tensors, ints, floats,
        strings, lists and dicts: pass it as ``save_checkpoint(..., rng_state=...)`` and give
        the loaded dict to ``restore_rng_state``.
    """
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _np_to_plain(np.random.get_state(legacy=False)),
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    if isinstance(sampler_generator, np.random.Generator):
        state["sampler"] = {"kind": "Generator",
                            "state": _np_to_plain(sampler_generator.bit_generator.state)}
    elif isinstance(sampler_generator, np.random.RandomState):
        state["sampler"] = {"kind": "RandomState",
                            "state": _np_to_plain(sampler_generator.get_state(legacy=False))}
    elif sampler_generator is not None:
        raise TypeError("capture_rng_state: sampler_generator must be a numpy Generator, "
                        f"RandomState or None, not {type(sampler_generator).__name__}")
    return state


def restore_rng_state(state, sampler_generator=None):
    """Put back the generator states saved by ``capture_rng_state``.

    Restores torch (CPU, and CUDA devices present in both the state and this machine), the
    global numpy generator and ``random``; parts absent from ``state`` are left alone. With a
    ``sampler_generator`` (the same kind as was captured) its state is restored in place.
    """
    if "torch" in state:
        torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
    if "torch_cuda" in state and torch.cuda.is_available():
        for device, s in enumerate(state["torch_cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(torch.as_tensor(s, dtype=torch.uint8).cpu(), device)
    if "numpy" in state:
        np.random.set_state(_np_from_plain(state["numpy"]))
    if "python" in state:
        py = state["python"]
        random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    if sampler_generator is not None:
        saved = state.get("sampler")
        if saved is None:
            raise ValueError("restore_rng_state: the state holds no sampler generator")
        if isinstance(sampler_generator, np.random.Generator) and saved["kind"] == "Generator":
            sampler_generator.bit_generator.state = _np_from_plain(saved["state"])
        elif (isinstance(sampler_generator, np.random.RandomState)
              and saved["kind"] == "RandomState"):
            sampler_generator.set_state(_np_from_plain(saved["state"]))
        else:
            raise ValueError(f"restore_rng_state: saved sampler is a {saved['kind']}, got a "
                             f"{type(sampler_generator).__name__}")
