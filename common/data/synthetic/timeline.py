"""Key poses in time: the frame rate, key lists, and the per-frame parameter tracks eased between keys.

A key list is ``[(time_s, pose dict), ...]`` in increasing time. Actions
(`common.data.synthetic.actions`) build one as a sequence of *holds* (the same pose at two
consecutive keys) joined by *transitions*; `keyed_tracks` turns it into one track per pose
parameter (`common.data.synthetic.pose.DEFAULTS`).
"""
import itertools

import numpy as np

from common.data.synthetic.pose import DEFAULTS

FPS = 50  # frames per second of the generated sequences (as Human3.6M's)


class KeyList:
    """A key list under construction: poses held for a while, reached by transitions."""

    def __init__(self):
        self.keys = []  # [(time_s, pose dict)]
        self.end = 0.0  # time (s) at which the last hold ends

    def add(self, pose, transition, hold):
        """Move to `pose` in `transition` seconds (ignored for the first pose), then hold it `hold` s."""
        if self.keys:
            self.end += transition
        self.keys.append((self.end, pose))
        self.end += hold
        self.keys.append((self.end, pose))


def schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 1.0)):
    """Key list of random poses, each held and then left, covering at least `duration` seconds.

    ``sampler(rng, i)`` gives the i-th pose (dict). Its hold and transition durations are drawn
    uniformly from the `hold` and `trans` ranges (seconds) unless the pose sets them itself through
    the keys ``'_hold'`` / ``'_trans'`` (removed from the pose).
    """
    keys = KeyList()
    for i in itertools.count():
        pose = dict(sampler(rng, i))
        h = pose.pop('_hold', None)
        tr = pose.pop('_trans', None)
        h = rng.uniform(*hold) if h is None else h
        tr = rng.uniform(*trans) if tr is None else tr
        keys.add(pose, tr, h)
        if keys.end > duration:
            return keys.keys


def keyed_tracks(n, keys):
    """Per-frame parameter tracks ``{name: (n,) or (n, 3)}`` from a key list.

    A parameter missing from a key's pose takes its default. Between keys each parameter moves
    along a smootherstep (zero velocity and acceleration at the keys); two keys with the same pose
    make a hold; after the last key the last pose stays.
    """
    t = np.arange(n) / FPS
    times = np.array([k for k, _ in keys], dtype=np.float64)
    idx = np.clip(np.searchsorted(times, t, side='right') - 1, 0, max(len(times) - 2, 0))
    if len(times) == 1:
        u = np.zeros(n)
        nxt = idx
    else:
        nxt = idx + 1
        u = np.clip((t - times[idx]) / np.maximum(times[nxt] - times[idx], 1e-9), 0, 1)
    e = u * u * u * (u * (u * 6 - 15) + 10)
    tracks = {}
    for name, default in DEFAULTS.items():
        vals = np.array([pose.get(name, default) for _, pose in keys], dtype=np.float64)
        a, bb = vals[idx], vals[nxt]
        ee = e if vals.ndim == 1 else e[:, None]
        tracks[name] = a + (bb - a) * ee
    return tracks
