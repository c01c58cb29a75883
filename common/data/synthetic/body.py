"""The synthetic body: segment lengths of a subject, and forward kinematics to the 32 mocap joints.

World coordinates: metres, z up, the floor at z = 0 (as in Human3.6M). The body frame used for
rest offsets and angles is x = the person's right, y = forward, z = up. The skeleton is the
32-joint Human3.6M mocap tree, `common.data.layouts.H36M_32` (joint names and parents there). As in
the Human3.6M recordings, some joints are duplicates sitting at the same point as another:
``spine_base`` at the ``hips`` (the root), both ``shoulder_girdle`` joints at the ``thorax``.
"""
import math

import numpy as np

from common.data.layouts import H36M_32
from common.data.synthetic.geometry import bone_offset, rotate, rotation, two_bone_ik, unit
from common.data.synthetic.pose import REFERENCE_ARM_REACH, SIDES

ROOT = H36M_32.root
SPINE_BASE, SPINE, THORAX, NECK, HEAD = (H36M_32.index(name) for name in
                                         ('spine_base', 'spine', 'thorax', 'neck_nose', 'head_top'))
_SIDE_NAMES = {'r': 'right', 'l': 'left'}
LEG_PARTS = ('hip', 'knee', 'ankle', 'toe', 'toe_tip')
ARM_PARTS = ('shoulder_girdle', 'shoulder', 'elbow', 'wrist', 'thumb', 'thumb_tip', 'hand_end', 'fingertip')
# Joint indices per side ('r', 'l'), in the order of LEG_PARTS / ARM_PARTS.
LEGS = {side: tuple(H36M_32.index(f'{name}_{part}') for part in LEG_PARTS) for side, name in _SIDE_NAMES.items()}
ARMS = {side: tuple(H36M_32.index(f'{name}_{part}') for part in ARM_PARTS) for side, name in _SIDE_NAMES.items()}

# Segment lengths (metres) of an adult of height scale 1 (about 1.75 m tall).
ADULT_SEGMENTS = {
    'hip_width': 0.13, 'thigh': 0.45, 'shin': 0.44, 'ankle_height': 0.08, 'foot': 0.14,
    'toe': 0.05, 'heel': 0.05, 'spine_low': 0.235, 'spine_up': 0.255, 'neck': 0.115,
    'head': 0.115, 'shoulder': 0.15, 'upper_arm': 0.28, 'forearm': 0.25, 'hand': 0.085,
    'finger': 0.03, 'thumb': 0.03, 'thumb_tip': 0.03,
}


# How much each segment varies between people (standard deviation, as a fraction of its length)
# beyond the overall height, for the segments not in `SEGMENT_RANGES`.
SEGMENT_SPREAD = 0.04
# Segments drawn uniformly from a range (metres at height scale 1): where the hip, spine, neck,
# shoulder and wrist joints sit differs a lot between people and even more between skeleton
# conventions (Human3.6M's, CMU's, a detector's), so a model must read them from the 2D.
SEGMENT_RANGES = {'hip_width': (0.08, 0.16), 'neck': (0.10, 0.21), 'head': (0.08, 0.13), 'shoulder': (0.13, 0.26),
                  'upper_arm': (0.25, 0.30), 'forearm': (0.18, 0.26)}
# Joint placement, same reasoning: ``trunk_scale`` the length of the trunk (root to thorax) relative
# to the adult's (skeletons that put the thorax joint at mid-chest have a trunk half as long),
# ``spine_split`` the fraction of the trunk below the spine joint, ``hip_drop`` how far the hip
# joints sit below the root per unit sideways, ``neck_lean`` how far forward the neck joint sits per
# unit up, ``shoulder_rise`` how far the shoulder joints sit above the thorax per unit sideways
# (below it when negative), ``knee_rest_bend`` the angle (degrees) between thigh and shin of a
# straight leg (motion-capture skeletons put the knee joint in front of the hip-ankle line: their
# people stand with 20-30 degrees).
PLACEMENT_RANGES = {'trunk_scale': (0.5, 1.1), 'spine_split': (0.28, 0.52), 'hip_drop': (0.1, 1.2),
                    'neck_lean': (0.0, 0.5), 'shoulder_rise': (-0.15, 0.3), 'knee_rest_bend': (0.0, 30.0)}


def make_body(rng, height_scale):
    """Segment lengths (metres) and joint placement of one person: adult proportions times
    `height_scale`, segments varied by `SEGMENT_SPREAD` (at most 2.5 standard deviations) or drawn from
    `SEGMENT_RANGES`, placements from `PLACEMENT_RANGES` (left and right kept equal)."""
    out = {}
    for name, length in ADULT_SEGMENTS.items():
        if name in SEGMENT_RANGES:
            out[name] = float(height_scale * rng.uniform(*SEGMENT_RANGES[name]))
        else:
            out[name] = float(length * height_scale
                              * (1.0 + np.clip(rng.normal(0, SEGMENT_SPREAD), -2.5 * SEGMENT_SPREAD, 2.5 * SEGMENT_SPREAD)))
    placement = {name: float(rng.uniform(*bounds)) for name, bounds in PLACEMENT_RANGES.items()}
    trunk = (out['spine_low'] + out['spine_up']) * placement['trunk_scale']
    out['spine_low'], out['spine_up'] = trunk * placement['spine_split'], trunk * (1 - placement['spine_split'])
    for name in ('hip_drop', 'neck_lean', 'shoulder_rise', 'knee_rest_bend'):
        out[name] = placement[name]
    return out


