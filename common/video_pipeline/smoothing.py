"""Smooth, not sluggish: the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) on 3D joint tracks.

A first-order low-pass filter per joint whose cut-off frequency rises with the joint's speed:

    cutoff = min_cutoff + beta * speed           (Hz; speed: the joint's filtered speed, m/s)
    alpha  = 1 / (1 + fps / (2 pi cutoff))
    x_hat_t = alpha x_t + (1 - alpha) x_hat_{t-1}

A joint at rest is filtered at ``min_cutoff`` (jitter removed), a fast one at a higher cut-off
(little lag). The speed itself is the frame-to-frame difference low-passed at ``d_cutoff``. The
filter is causal (each output uses only that frame and earlier ones), so the same filter serves a
live stream.

Parameters (`OneEuro`, the defaults chosen from the paper's advice and human motion, not fitted to
any clip): ``min_cutoff`` 1.5 Hz (most of a person's motion lies below a few hertz; detector
jitter above), ``beta`` 1.0 s/m (a wrist moving at 2 m/s is filtered at 3.5 Hz), ``d_cutoff`` 1 Hz
(the paper's value).
"""
import math
from dataclasses import dataclass

import numpy as np

from common.errors import UserError


@dataclass(frozen=True)
class OneEuro:
    """The One-Euro filter's parameters (see the module): hertz, seconds per metre, hertz."""
    min_cutoff: float = 1.5
    beta: float = 1.0
    d_cutoff: float = 1.0

    def __post_init__(self):
        for name in ('min_cutoff', 'd_cutoff', 'beta'):
            value = getattr(self, name)
            if not (math.isfinite(value) and (value > 0 or (name == 'beta' and value == 0))):
                raise UserError(f'{value}: must be a positive number' + (' or 0' if name == 'beta' else ''),
                                setting=f'smoothing_{name}')


def _alpha(cutoff, fps):
    return 1.0 / (1.0 + fps / (2.0 * np.pi * cutoff))


class OneEuroStream:
    """The filter frame by frame (a live stream): ``step(points)`` takes one frame's (J, 3) and returns it filtered."""

    def __init__(self, fps, settings=OneEuro()):
        self.fps, self.settings = float(fps), settings
        self._previous = None
        self._speed = None
        self._d_alpha = _alpha(settings.d_cutoff, self.fps)

    def step(self, points):
        points = np.asarray(points, dtype=np.float64)
        if self._previous is None:
            self._previous, self._speed = points, np.zeros(points.shape[:-1])
            return points.astype(np.float32)
        raw_speed = np.linalg.norm(points - self._previous, axis=-1) * self.fps
        self._speed = self._d_alpha * raw_speed + (1 - self._d_alpha) * self._speed
        alpha = _alpha(self.settings.min_cutoff + self.settings.beta * self._speed, self.fps)[..., None]
        self._previous = alpha * points + (1 - alpha) * self._previous
        return self._previous.astype(np.float32)


def one_euro(tracks, fps, settings=OneEuro()):
    """(N, J, 3) joint positions, metres, at ``fps`` frames per second -> (N, J, 3) float32, filtered (causal)."""
    stream = OneEuroStream(fps, settings)
    tracks = np.asarray(tracks, dtype=np.float64)
    return np.stack([stream.step(frame) for frame in tracks]) if len(tracks) else tracks.astype(np.float32)
