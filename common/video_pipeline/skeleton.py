"""Bones of one length: one skeleton per video, every frame's pose fitted to it.

A raw prediction's bones change length from frame to frame. `bone_lengths` estimates each bone's
length once per video, robustly: the median over the frames (a few wrong frames do not move it).
`fit_bones` then rebuilds every frame from the root outwards along the layout's tree: each bone
keeps its predicted direction and gets the video's length. The bone-length standard deviation of
the result is 0 by construction, and a joint moves from its raw place by at most the sum of the
length changes of the bones between it and the root (its parent's shift plus its own bone's change).

Live (`CausalBoneLengths`), where no later frame can be waited for: the lengths are the running
median of the poses lifted so far, each pose fitted to the estimate of its moment, until
`LIVE_BONE_WARMUP_SECONDS` of poses are in; then the lengths are frozen and every later pose has
exactly those bones. One second (30 poses at 30 fps) puts each bone's median within about
1.25 / sqrt(30), a quarter, of one frame's length spread, and a live user waits no longer for a
steady skeleton.

The person's size (`standing_height`, `scale_to_height`): a monocular lifter cannot know how big
the person is, and the distance to the camera the placement finds grows with the size it predicts.
The standing height a Human3.6M-17 skeleton implies is the length of its chain from the ankle to
the head joint, straightened: shin + thigh (the mean of the left and right legs) + pelvis-spine +
spine-thorax + thorax-neck/nose + neck/nose-head. The pelvis-to-hip bones run sideways and are not
in it. It is a few centimetres less than the person's stature (the ankle joint is above the floor,
the top of the skull above the head joint).
"""
import numpy as np

from common.data.layouts import H36M_17
from common.errors import UserError

LIVE_BONE_WARMUP_SECONDS = 1.0
PERSON_HEIGHT_RANGE = (0.5, 2.5)     # metres: what `check_person_height` accepts


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


def _height_chains():
    """The `H36M_17` joints of the height's chains (see the module): the two legs and the trunk, each a joint list
    whose bones (joint to its parent) are summed."""
    index = {name: j for j, name in enumerate(H36M_17.names)}
    legs = [[index[f'{side}_{joint}'] for joint in ('foot', 'knee')] for side in ('left', 'right')]
    trunk = [index[name] for name in ('spine', 'thorax', 'neck_nose', 'head')]
    return legs, trunk


def standing_height(lengths):
    """(J,) or (..., J) Human3.6M-17 bone lengths, metres -> the standing height they imply (see the module), metres."""
    lengths = np.asarray(lengths, dtype=np.float64)
    legs, trunk = _height_chains()
    leg = np.mean([lengths[..., chain].sum(axis=-1) for chain in legs], axis=0)
    return leg + lengths[..., trunk].sum(axis=-1)


def check_person_height(value, setting='person_height'):
    """A person's height in metres as a float within `PERSON_HEIGHT_RANGE`; UserError otherwise."""
    try:
        height = float(value)
    except (TypeError, ValueError):
        height = float('nan')
    low, high = PERSON_HEIGHT_RANGE
    if not np.isfinite(height) or not low <= height <= high:
        raise UserError(f'{value}: the person\'s height must be a number of metres from {low:g} to {high:g} '
                        '(e.g. 1.75)', setting=setting)
    return height


def scale_to_height(lengths, height):
    """(J,) Human3.6M-17 bone lengths -> the same skeleton scaled so that its `standing_height` is `height` metres
    (None: unchanged)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    if height is None:
        return lengths
    return lengths * (float(height) / standing_height(lengths))


class CausalBoneLengths:
    """Bone lengths of a stream, from the poses seen so far (see the module): the running median of the first
    ``warmup`` poses, then frozen.

        bones = CausalBoneLengths(H36M_17.parents, warmup=live_warmup_poses(fps))
        lengths = bones.update(raw_pose)              # (J,) metres, the estimate after this pose
        fitted = bones.fit(pose)                      # (J, 3) the pose with those bones

    height: scale the estimate to that standing height (`scale_to_height`), metres, or None.
    """

    def __init__(self, parents, warmup, height=None):
        if warmup < 1:
            raise ValueError(f'warmup must be at least 1 pose, not {warmup}')
        self.parents, self.warmup, self.height = parents, int(warmup), height
        self._seen = []                          # (J,) bone lengths of each pose until frozen
        self.lengths = None

    @property
    def frozen(self):
        return len(self._seen) >= self.warmup

    @property
    def poses_seen(self):
        """How many poses the estimate is the median of."""
        return len(self._seen)

    def update(self, pose):
        """Take one (J, 3) pose's bones into the estimate (unless frozen); returns (J,) the current lengths, metres."""
        if not self.frozen:
            self._seen.append(bone_lengths(np.asarray(pose)[None], self.parents))
            self.lengths = scale_to_height(np.median(self._seen, axis=0), self.height)
        return self.lengths

    def fit(self, pose):
        """(J, 3) pose -> (J, 3) float32, its bones given the current lengths along their directions (`fit_bones`)."""
        if self.lengths is None:
            raise RuntimeError('fit before any update: no bone length known yet')
        return fit_bones(np.asarray(pose)[None], self.parents, self.lengths)[0]


def live_warmup_poses(fps):
    """How many poses `LIVE_BONE_WARMUP_SECONDS` of a stream at `fps` frames per second are (at least 1)."""
    return max(1, int(round(LIVE_BONE_WARMUP_SECONDS * fps)))