def leg_length(body):
    """Hip joint to floor (metres) with the leg straight."""
    return body['thigh'] + body['shin'] + body['ankle_height']


def bone_lengths(positions):
    """Length of every bone of the 32-joint tree, (N, 32) from positions (N, 32, 3) (0 for the root)."""
    parents = np.array(H36M_32.parents)
    lengths = np.linalg.norm(positions - positions[:, np.maximum(parents, 0)], axis=-1)
    lengths[:, H36M_32.root] = 0
    return lengths


def forward_kinematics(body, P, root_xy, yaw_deg):
    """Joint positions (N, 32, 3) in world metres, feet resting on the floor.

    P: dict of per-frame pose parameters (see `common.data.synthetic.pose`) in their final form
    (gait etc. already added); root_xy (N, 2); yaw_deg (N,) heading (0 = facing world +y,
    positive = turning left). The root height is chosen per frame so that the lowest point (any
    joint, a heel or the seat) touches the floor (z = 0), or is ``P['lift']`` above it: standing
    and walking put a foot down, sitting on the floor the seat, lying the back; a jump lifts all.
    ``P['bpitch']`` / ``P['broll']`` tilt the whole posed body about the root.
    """
    X = np.zeros((len(yaw_deg), H36M_32.num_joints, 3))
    R_heading = rotation('z', yaw_deg)  # upright heading frame
    R_pelvis = R_heading @ rotation('y', P['troll']) @ rotation('x', -P['tpitch'])
    heels = _place_legs(X, body, P, R_heading, R_pelvis)
    seat = rotate(R_pelvis, (0.0, -0.05, -0.11 * body['thigh'] / ADULT_SEGMENTS['thigh']))
    R_chest = _place_spine_and_head(X, body, P, R_pelvis)
    contacts = [*heels, seat]
    # Where the floor is, relative to the root, for an upright body: under the lowest foot or the seat.
    feet = X[:, [j for side in 'rl' for j in LEGS[side][2:]], 2]
    floor = np.minimum(feet.min(axis=1), np.min(np.stack([c[:, 2] for c in contacts], 1), axis=1))
    _place_arms(X, body, P, R_heading, R_chest, floor)
    if np.any(P['bpitch']) or np.any(P['broll']):  # the whole body tilted about the root (lying, all fours)
        R_tilt = R_heading @ rotation('y', P['broll']) @ rotation('x', -P['bpitch']) @ np.swapaxes(R_heading, 1, 2)
        X[:] = np.einsum('nij,nkj->nki', R_tilt, X)
        contacts = [rotate(R_tilt, c) for c in contacts]
    _put_on_floor(X, contacts, root_xy, P['lift'])
    return X


def _place_legs(X, b, P, R_heading, R_pelvis):
    """Fill in both legs (relative to the root); return the two heel points (N, 3).

    The legs hang from the heading frame, so bending the trunk does not swing them.
    """
    heels = []
    # The knee joint sits forward of the hip-ankle line by the same distance from both: the thigh
    # turns forward by `forward`, the shin back by `back` (radians), the bend between them `knee_rest_bend`.
    rest = math.radians(b.get('knee_rest_bend', 0.0))
    forward = math.atan2(b['shin'] * math.sin(rest), b['thigh'] + b['shin'] * math.cos(rest))
    back = rest - forward
    thigh = bone_offset(b['thigh'], 0.0, math.sin(forward), -math.cos(forward))
    shin = bone_offset(b['shin'], 0.0, -math.sin(back), -math.cos(back))
    for side, sign in SIDES:
        hip, knee, ankle, toe, tip = LEGS[side]
        X[:, hip] = rotate(R_pelvis, bone_offset(b['hip_width'], sign, 0.0, -b.get('hip_drop', 0.12)))
        R1 = (R_heading @ rotation('x', P[f'hipf_{side}']) @ rotation('y', -sign * P[f'hipa_{side}'])
              @ rotation('z', -sign * P[f'hipr_{side}']))
        X[:, knee] = X[:, hip] + rotate(R1, thigh)
        R2 = R1 @ rotation('x', -P[f'knee_{side}'])
        X[:, ankle] = X[:, knee] + rotate(R2, shin)
        R3 = R2 @ rotation('x', P[f'ankle_{side}'])
        X[:, toe] = X[:, ankle] + rotate(R3, bone_offset(math.hypot(b['foot'], b['ankle_height']),
                                                          0.0, b['foot'], -b['ankle_height']))
        X[:, tip] = X[:, toe] + rotate(R3, (0.0, b['toe'], 0.0))
        heels.append(X[:, ankle] + rotate(R3, (0.0, -b['heel'], -b['ankle_height'])))
    return heels


