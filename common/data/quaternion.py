"""Quaternion rotation in (w, x, y, z) order, for numpy arrays and torch tensors alike."""
import numpy as np
import torch


def qrot(q, v):
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4); q broadcasts against v."""
    if isinstance(v, np.ndarray) and isinstance(q, np.ndarray):
        return qrot(torch.from_numpy(q), torch.from_numpy(v)).numpy()
    q = torch.as_tensor(q, dtype=v.dtype, device=v.device)
    q = q.expand(v.shape[:-1] + (4,))
    qvec = q[..., 1:]
    uv = torch.cross(qvec, v, dim=-1)
    uuv = torch.cross(qvec, uv, dim=-1)
    return v + 2 * (q[..., :1] * uv + uuv)


def qinverse(q):
    """Inverse (conjugate) of unit quaternions (..., 4)."""
    if isinstance(q, np.ndarray):
        return q * np.array([1, -1, -1, -1], dtype=q.dtype)
    return q * torch.tensor([1, -1, -1, -1], dtype=q.dtype, device=q.device)
