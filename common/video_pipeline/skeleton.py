"""Bones of one length: one skeleton per video, every frame's pose fitted to it.

A raw prediction's bones change length from frame to frame. `bone_lengths` estimates each bone's
length once per video, robustly: the median over the frames (a few wrong frames do not move it).
`fit_bones` then rebuilds every frame from the root outwards along the layout's tree: each bone
keeps its predicted direction and gets the video's length. The bone-length standard deviation of
the result is 0 by construction, and a joint moves from its raw place by at most the sum of the
length changes of the bones between it and the root (its parent's shift plus its own bone's change).
"""
import numpy as np


def bone_vectors(poses, parents):
    """(N, J, 3) -> (N, J, 3): joint minus parent (zero for the root)."""
    poses = np.asarray(poses, dtype=np.float64)
    parent_index = np.array([p if p >= 0 else j for j, p in enumerate(parents)])
    return poses - poses[:, parent_index]


def bone_lengths(poses, parents):
    """(N, J, 3) poses -> (J,) the median length of each joint's bone to its parent (0 for the root), metres."""
    return np.median(np.linalg.norm(bone_vectors(poses, parents), axis=-1), axis=0)


def fit_bones(poses, parents, lengths):
    """(N, J, 3) poses -> float32 poses with bone j of length ``lengths[j]`` and its predicted direction.

    The root stays where it is; a bone predicted with zero length keeps the direction of the
    median bone (over the frames where it is not zero).
    """
    poses = np.asarray(poses, dtype=np.float64)
    vectors = bone_vectors(poses, parents)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)                     # (N, J, 1)
    directions = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    for j, parent in enumerate(parents):
        degenerate = norms[:, j, 0] <= 0
        if parent >= 0 and degenerate.any() and (~degenerate).any():
            typical = np.median(directions[~degenerate, j], axis=0)
            directions[degenerate, j] = typical / max(np.linalg.norm(typical), 1e-12)
    fitted = np.empty_like(poses)
    for j in _parents_first(parents):
        parent = parents[j]
        fitted[:, j] = poses[:, j] if parent < 0 else fitted[:, parent] + lengths[j] * directions[:, j]
    return fitted.astype(np.float32)


def _parents_first(parents):
    """Joint indices with each parent before its children."""
    order, placed = [], set()
    while len(order) < len(parents):
        for j, parent in enumerate(parents):
            if j not in placed and (parent < 0 or parent in placed):
                order.append(j)
                placed.add(j)
    return order