def _place_spine_and_head(X, b, P, R_pelvis):
    """Fill in the spine, thorax, shoulder girdles, neck and head; return the chest frame (N, 3, 3).

    The spine's bend and twist are split over its two joints.
    """
    R_low = (R_pelvis @ rotation('x', -0.45 * P['sflex']) @ rotation('y', 0.4 * P['sside'])
             @ rotation('z', 0.4 * P['stwist']))
    X[:, SPINE_BASE] = X[:, ROOT]
    X[:, SPINE] = X[:, SPINE_BASE] + rotate(R_low, bone_offset(b['spine_low'], 0.0, -0.03, 1.0))
    R_chest = (R_low @ rotation('x', -0.55 * P['sflex']) @ rotation('y', 0.6 * P['sside'])
               @ rotation('z', 0.6 * P['stwist']))
    thorax_offset = bone_offset(b['spine_up'], 0.0, 0.06, 1.0)
    for j in (THORAX, ARMS['l'][0], ARMS['r'][0]):  # the shoulder girdles sit at the thorax
        X[:, j] = X[:, SPINE] + rotate(R_chest, thorax_offset)
    R_neck = R_chest @ rotation('x', -P['nflex']) @ rotation('y', P['nside']) @ rotation('z', P['ntwist'])
    X[:, NECK] = X[:, THORAX] + rotate(R_neck, bone_offset(b['neck'], 0.0, b.get('neck_lean', 0.45), 1.0))
    R_head = R_neck @ rotation('x', -0.3 * P['nflex'])
    X[:, HEAD] = X[:, NECK] + rotate(R_head, bone_offset(b['head'], 0.0, -0.2, 1.0))
    return R_chest


def _place_arms(X, b, P, R_heading, R_chest, floor):
    """Fill in both arms and hands: two-bone IK from the shoulder towards each wrist target.

    A wrist target below `floor` (N,) (height relative to the root of an upright body; a hand
    reaching down) is raised to a hand's length above it, so that the hand stops at the floor
    instead of lifting the person off it.
    """
    arm_scale = (b['upper_arm'] + b['forearm']) / REFERENCE_ARM_REACH
    upright = (np.asarray(P['bpitch']) == 0) & (np.asarray(P['broll']) == 0)
    lowest_wrist = np.where(upright, floor + b['hand'] + b['finger'], -np.inf)
    for side, sign in SIDES:
        girdle, shoulder, elbow, wrist, thumb, thumb_tip, hand, finger = ARMS[side]
        mirror = np.array([sign, 1.0, 1.0])  # (out, forward, up) -> body frame (x, y, z)
        X[:, shoulder] = X[:, girdle] + rotate(R_chest, bone_offset(b['shoulder'], sign, -0.05,
                                                                             b.get('shoulder_rise', -0.12)))
        target = (X[:, shoulder] + arm_scale * (rotate(R_chest, P[f'armT_{side}'] * mirror)
                                                + rotate(R_heading, P[f'armW_{side}'] * mirror)))
        target[:, 2] = np.maximum(target[:, 2], lowest_wrist)
        pole = rotate(R_chest, P[f'pole_{side}'] * mirror)
        X[:, elbow], X[:, wrist], elbow_dir = two_bone_ik(X[:, shoulder], target, pole,
                                                          b['upper_arm'], b['forearm'])
        fore = unit(X[:, wrist] - X[:, elbow])
        thumb_dir = -elbow_dir  # the thumb points away from the elbow's bending side
        X[:, thumb] = X[:, wrist] + b['thumb'] * unit(0.8 * fore + 0.6 * thumb_dir)
        X[:, thumb_tip] = X[:, thumb] + b['thumb_tip'] * unit(0.7 * fore + 0.7 * thumb_dir)
        X[:, hand] = X[:, wrist] + b['hand'] * unit(fore + 0.15 * thumb_dir)
        X[:, finger] = X[:, hand] + b['finger'] * fore


def _put_on_floor(X, contacts, root_xy, lift=0.0):
    """Move the body (in place) to `root_xy` (N, 2), its lowest joint or contact point (N, 3) at z = `lift`
    (N,) metres (0: touching the floor; above it in a jump)."""
    lowest = np.minimum(np.min(X[..., 2], axis=1), np.min(np.stack([c[:, 2] for c in contacts], 1), axis=1))
    X[..., 0] += root_xy[:, None, 0]
    X[..., 1] += root_xy[:, None, 1]
    X[..., 2] += (np.asarray(lift, dtype=np.float64) - lowest)[..., None]
