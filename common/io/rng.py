"""Random number generator states as plain data, so that a checkpoint can carry them and still load
with ``torch.load(..., weights_only=True)``: resuming restores every generator training draws from.
"""
import random

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state"]


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
