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


# ---------------------------------------------------------------------------------------------
# Whole-body postures of the athletic and floor actions (jumps, kicks, squats, lying)


def crouch(depth):
    """Knees and hips bent for a squat or before a jump; `depth` in [0, 1] (1 = deep squat, thighs past level)."""
    d = float(depth)
    return dict(both_legs(hipf=20 + 95 * d, knee=25 + 115 * d, ankle=8 + 30 * d, hipa=5 + 10 * d),
                tpitch=8 + 30 * d, sflex=4 + 10 * d, nflex=-12 * d)


def airborne(height):
    """In the air: legs stretched, toes pointed, the lowest point `height` metres above the floor."""
    return dict(both_legs(hipf=5.0, knee=8.0, ankle=-25.0), lift=float(height))


def arms_up(spread=0.15):
    """Both arms raised above the head, hands `spread` metres out."""
    return both(arm, t=(spread, 0.05, 0.48), pole=(1.0, 0.0, 0.0))


def arms_back():
    """Both arms swung back (before a jump)."""
    return both(arm, w=(0.08, -0.35, -0.35), pole=(0.3, 1.0, -0.3))


def arms_forward(height=0.0):
    """Both arms stretched forward at shoulder height (+ `height` metres)."""
    return both(arm, t=(0.0, 0.50, float(height)), pole=(0.6, -0.2, -1.0))


def running_arms(side):
    """Elbow bent at about 90 degrees, the forearm forward (gait swing on)."""
    return arm(side, w=(0.05, 0.18, -0.30), pole=(0.2, -1.0, -0.2), swing=1.6)


def kneeling(front_side, rng):
    """Kneeling on one knee, the other foot in front."""
    back = 'l' if front_side == 'r' else 'r'
    return {f'hipf_{front_side}': 85.0 + rng.uniform(-10, 10), f'knee_{front_side}': 90.0 + rng.uniform(-10, 10),
            f'ankle_{front_side}': 5.0, f'hipf_{back}': rng.uniform(-10, 10), f'knee_{back}': 95.0,
            f'ankle_{back}': -40.0, 'tpitch': rng.uniform(0, 20)}


def on_all_fours(rng):
    """Hands and knees on the floor: a kneeling body tilted forward, the arms pointing 'down'."""
    pose = dict(both_legs(hipf=90.0 + rng.uniform(-10, 10), knee=90.0, ankle=-30.0, hipa=6.0), bpitch=80.0)
    pose.update(both(arm, t=(0.06, 0.50, -0.08), pole=(0.3, 0.0, 1.0)))
    pose['nflex'] = -30.0
    return pose


def lying(rng, face):
    """Lying flat: `face` 'up' (on the back), 'down' (on the front) or 'side' (on the right side)."""
    legs = both_legs(hipf=rng.uniform(-5, 10), knee=rng.uniform(0, 20), ankle=-20.0, hipa=rng.uniform(3, 12))
    if face == 'up':
        pose = dict(legs, bpitch=-90.0 + rng.uniform(-5, 5))
        pose.update(both(arm, w=(0.10 + rng.uniform(0, 0.25), 0.0, -0.50), pole=(0.3, -1.0, -0.3)) if rng.random() < 0.6
                    else both(arm, t=(-0.10, -0.05, 0.28), pole=(1.0, 0.3, 0.4)))  # hands under the head
    elif face == 'down':
        pose = dict(legs, bpitch=90.0 + rng.uniform(-5, 5), nflex=-25.0)
        pose.update(both(arm, t=(0.20, 0.10, 0.30), pole=(1.0, 0.0, -0.5)))  # forearms by the head
    else:
        pose = dict(legs, broll=90.0, **{'hipf_l': 30.0, 'knee_l': 45.0, 'hipf_r': 15.0, 'knee_r': 30.0})
        pose.update(arm('r', t=(0.10, 0.40, 0.10), pole=(0.5, 0.0, -1.0)))
        pose.update(arm('l', w=(0.05, 0.10, -0.45)))
    return pose
