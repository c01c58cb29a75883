"""3D geometry for the synthetic body, vectorised over frames: rotations, bone offsets, two-bone IK.

Angles are in degrees; positions and lengths in metres. Arrays of per-frame values have the frame
axis first: angles (N,), rotation matrices (N, 3, 3), points and vectors (N, 3).
"""
import numpy as np

# Index pairs (i, j) of the plane each axis rotates; the axis itself is the remaining index.
_ROTATION_PLANES = {'x': (1, 2), 'y': (2, 0), 'z': (0, 1)}


def rotation(axis, degrees):
    """Right-handed rotation matrices (..., 3, 3) about 'x', 'y' or 'z' by `degrees` (scalar or (...,))."""
    a = np.radians(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    i, j = _ROTATION_PLANES[axis]
    k = 3 - i - j
    R[..., k, k] = 1
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def rotate(R, v):
    """Rotate vectors: R (N, 3, 3), v (3,) or (N, 3) -> (N, 3)."""
    return np.einsum('nij,nj->ni', R, np.broadcast_to(v, R.shape[:-1]))


def unit(v):
    """`v` (..., 3) scaled to length 1 along its last axis."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def bone_offset(length, *direction):
    """A bone offset (3,) of the given length along the (not necessarily unit) direction (x, y, z)."""
    d = np.array(direction, dtype=np.float64)
    return length * d / np.linalg.norm(d)


def two_bone_ik(root, target, pole, l1, l2):
    """Reach from `root` towards `target` with a two-bone limb of exact bone lengths `l1`, `l2`.

    root, target, pole: (N, 3); `pole` is the direction the middle joint (the elbow) bends towards.
    A target out of reach is approached as far as the limb allows (nearly straight); one too close
    keeps the limb folded to a minimal span. Returns (middle joint (N, 3), end joint (N, 3), bending
    direction (N, 3), unit and perpendicular to root -> end).
    """
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dhat = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 0.02, (l1 + l2) * 0.995)
    p = pole - np.sum(pole * dhat, -1, keepdims=True) * dhat
    degenerate = np.linalg.norm(p, axis=-1, keepdims=True) < 1e-6
    p = np.where(degenerate, np.cross(dhat, [1.0, 0.0, 0.0]) + 1e-3, p)
    p = unit(p - np.sum(p * dhat, -1, keepdims=True) * dhat)
    cos_a = (l1 ** 2 + dist ** 2 - l2 ** 2) / (2 * l1 * dist)
    sin_a = np.sqrt(np.clip(1 - cos_a ** 2, 0, 1))
    middle = root + l1 * (cos_a * dhat + sin_a * p)
    end = root + dist * dhat
    return middle, end, p
