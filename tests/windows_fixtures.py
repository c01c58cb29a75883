"""Training examples as the official generator cuts them, built by hand for tests of `common.windows`."""
import numpy as np


def official_example(seq, frames, target, flip, left, right, causal=False):
    """(2D window (F, J, 2), 3D target (J, 3)) of target frame `target` of `seq`, as VideoPose3D's
    ChunkedGenerator (chunks of one frame) builds it: the 2D frames ``target - pad - shift ..
    target + pad - shift`` (pad = (F-1)//2, shift = pad when causal, else 0) clamped to the sequence
    (edge padding); with `flip` both mirrored (x negated, `left`/`right` joints swapped); the 3D
    root (joint 0) zeroed, as the training loop does."""
    pad = (frames - 1) // 2
    shift = pad if causal else 0
    index = np.clip(np.arange(target - pad - shift, target + pad - shift + 1), 0, len(seq.poses_2d) - 1)
    window, pose = seq.poses_2d[index].copy(), seq.poses_3d[target].copy()
    if flip:
        for p in (window, pose):
            p[..., 0] *= -1
            p[..., left + right, :] = p[..., right + left, :]
    pose[0] = 0
    return window, pose
