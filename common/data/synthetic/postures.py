"""Named postures: small pose dicts (see `common.data.synthetic.pose`) that actions combine.

Arm postures take the side ('r' or 'l') and give the wrist target (``t`` in the chest frame, ``w``
in the upright heading frame) and the elbow's pole, as ``(out, forward, up)`` vectors in metres for
an arm reach of `REFERENCE_ARM_REACH`; `both` applies one to the two arms. Leg postures give
angles in degrees.
"""
import numpy as np

from common.data.synthetic.pose import HANG_W, POLE_DOWN_BACK

# ---------------------------------------------------------------------------------------------
# Arms


def arm(side, t=(0.0, 0.0, 0.0), w=(0.0, 0.0, 0.0), pole=POLE_DOWN_BACK, swing=0.0, **extra):
    """One arm's pose entries; `extra` sets per-side modulators (``wave=1.0``, ``shake=1.0``)."""
    pose = {f'armT_{side}': t, f'armW_{side}': w, f'pole_{side}': pole, f'swing_{side}': swing}
    pose.update({f'{k}_{side}': v for k, v in extra.items()})
    return pose


def both(posture, *args, **kwargs):
    """An arm posture for both arms: ``both(hang)``, ``both(arm, t=..., pole=...)``."""
    return {**posture('r', *args, **kwargs), **posture('l', *args, **kwargs)}


def hang(side, swing=1.0):
    """Arm hanging at the side, swinging with the gait by `swing`."""
    return arm(side, w=HANG_W, swing=swing)


def hand_on_hip(side):
    return arm(side, t=(0.04, -0.02, -0.33), pole=(1.0, -0.5, 0.0))


def hand_behind(side):
    """Hand behind the back (both: hands joined behind)."""
    return arm(side, t=(-0.09, -0.17, -0.37), pole=(1.0, -0.4, -0.6))


def hand_on_thigh(side):
    """Seated, hand resting on the thigh."""
    return arm(side, t=(-0.03, 0.26, -0.40), pole=(0.4, -0.6, -0.6))


def hand_to_mouth(side):
    return arm(side, t=(-0.12, 0.16, 0.07), pole=(0.5, 0.0, -1.0))


def hand_at_ear(side):
    """Holding a phone to the ear."""
    return arm(side, t=(-0.07, 0.07, 0.10), pole=(0.7, 0.1, -1.0))


def supporting_elbow(side):
    """Forearm across the belly, as if holding up the other elbow."""
    return arm(side, t=(-0.22, 0.14, -0.24), pole=(0.7, -0.1, -1.0))


def arms_crossed():
    return {**arm('r', t=(-0.19, 0.17, -0.24), pole=(0.7, -0.1, -1.0)),
            **arm('l', t=(-0.21, 0.13, -0.20), pole=(0.7, -0.1, -1.0))}


def hands_clasped():
    """Both hands joined in front of the belly."""
    return both(arm, t=(-0.13, 0.22, -0.37), pole=(0.6, -0.3, -1.0))


def point(side, rng):
    """Arm stretched out pointing in a random forward direction."""
    d = np.array([rng.uniform(0.1, 0.7), rng.uniform(0.5, 1.0), rng.uniform(-0.15, 0.35)])
    return arm(side, t=tuple(0.51 * d / np.linalg.norm(d)), pole=(0.4, -0.2, -1.0))


def talking_hands(rng):
    """Both hands in front of the chest at random spots, moving as when talking."""
    pose = {'talk': 1.0}
    for side in ('r', 'l'):
        pose.update(arm(side, t=(-0.04 + rng.uniform(-0.03, 0.05), 0.25 + rng.uniform(-0.05, 0.05),
                                 -0.25 + rng.uniform(-0.07, 0.07)), pole=(0.5, -0.4, -1.0)))
    return pose


# ---------------------------------------------------------------------------------------------
# Legs


def both_legs(**angles):
    """The same leg angles on both sides: ``both_legs(knee=30.0)`` -> ``{'knee_r': 30.0, 'knee_l': 30.0}``."""
    return {f'{name}_{side}': value for name, value in angles.items() for side in ('r', 'l')}


def knees_bent(knee):
    """Standing with both knees bent by `knee` degrees, hips and ankles following halfway."""
    return both_legs(knee=knee, hipf=0.5 * knee, ankle=0.5 * knee)


def weight_shift(amount):
    """Stand on one leg more (amount in [-1, 1], + = on the left leg, right knee relaxed)."""
    a = float(amount)
    pose = {'troll': -4.0 * a}
    relaxed, stance = ('r', 'l') if a > 0 else ('l', 'r')
    pose[f'knee_{relaxed}'] = 4.0 + 14.0 * abs(a)
    pose[f'hipf_{relaxed}'] = 5.0 * abs(a)
    pose[f'hipa_{stance}'] = 3.0 - 2.0 * abs(a)
    pose[f'hipa_{relaxed}'] = 3.0 + 4.0 * abs(a)
    return pose


# Sitting on a chair: thighs horizontal, shins vertical.
SEATED = both_legs(hipf=88.0, knee=88.0, ankle=0.0, hipa=8.0, hipr=4.0)


def seated(rng, **extra):
    """Sitting on a chair with the feet flat, knees a little more or less bent at random."""
    pose = dict(SEATED)
    k = rng.uniform(-10, 12)
    for side in ('r', 'l'):
        knee = 88.0 + k + rng.uniform(-6, 6)
        pose[f'knee_{side}'] = knee
        pose[f'ankle_{side}'] = knee - pose[f'hipf_{side}']  # feet flat
    pose.update(extra)
    return pose
