"""Walking: leg cycles, arm swing and trunk rotation added to the pose tracks for the walking speed.

The gait is procedural: a phase advances with the cadence, each leg's hip, knee and ankle angles
follow a fixed cycle shape (stance 60 %, swing 40 %) scaled by an amplitude that makes the stride
match the speed, so the feet barely slide; the legs are half a cycle apart and each arm swings
against its leg.
"""
import numpy as np

from common.data.synthetic.body import leg_length
from common.data.synthetic.timeline import FPS

CADENCE = 0.95  # strides (two steps) per second at normal walking speed
STRIDE_PER_LEG = 1.6  # stride length at unit gait amplitude, in leg lengths (tuned: least foot sliding)
STANCE = 0.6  # fraction of the cycle a foot is on the ground
RUN_STANCE = 0.4  # ... when running (``run`` = 1)
RUN_CADENCE = 0.5  # running raises the cadence by this fraction
RUN_FLIGHT = 0.05  # (m) height of the flight phase of a run at gait amplitude 1


def _bump(phase, centre, width):
    """A bell of height 1 at `centre` of the cycle (phases taken modulo 1), standard deviation `width`."""
    d = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / width) ** 2)


def add_gait(P, rng, body, speed, yaw_rate):
    """Add the gait for speed (N,) m/s and yaw_rate (N,) deg/s to the pose tracks P (in place).

    Turning on the spot also steps a little. Returns the gait amplitude (N,) (0 standing, 1 a
    normal walk).
    """
    run = np.clip(P['run'], 0, 1)
    cadence = (CADENCE * rng.uniform(0.92, 1.08) * (0.75 + 0.25 * np.clip(speed / 1.2, 0, 1.3))
               * (1 + RUN_CADENCE * run))
    phase = rng.uniform(0, 1) + np.cumsum(cadence) / FPS
    amp = np.clip(speed / (cadence * STRIDE_PER_LEG * leg_length(body)), 0, 1.3 + 0.4 * run)
    amp = np.maximum(amp, np.clip(np.abs(yaw_rate) / 250.0, 0, 0.3))
    stance = STANCE - (STANCE - RUN_STANCE) * run
    for side, offset in (('r', 0.0), ('l', 0.5)):
        ph = phase + offset
        # The leg sweeps back during the stance and forward in the swing.
        u = ph % 1.0
        sweep = np.where(u < stance, u / stance * 0.5, 0.5 + (u - stance) / (1 - stance) * 0.5)
        P[f'hipf_{side}'] = P[f'hipf_{side}'] + amp * (8 + 22 * np.cos(2 * np.pi * sweep))
        P[f'knee_{side}'] = P[f'knee_{side}'] + amp * (12 * _bump(ph, 0.12, 0.06) + 55 * _bump(ph, 0.72, 0.09)
                                                       + run * (15 * _bump(ph, 0.15, 0.08) + 45 * _bump(ph, 0.65, 0.1)))
        P[f'ankle_{side}'] = P[f'ankle_{side}'] + amp * (6 * _bump(ph, 0.38, 0.10) - 14 * _bump(ph, 0.60, 0.05)
                                                         + 6 * _bump(ph, 0.85, 0.08))
        swing = -0.16 * amp * P[f'swing_{side}'] * np.cos(2 * np.pi * ph)
        P[f'armW_{side}'] = P[f'armW_{side}'] + swing[:, None] * np.array([0.0, 1.0, 0.15])
    # Running: both feet off the ground between the steps (twice a stride), the trunk leaning forward.
    P['lift'] = P['lift'] + run * amp * RUN_FLIGHT * (_bump(phase, 0.4, 0.07) + _bump(phase, 0.9, 0.07))
    P['tpitch'] = P['tpitch'] + 6 * run
    P['stwist'] = P['stwist'] + 5 * amp * np.cos(2 * np.pi * phase)
    P['troll'] = P['troll'] + 2 * amp * np.sin(2 * np.pi * phase)
    P['tpitch'] = P['tpitch'] + 4 * np.minimum(amp, 1)
    return amp
