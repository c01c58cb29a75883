"""Small procedural motions added to the pose tracks: waving, hand shakes, talking hands, nodding,
and the idle sway that keeps nobody perfectly still.

Each is driven by its modulator track (``wave_r``, ``shake_l``, ``talk``, ``nod``, ... in [0, 1],
see `common.data.synthetic.pose`), which the key poses switch on and off smoothly.
"""
import math

import numpy as np

from common.data.synthetic.timeline import FPS

# Directions (out, forward, up) in which a waving / hand-shaking wrist moves.
WAVE_DIRECTION = np.array([1.0, 0.0, 0.1])
SHAKE_DIRECTION = np.array([0.0, 0.0, 1.0])
# Idle sway amplitude (degrees) of the trunk and neck parameters.
SWAY = (('troll', 1.0), ('sside', 1.5), ('stwist', 3.0), ('sflex', 1.5), ('ntwist', 6.0), ('nside', 2.0))


def smooth_noise(rng, n, amplitude, freqs=(0.08, 0.4), count=3):
    """(n,) sum of a few slow sinusoids with random frequencies (Hz) and phases, scaled to `amplitude`."""
    t = np.arange(n) / FPS
    out = np.zeros(n)
    for _ in range(count):
        out += np.sin(2 * np.pi * rng.uniform(*freqs) * t + rng.uniform(0, 2 * np.pi))
    return amplitude * out / math.sqrt(count / 2)


def add_modulations(P, rng, n):
    """Add waving, hand shakes, talking hands, nodding and idle sway to the n-frame tracks P (in place)."""
    t = np.arange(n) / FPS
    for side in ('r', 'l'):
        wave = np.sin(2 * np.pi * rng.uniform(1.5, 2.2) * t)  # the hand sways sideways
        P[f'armT_{side}'] = P[f'armT_{side}'] + (P[f'wave_{side}'] * 0.09 * wave)[:, None] * WAVE_DIRECTION
        shake = np.sin(2 * np.pi * rng.uniform(2.0, 3.0) * t)  # the hand pumps up and down
        P[f'armW_{side}'] = P[f'armW_{side}'] + (P[f'shake_{side}'] * 0.035 * shake)[:, None] * SHAKE_DIRECTION
        # Talking: each coordinate of the wrist target oscillates on its own (forward a little more).
        talk = np.stack([0.04 * np.sin(2 * np.pi * rng.uniform(0.6, 1.6) * t + rng.uniform(0, 6.3))
                         for _ in range(3)], 1)
        talk[:, 1] *= 1.2
        P[f'armT_{side}'] = P[f'armT_{side}'] + P['talk'][:, None] * talk
        # Hands never keep perfectly still.
        P[f'armT_{side}'] = P[f'armT_{side}'] + np.stack([smooth_noise(rng, n, 0.012) for _ in range(3)], 1)
    P['nflex'] = P['nflex'] + P['nod'] * 8 * np.sin(2 * np.pi * rng.uniform(1.0, 1.6) * t) + smooth_noise(rng, n, 3.0)
    for name, amp in SWAY:
        P[name] = P[name] + smooth_noise(rng, n, amp)
