"""Simulated 2D detector errors: clean Human3.6M-17 keypoints corrupted like a detector's output.

What a detector such as CPN gets wrong, roughly in the right proportions: temporally correlated
jitter of a few pixels (more on hands and feet than on the torso) that grows with the person's
size in the image, a slowly drifting offset per joint (detectors place the hips, shoulders and head
a few pixels away from where a motion-capture skeleton has them, and the offset changes with the
pose), occasional outliers tens of pixels off for 1-3 frames, and occasional left/right confusions
of a limb for a few frames.
"""
import numpy as np

from common.data.layouts import H36M_17


def _joints(side, parts):
    return tuple(H36M_17.index(f'{side}_{part}') for part in parts)


# (right joints, left joints) a detector confuses: a whole leg or arm, its last two joints, or its end.
SWAPS = [(_joints('right', limb[k:]), _joints('left', limb[k:]))
         for limb in (('hip', 'knee', 'foot'), ('shoulder', 'elbow', 'wrist')) for k in range(3)]
# Typical jitter (pixels) per `H36M_17` joint: the torso is found precisely, hands and feet less so.
JITTER_PX = np.array([2.0, 2.5, 3.0, 3.5, 2.5, 3.0, 3.5, 2.0, 2.0, 2.5, 2.5, 2.5, 3.0, 4.0, 2.5, 3.0, 4.0])
# Typical slowly drifting offset (pixels) per joint: largest where joint definitions differ (hips, neck, head).
OFFSET_PX = np.array([3.0, 4.0, 2.5, 2.5, 4.0, 2.5, 2.5, 3.0, 2.5, 3.0, 3.0, 3.0, 2.0, 2.0, 3.0, 2.0, 2.0])
# Person height in the image (pixels) at which the jitter is JITTER_PX (about that in Human3.6M's views).
REFERENCE_HEIGHT_PX = 450.0


def _smooth(rng, n, n_joints, width):
    """(n, n_joints, 2) white noise smoothed by a Gaussian of `width` frames, rescaled to unit variance."""
    half = int(3 * width)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / width) ** 2)
    kernel /= np.linalg.norm(kernel)
    white = rng.standard_normal((n + len(kernel) - 1, n_joints, 2))
    return sum(k * white[i:i + n] for i, k in enumerate(kernel))


def detector_like(rng, kp, extra, width, height):
    """Keypoints (N, 17, 2) pixels corrupted like a 2D detector's -> float32 (N + extra, 17, 2).

    `extra` frames are appended, continuing the last motion (some detector files are a few frames
    longer than the 3D data); everything stays inside the `width` x `height` image.
    """
    kp = kp.astype(np.float64)
    if extra:
        velocity = kp[-1] - kp[-2]
        kp = np.concatenate([kp, kp[-1] + velocity * np.arange(1, extra + 1)[:, None, None]])
    n, n_joints = kp.shape[:2]
    for _ in range(rng.poisson(1.5)):  # left/right confusions for a few frames
        a, b = SWAPS[int(rng.integers(len(SWAPS)))]
        start = int(rng.integers(0, n - 10))
        stop = start + int(rng.integers(3, 11))
        a, b = list(a), list(b)
        kp[start:stop, a + b] = kp[start:stop, b + a]
    # Jitter: white noise smoothed over a few frames, scaled with the person's size in the image;
    # plus the slowly drifting per-joint offset (smoothed over about a second).
    size = np.clip((kp[..., 1].max(axis=1) - kp[..., 1].min(axis=1)) / REFERENCE_HEIGHT_PX, 0.5, 2.0)
    kp += _smooth(rng, n, n_joints, 1.5) * (JITTER_PX * rng.uniform(0.8, 1.2))[None, :, None] * size[:, None, None]
    kp += _smooth(rng, n, n_joints, 25.0) * (OFFSET_PX * rng.uniform(0.6, 1.4))[None, :, None] * size[:, None, None]
    # Outliers: a joint thrown tens of pixels away for 1-3 frames.
    hits = np.argwhere(rng.random((n, n_joints)) < 0.004)
    for frame, joint in hits:
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(20, 70) * np.array([np.cos(angle), np.sin(angle)])
        kp[frame:frame + int(rng.integers(1, 4)), joint] += offset
    kp[..., 0] = np.clip(kp[..., 0], 0, width)
    kp[..., 1] = np.clip(kp[..., 1], 0, height)
    return kp.astype(np.float32)
