"""Motion synthesis for the embedded synthetic dataset: a 32-joint body driven by joint-angle tracks.

This module makes believable (not realistic) human motion for `common.data.synthetic.dataset`. Nothing
here is learned from or copied out of motion-capture data: each action is a hand-written list of
key poses (joint angles and wrist targets) that a seeded random generator picks from, times and
varies; the poses are eased into one another and simple procedural layers are added on top (gait
cycles, arm swing, waving, talking hands, idle sway).

Coordinates
-----------
World: metres, z up, the floor at z = 0 (as in Human3.6M). The body frame used for rest offsets
and angles is x = the person's right, y = forward, z = up. The skeleton is the 32-joint
Human3.6M mocap tree of `common.data.skeleton.H36M_32_PARENTS`:

====  =====================  ====  =====================
 0    hips (root)             16    left shoulder girdle (= 13)
 1-3  right hip, knee, ankle  17-19 left shoulder, elbow, wrist
 4-5  right toe, toe tip      20-21 left thumb, thumb tip
 6-8  left hip, knee, ankle   22-23 left hand end, fingertip
 9-10 left toe, toe tip       24    right shoulder girdle (= 13)
 11   spine base (= 0)        25-27 right shoulder, elbow, wrist
 12   spine                   28-29 right thumb, thumb tip
 13   thorax                  30-31 right hand end, fingertip
 14   neck / nose             15    head top
====  =====================  ====  =====================

Pose parameters (one value or 3-vector per frame; angles in degrees):

- ``speed`` commanded walking speed (m/s); ``face`` standing heading offset (deg).
- ``tpitch`` forward bend at the hips (legs stay put), ``troll`` sideways pelvis tilt (+ = right).
- ``sflex``/``sside``/``stwist`` spine forward bend / right bend / left twist.
- ``nflex``/``nside``/``ntwist`` neck nod down / tilt right / turn left.
- per side ``_r``/``_l``: ``hipf`` flexion, ``hipa`` abduction (outward), ``hipr`` external
  rotation, ``knee`` flexion, ``ankle`` dorsiflexion.
- per side arm: ``armT`` wrist target from the shoulder in the chest frame and ``armW`` in the
  upright heading frame (the two are added), ``pole`` where the elbow points (chest frame);
  vectors are ``(out, forward, up)``, ``out`` pointing away from the body's midline so one pose
  serves both sides. Lengths are for an adult of scale 1 and scale with the subject's arms.
- modulators in [0, 1]: ``swing`` (gait arm swing), ``wave``, ``shake`` (per side), ``talk``,
  ``nod``.
"""
import math

import numpy as np

from common.data.skeleton import H36M_32_PARENTS

FPS = 50
SIDES = (('r', 1.0), ('l', -1.0))  # side name, sign of its x coordinate

# Wrist targets relative to the shoulder, (out, forward, up), for an arm reach of 0.53 m.
HANG_W = (0.05, 0.03, -0.50)
POLE_DOWN_BACK = (0.3, -1.0, -0.3)

DEFAULTS = {
    'speed': 0.0, 'face': 0.0,
    'tpitch': 0.0, 'troll': 0.0, 'sflex': 2.0, 'sside': 0.0, 'stwist': 0.0,
    'nflex': 0.0, 'nside': 0.0, 'ntwist': 0.0,
    'talk': 0.0, 'nod': 0.0,
}
for _s, _ in SIDES:
    DEFAULTS.update({
        f'hipf_{_s}': 0.0, f'hipa_{_s}': 3.0, f'hipr_{_s}': 6.0, f'knee_{_s}': 4.0, f'ankle_{_s}': 0.0,
        f'armT_{_s}': (0.0, 0.0, 0.0), f'armW_{_s}': HANG_W, f'pole_{_s}': POLE_DOWN_BACK,
        f'swing_{_s}': 1.0, f'wave_{_s}': 0.0, f'shake_{_s}': 0.0,
    })

# ---------------------------------------------------------------------------------------------
# Body


def make_body(rng, height_scale):
    """Segment lengths (metres) of one subject: adult proportions times `height_scale`, each
    segment varied by a few percent (left and right kept equal)."""
    base = {
        'hip_width': 0.13, 'thigh': 0.45, 'shin': 0.44, 'ankle_height': 0.08, 'foot': 0.14,
        'toe': 0.05, 'heel': 0.05, 'spine_low': 0.235, 'spine_up': 0.255, 'neck': 0.115,
        'head': 0.115, 'shoulder': 0.15, 'upper_arm': 0.28, 'forearm': 0.25, 'hand': 0.085,
        'finger': 0.03, 'thumb': 0.03, 'thumb_tip': 0.03,
    }
    body = {}
    for name, length in base.items():
        body[name] = float(length * height_scale * (1.0 + np.clip(rng.normal(0, 0.03), -0.07, 0.07)))
    return body


def leg_length(body):
    return body['thigh'] + body['shin'] + body['ankle_height']


def bone_lengths(positions):
    """Length of every bone of the 32-joint tree, (N, 32) (0 for the root)."""
    parents = np.array(H36M_32_PARENTS)
    lengths = np.linalg.norm(positions - positions[:, np.maximum(parents, 0)], axis=-1)
    lengths[:, 0] = 0
    return lengths


# ---------------------------------------------------------------------------------------------
# Rotations (vectorised over frames)


def _rot(axis, deg):
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    i, j = {'x': (1, 2), 'y': (2, 0), 'z': (0, 1)}[axis]
    k = 3 - i - j
    R[..., k, k] = 1
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def _apply(R, v):
    """Rotate vectors: R (N, 3, 3), v (3,) or (N, 3) -> (N, 3)."""
    return np.einsum('nij,nj->ni', R, np.broadcast_to(v, R.shape[:-1]))


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _dir(length, *components):
    """A bone offset of the given length along the (not necessarily unit) direction."""
    d = np.array(components, dtype=np.float64)
    return length * d / np.linalg.norm(d)


# ---------------------------------------------------------------------------------------------
# Forward kinematics


def forward_kinematics(body, P, root_xy, yaw_deg, arm_scale=None):
    """Joint positions (N, 32, 3) in world metres, feet resting on the floor.

    P: dict of per-frame pose parameters (see module docstring) in their final form (gait etc.
    already added); root_xy (N, 2); yaw_deg (N,) heading (0 = facing world +y, positive = turning
    left). The root height is chosen per frame so that the lowest point (any joint, a heel or the
    seat) touches the floor (z = 0): standing and walking put a foot down, sitting on the floor
    the seat.
    """
    n = len(yaw_deg)
    b = body
    if arm_scale is None:
        arm_scale = (b['upper_arm'] + b['forearm']) / 0.53
    X = np.zeros((n, 32, 3))
    R_head = _rot('z', yaw_deg)  # upright heading frame
    R_pelvis = R_head @ _rot('y', P['troll']) @ _rot('x', -P['tpitch'])
    # Legs hang from the heading frame, so bending the trunk does not swing them.
    contacts = []
    for (side, sign), (hip, knee, ankle, toe, tip) in zip(SIDES, ((1, 2, 3, 4, 5), (6, 7, 8, 9, 10))):
        X[:, hip] = _apply(R_pelvis, _dir(b['hip_width'], sign, 0.0, -0.12))
        R1 = (R_head @ _rot('x', P[f'hipf_{side}']) @ _rot('y', -sign * P[f'hipa_{side}'])
              @ _rot('z', -sign * P[f'hipr_{side}']))
        X[:, knee] = X[:, hip] + _apply(R1, (0.0, 0.0, -b['thigh']))
        R2 = R1 @ _rot('x', -P[f'knee_{side}'])
        X[:, ankle] = X[:, knee] + _apply(R2, (0.0, 0.0, -b['shin']))
        R3 = R2 @ _rot('x', P[f'ankle_{side}'])
        X[:, toe] = X[:, ankle] + _apply(R3, _dir(math.hypot(b['foot'], b['ankle_height']),
                                                  0.0, b['foot'], -b['ankle_height']))
        X[:, tip] = X[:, toe] + _apply(R3, (0.0, b['toe'], 0.0))
        contacts.append(X[:, ankle] + _apply(R3, (0.0, -b['heel'], -b['ankle_height'])))  # heel
    contacts.append(_apply(R_pelvis, (0.0, -0.05, -0.11 * b['thigh'] / 0.45)))  # seat
    # Spine: bend split over the two spine joints.
    R11 = R_pelvis @ _rot('x', -0.45 * P['sflex']) @ _rot('y', 0.4 * P['sside']) @ _rot('z', 0.4 * P['stwist'])
    X[:, 11] = X[:, 0]
    X[:, 12] = X[:, 11] + _apply(R11, _dir(b['spine_low'], 0.0, -0.03, 1.0))
    R12 = R11 @ _rot('x', -0.55 * P['sflex']) @ _rot('y', 0.6 * P['sside']) @ _rot('z', 0.6 * P['stwist'])
    thorax_offset = _dir(b['spine_up'], 0.0, 0.06, 1.0)
    for j in (13, 16, 24):  # the thorax and both shoulder girdles sit at the same point
        X[:, j] = X[:, 12] + _apply(R12, thorax_offset)
    R13 = R12 @ _rot('x', -P['nflex']) @ _rot('y', P['nside']) @ _rot('z', P['ntwist'])
    X[:, 14] = X[:, 13] + _apply(R13, _dir(b['neck'], 0.0, 0.45, 1.0))
    R14 = R13 @ _rot('x', -0.3 * P['nflex'])
    X[:, 15] = X[:, 14] + _apply(R14, _dir(b['head'], 0.0, -0.2, 1.0))
    # Arms: two-bone IK towards the wrist targets.
    for (side, sign), (girdle, sh, el, wr, th, tht, hd, fin) in zip(
            SIDES, ((24, 25, 26, 27, 28, 29, 30, 31), (16, 17, 18, 19, 20, 21, 22, 23))):
        mirror = np.array([sign, 1.0, 1.0])
        X[:, sh] = X[:, girdle] + _apply(R12, _dir(b['shoulder'], sign, -0.05, -0.12))
        target = (X[:, sh] + arm_scale * (_apply(R12, P[f'armT_{side}'] * mirror)
                                          + _apply(R_head, P[f'armW_{side}'] * mirror)))
        pole = _apply(R12, P[f'pole_{side}'] * mirror)
        X[:, el], X[:, wr], elbow_dir = _two_bone_ik(X[:, sh], target, pole, b['upper_arm'], b['forearm'])
        fore = _unit(X[:, wr] - X[:, el])
        thumb_dir = -elbow_dir  # the thumb points away from the elbow's bending side
        X[:, th] = X[:, wr] + b['thumb'] * _unit(0.8 * fore + 0.6 * thumb_dir)
        X[:, tht] = X[:, th] + b['thumb_tip'] * _unit(0.7 * fore + 0.7 * thumb_dir)
        X[:, hd] = X[:, wr] + b['hand'] * _unit(fore + 0.15 * thumb_dir)
        X[:, fin] = X[:, hd] + b['finger'] * fore
    # Place on the ground: translate so that the lowest contact (or any joint) touches z = 0.
    lowest = np.minimum(np.min(X[..., 2], axis=1), np.min(np.stack([c[:, 2] for c in contacts], 1), axis=1))
    X[..., 0] += root_xy[:, None, 0]
    X[..., 1] += root_xy[:, None, 1]
    X[..., 2] -= lowest[:, None]
    return X


def _two_bone_ik(shoulder, target, pole, l1, l2):
    """Elbow and wrist positions reaching towards `target` with exact bone lengths l1, l2."""
    d = target - shoulder
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    dhat = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 0.02, (l1 + l2) * 0.995)
    p = pole - np.sum(pole * dhat, -1, keepdims=True) * dhat
    degenerate = np.linalg.norm(p, axis=-1, keepdims=True) < 1e-6
    p = np.where(degenerate, np.cross(dhat, [1.0, 0.0, 0.0]) + 1e-3, p)
    p = _unit(p - np.sum(p * dhat, -1, keepdims=True) * dhat)
    cos_a = (l1 ** 2 + dist ** 2 - l2 ** 2) / (2 * l1 * dist)
    sin_a = np.sqrt(np.clip(1 - cos_a ** 2, 0, 1))
    elbow = shoulder + l1 * (cos_a * dhat + sin_a * p)
    wrist = shoulder + dist * dhat
    return elbow, wrist, p


# ---------------------------------------------------------------------------------------------
# Key poses and their interpolation


def keyed_tracks(n, keys):
    """Per-frame parameter tracks from key poses.

    keys: list of (time_s, pose dict); a missing parameter takes its default. Between keys each
    parameter moves along a smootherstep (zero velocity and acceleration at the keys); two keys
    with the same pose make a hold.
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


def schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 1.0)):
    """Key list alternating holds and transitions: sampler(rng, i) gives the i-th pose (dict) and
    optionally its own ('hold', 'trans') durations through keys '_hold' / '_trans'."""
    keys = []
    t = 0.0
    i = 0
    while True:
        pose = dict(sampler(rng, i))
        h = pose.pop('_hold', None)
        tr = pose.pop('_trans', None)
        h = rng.uniform(*hold) if h is None else h
        tr = rng.uniform(*trans) if tr is None else tr
        if i > 0:
            t += tr
        keys.append((t, pose))
        t += h
        keys.append((t, pose))
        i += 1
        if t > duration:
            return keys


def mirror_pose(pose):
    """Swap left and right in a pose dict (arms' 'out' coordinates are already side-relative)."""
    out = {}
    for name, value in pose.items():
        if name.endswith('_r'):
            out[name[:-2] + '_l'] = value
        elif name.endswith('_l'):
            out[name[:-2] + '_r'] = value
        elif name in ('troll', 'sside', 'stwist', 'nside', 'ntwist', 'face'):
            out[name] = -value
        else:
            out[name] = value
    return out


def smooth_noise(rng, n, amplitude, freqs=(0.08, 0.4), count=3):
    """Sum of a few slow sinusoids with random frequencies and phases, scaled to `amplitude`."""
    t = np.arange(n) / FPS
    out = np.zeros(n)
    for _ in range(count):
        out += np.sin(2 * np.pi * rng.uniform(*freqs) * t + rng.uniform(0, 2 * np.pi))
    return amplitude * out / math.sqrt(count / 2)


# Arm helpers: each returns pose entries for one side.

def arm(side, t=(0.0, 0.0, 0.0), w=(0.0, 0.0, 0.0), pole=POLE_DOWN_BACK, swing=0.0, **extra):
    pose = {f'armT_{side}': t, f'armW_{side}': w, f'pole_{side}': pole, f'swing_{side}': swing}
    pose.update({f'{k}_{side}': v for k, v in extra.items()})
    return pose


def hang(side, swing=1.0):
    return arm(side, w=HANG_W, swing=swing)


def hand_on_hip(side):
    return arm(side, t=(0.04, -0.02, -0.33), pole=(1.0, -0.5, 0.0))


def arms_crossed():
    return {**arm('r', t=(-0.19, 0.17, -0.24), pole=(0.7, -0.1, -1.0)),
            **arm('l', t=(-0.21, 0.13, -0.20), pole=(0.7, -0.1, -1.0))}


def hands_behind():
    return {**arm('r', t=(-0.09, -0.17, -0.37), pole=(1.0, -0.4, -0.6)),
            **arm('l', t=(-0.09, -0.17, -0.37), pole=(1.0, -0.4, -0.6))}


def hands_clasped():
    return {**arm('r', t=(-0.13, 0.22, -0.37), pole=(0.6, -0.3, -1.0)),
            **arm('l', t=(-0.13, 0.22, -0.37), pole=(0.6, -0.3, -1.0))}


def hand_to_mouth(side):
    return arm(side, t=(-0.12, 0.16, 0.07), pole=(0.5, 0.0, -1.0))


def hand_at_ear(side):
    return arm(side, t=(-0.07, 0.07, 0.10), pole=(0.7, 0.1, -1.0))


def point(side, rng):
    d = np.array([rng.uniform(0.1, 0.7), rng.uniform(0.5, 1.0), rng.uniform(-0.15, 0.35)])
    return arm(side, t=tuple(0.51 * d / np.linalg.norm(d)), pole=(0.4, -0.2, -1.0))


def talking_hands(rng):
    pose = {'talk': 1.0}
    for side in ('r', 'l'):
        pose.update(arm(side, t=(-0.04 + rng.uniform(-0.03, 0.05), 0.25 + rng.uniform(-0.05, 0.05),
                                 -0.25 + rng.uniform(-0.07, 0.07)), pole=(0.5, -0.4, -1.0)))
    return pose


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


SEATED = {'hipf_r': 88.0, 'hipf_l': 88.0, 'knee_r': 88.0, 'knee_l': 88.0, 'ankle_r': 0.0, 'ankle_l': 0.0,
          'hipa_r': 8.0, 'hipa_l': 8.0, 'hipr_r': 4.0, 'hipr_l': 4.0}


def seated(rng, **extra):
    pose = dict(SEATED)
    k = rng.uniform(-10, 12)
    for side in ('r', 'l'):
        knee = 88.0 + k + rng.uniform(-6, 6)
        pose[f'knee_{side}'] = knee
        pose[f'ankle_{side}'] = knee - pose[f'hipf_{side}']  # feet flat
    pose.update(extra)
    return pose


def hands_on_thighs():
    return {**arm('r', t=(-0.03, 0.26, -0.40), pole=(0.4, -0.6, -0.6)),
            **arm('l', t=(-0.03, 0.26, -0.40), pole=(0.4, -0.6, -0.6))}


# ---------------------------------------------------------------------------------------------
# Where people may be: inside the Human3.6M capture area, seen whole by all four cameras.

AREA_CENTER = np.array([0.15, 0.45])
STAND_RADII = np.array([0.40, 0.60])  # ellipse (x, y) for standing / seated actions
WALK_ENDS = (np.array([0.0, -0.55]), np.array([0.3, 1.5]))  # walking goes back and forth


def random_stand_point(rng):
    r = math.sqrt(rng.uniform(0, 1))
    a = rng.uniform(0, 2 * np.pi)
    return AREA_CENTER + STAND_RADII * r * np.array([math.cos(a), math.sin(a)])


def _heading(px, py, to):
    """Yaw (deg) to face point `to` from (px, py); yaw 0 faces +y, positive turns left."""
    return math.degrees(math.atan2(-(to[0] - px), to[1] - py))


def _wrap(deg):
    return (deg + 180.0) % 360.0 - 180.0


def locomotion(rng, speed_cmd, face_deg, mode, lateral=0.0):
    """Integrate the root path: (root_xy (N, 2), yaw (N,) deg, speed (N,), yaw rate (N,) deg/s).

    mode 'path': walk back and forth between the two ends of the walking area (turning at them);
    mode 'stand': stay put, facing `base + face_deg`; whenever the commanded speed rises above
    zero, walk towards a new random spot of the standing area. Heading changes with a limited,
    smoothed turning rate; walking slows down in sharp turns.
    """
    n = len(speed_cmd)
    dt = 1.0 / FPS
    out = np.zeros((n, 5))  # x, y, yaw, speed, yaw rate
    speed_cmd = [float(c) for c in speed_cmd]
    face_deg = [float(f) for f in face_deg]
    goal = None
    if mode == 'path':
        side = np.array([1.0, -0.1])
        ends = [tuple(e + rng.uniform(-0.12, 0.12, 2) + lateral * side) for e in WALK_ENDS]
        u = rng.uniform(0.2, 0.8)
        goal_i = int(rng.integers(2))
        px, py = (ends[1 - goal_i][k] * (1 - u) + ends[goal_i][k] * u for k in range(2))
        h = base = _heading(px, py, ends[goal_i])
    else:
        px, py = (float(c) for c in random_stand_point(rng))
        base = rng.uniform(-180, 180)
        h = base + face_deg[0]
    w = 0.0  # yaw rate, deg/s
    v = speed_cmd[0] if mode == 'path' else 0.0  # speed, m/s
    moving = False
    max_rate, accel = 180.0, 900.0
    for i in range(n):
        cmd = speed_cmd[i]
        if mode == 'path':
            if math.hypot(ends[goal_i][0] - px, ends[goal_i][1] - py) < 0.3:
                goal_i = 1 - goal_i
            target = _heading(px, py, ends[goal_i]) if cmd > 0.05 else h
        else:
            if cmd > 0.05 and not moving:
                for _ in range(20):
                    goal = random_stand_point(rng)
                    if math.hypot(goal[0] - px, goal[1] - py) > 0.7:
                        break
            moving = cmd > 0.05
            if moving and math.hypot(goal[0] - px, goal[1] - py) > 0.15:
                target = _heading(px, py, goal)
            else:
                target = base + face_deg[i]
                if moving:
                    cmd = 0.0
        err = _wrap(target - h)
        desired = min(max(6.0 * err, -max_rate), max_rate)
        w += min(max(desired - w, -accel * dt), accel * dt)
        h += w * dt
        v += (cmd * max(0.5, math.cos(math.radians(min(abs(err), 90.0)))) - v) * min(1.0, dt / 0.25)
        px -= v * dt * math.sin(math.radians(h))
        py += v * dt * math.cos(math.radians(h))
        out[i] = px, py, h, v, w
    xy, yaw, speed, rate = out[:, :2], out[:, 2], out[:, 3], out[:, 4]
    return xy, yaw, speed, rate


# ---------------------------------------------------------------------------------------------
# Gait

CADENCE = 0.95  # strides (two steps) per second at normal walking speed
STRIDE_PER_LEG = 1.6  # stride length at unit gait amplitude, in leg lengths (tuned: least foot sliding)


def _bump(phase, centre, width):
    d = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / width) ** 2)


def add_gait(P, rng, body, speed, yaw_rate):
    """Add leg cycles, arm swing and trunk rotation for the walking speed (in place)."""
    n = len(speed)
    cadence = CADENCE * rng.uniform(0.92, 1.08) * (0.75 + 0.25 * np.clip(speed / 1.2, 0, 1.3))
    phase = rng.uniform(0, 1) + np.cumsum(cadence) / FPS
    amp = np.clip(speed / (cadence * STRIDE_PER_LEG * leg_length(body)), 0, 1.3)
    amp = np.maximum(amp, np.clip(np.abs(yaw_rate) / 250.0, 0, 0.3))
    for side, offset in (('r', 0.0), ('l', 0.5)):
        ph = phase + offset
        # The leg sweeps back during the stance (60 % of the cycle) and forward in the swing.
        u = ph % 1.0
        sweep = np.where(u < 0.6, u / 0.6 * 0.5, 0.5 + (u - 0.6) / 0.4 * 0.5)
        P[f'hipf_{side}'] = P[f'hipf_{side}'] + amp * (8 + 22 * np.cos(2 * np.pi * sweep))
        P[f'knee_{side}'] = P[f'knee_{side}'] + amp * (12 * _bump(ph, 0.12, 0.06) + 55 * _bump(ph, 0.72, 0.09))
        P[f'ankle_{side}'] = P[f'ankle_{side}'] + amp * (6 * _bump(ph, 0.38, 0.10) - 14 * _bump(ph, 0.60, 0.05)
                                                         + 6 * _bump(ph, 0.85, 0.08))
        swing = -0.16 * amp * P[f'swing_{side}'] * np.cos(2 * np.pi * ph)
        P[f'armW_{side}'] = P[f'armW_{side}'] + swing[:, None] * np.array([0.0, 1.0, 0.15])
    P['stwist'] = P['stwist'] + 5 * amp * np.cos(2 * np.pi * phase)
    P['troll'] = P['troll'] + 2 * amp * np.sin(2 * np.pi * phase)
    P['tpitch'] = P['tpitch'] + 4 * np.minimum(amp, 1)
    return amp


def add_modulations(P, rng, n):
    """Waving, hand shakes, talking hands, nodding and idle sway (in place)."""
    t = np.arange(n) / FPS
    for side in ('r', 'l'):
        wave = np.sin(2 * np.pi * rng.uniform(1.5, 2.2) * t)
        P[f'armT_{side}'] = P[f'armT_{side}'] + (P[f'wave_{side}'] * 0.09 * wave)[:, None] * np.array([1.0, 0.0, 0.1])
        shake = np.sin(2 * np.pi * rng.uniform(2.0, 3.0) * t)
        P[f'armW_{side}'] = P[f'armW_{side}'] + (P[f'shake_{side}'] * 0.035 * shake)[:, None] * np.array([0.0, 0.0, 1.0])
        talk = np.stack([0.04 * np.sin(2 * np.pi * rng.uniform(0.6, 1.6) * t + rng.uniform(0, 6.3)) for _ in range(3)], 1)
        talk[:, 1] *= 1.2
        P[f'armT_{side}'] = P[f'armT_{side}'] + P['talk'][:, None] * talk
        P[f'armT_{side}'] = P[f'armT_{side}'] + np.stack([smooth_noise(rng, n, 0.012) for _ in range(3)], 1)
    P['nflex'] = P['nflex'] + P['nod'] * 8 * np.sin(2 * np.pi * rng.uniform(1.0, 1.6) * t) + smooth_noise(rng, n, 3.0)
    for name, amp in (('troll', 1.0), ('sside', 1.5), ('stwist', 3.0), ('sflex', 1.5), ('ntwist', 6.0), ('nside', 2.0)):
        P[name] = P[name] + smooth_noise(rng, n, amp)


# ---------------------------------------------------------------------------------------------
# Actions: each returns (keys, locomotion mode) for a sequence of `duration` seconds.


def _pick(rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _stand(rng, face_range=30.0):
    pose = weight_shift(rng.uniform(-1, 1))
    pose['face'] = rng.uniform(-face_range, face_range)
    return pose


def _walk_few_steps(rng):
    return {'speed': rng.uniform(0.6, 0.9), '_hold': rng.uniform(1.5, 2.5), '_trans': 0.5}


def act_directions(rng, duration):
    dom = 'r' if rng.random() < 0.75 else 'l'
    other = 'l' if dom == 'r' else 'r'

    def sampler(rng, i):
        kind = _pick(rng, ['point', 'point_hip', 'talk', 'hang', 'steps'], p=[0.35, 0.15, 0.25, 0.1, 0.15])
        pose = _stand(rng, 70)
        if kind == 'point':
            pose.update(point(dom, rng))
            pose.update(hang(other, swing=0.0))
            pose['stwist'] = rng.uniform(-15, 15)
        elif kind == 'point_hip':
            pose.update(point(dom, rng))
            pose.update(hand_on_hip(other))
        elif kind == 'talk':
            pose.update(talking_hands(rng))
            pose['nod'] = rng.uniform(0, 1)
        elif kind == 'hang':
            pose.update(hang('r'))
            pose.update(hang('l'))
            pose['nflex'] = rng.uniform(-5, 15)
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.2), trans=(0.5, 0.9)), 'stand'


def act_discussion(rng, duration):
    def sampler(rng, i):
        kind = _pick(rng, ['talk', 'one_hand', 'crossed', 'hips', 'clasped', 'point'],
                     p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1])
        pose = _stand(rng, 40)
        pose['stwist'] = rng.uniform(-12, 12)
        if kind == 'talk':
            pose.update(talking_hands(rng))
        elif kind == 'one_hand':
            side = _pick(rng, ['r', 'l'])
            pose.update(talking_hands(rng))
            pose.update(hand_on_hip('l' if side == 'r' else 'r') if rng.random() < 0.5
                        else hang('l' if side == 'r' else 'r', swing=0.0))
        elif kind == 'crossed':
            pose.update(arms_crossed())
            pose['nod'] = 1.0
        elif kind == 'hips':
            pose.update(hand_on_hip('r'))
            pose.update(hand_on_hip('l'))
        elif kind == 'clasped':
            pose.update(hands_clasped())
            pose['nod'] = rng.uniform(0, 1)
        else:
            pose.update(point(_pick(rng, ['r', 'l']), rng))
            pose['talk'] = 0.3
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 2.8), trans=(0.5, 1.0)), 'stand'


def act_eating(rng, duration):
    dom = 'r' if rng.random() < 0.8 else 'l'
    other = 'l' if dom == 'r' else 'r'
    table = (-0.05, 0.33, -0.30)
    base = seated(rng, tpitch=rng.uniform(8, 18), nflex=rng.uniform(5, 15))

    def sampler(rng, i):
        pose = dict(base)
        pose.update(arm(dom, t=(table[0] + rng.uniform(-0.05, 0.05), table[1] + rng.uniform(-0.05, 0.05),
                                table[2] + rng.uniform(-0.05, 0.05)), pole=(0.6, -0.4, -1.0)))
        pose.update(arm(other, t=table, pole=(0.6, -0.4, -1.0)))
        if i % 2 == 1:
            kind = _pick(rng, ['bite', 'drink', 'lean_back'], p=[0.7, 0.2, 0.1])
            if kind == 'bite':
                pose.update(hand_to_mouth(dom))
                pose['nflex'] = base['nflex'] + 8
                pose['_hold'] = rng.uniform(0.3, 0.8)
            elif kind == 'drink':
                pose.update(arm(other, t=(-0.10, 0.17, 0.08), pole=(0.8, 0.0, -0.7)))
                pose['nflex'] = -10.0
                pose['_hold'] = rng.uniform(0.8, 1.5)
            else:
                pose.update(hands_on_thighs())
                pose['tpitch'] = -5.0
                pose['nflex'] = 0.0
        else:
            pose['_hold'] = rng.uniform(1.0, 3.0)
        return pose
    return schedule(rng, duration, sampler, trans=(0.5, 0.9)), 'seated'


def act_greeting(rng, duration):
    dom = 'r' if rng.random() < 0.8 else 'l'
    other = 'l' if dom == 'r' else 'r'

    def sampler(rng, i):
        kind = _pick(rng, ['wave', 'shake', 'bow', 'hug', 'steps', 'rest'], p=[0.15, 0.25, 0.2, 0.1, 0.15, 0.15])
        if i % 3 == 1:
            kind = 'wave'  # every greeting sequence waves
        pose = _stand(rng, 50)
        if kind == 'wave':
            pose.update(arm(dom, t=(0.16, 0.10, 0.33), pole=(1.0, 0.0, -0.6), wave=1.0))
            pose.update(hang(other, swing=0.0))
            pose['_hold'] = rng.uniform(1.5, 3.0)
        elif kind == 'shake':
            pose.update(arm(dom, w=(0.0, 0.40, -0.22), pole=(0.4, -0.5, -1.0), shake=1.0))
            pose.update(hang(other, swing=0.0))
            pose['tpitch'] = 8.0
        elif kind == 'bow':
            pose.update(hang('r', swing=0.0))
            pose.update(hang('l', swing=0.0))
            pose.update(tpitch=rng.uniform(15, 30), sflex=8.0, nflex=15.0, _hold=rng.uniform(0.6, 1.2))
        elif kind == 'hug':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(0.10, 0.40, -0.05), pole=(1.0, 0.0, -0.4)))
        elif kind == 'steps':
            pose.update(_walk_few_steps(rng))
        else:
            pose.update(hands_clasped() if rng.random() < 0.5 else {**hang('r'), **hang('l')})
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.0), trans=(0.5, 0.9)), 'stand'


def act_phoning(rng, duration):
    dom = 'r' if rng.random() < 0.7 else 'l'
    other = 'l' if dom == 'r' else 'r'
    tilt = 8.0 if dom == 'r' else -8.0

    def sampler(rng, i):
        kind = _pick(rng, ['call', 'call_walk', 'screen'], p=[0.55, 0.3, 0.15])
        pose = _stand(rng, 60)
        if kind == 'screen':
            pose.update(arm(dom, t=(-0.09, 0.30, -0.10), pole=(0.5, -0.3, -1.0)))
            pose['nflex'] = 30.0
        else:
            pose.update(hand_at_ear(dom))
            pose['nside'] = tilt
        free = _pick(rng, ['hang', 'hip', 'support', 'talk'])
        if free == 'hang':
            pose.update(hang(other))
        elif free == 'hip':
            pose.update(hand_on_hip(other))
        elif free == 'support':
            pose.update(arm(other, t=(-0.22, 0.14, -0.24), pole=(0.7, -0.1, -1.0)))
        else:
            pose.update(arm(other, t=(-0.02, 0.26, -0.22), pole=(0.5, -0.4, -1.0)))
            pose['talk'] = 0.6
        if kind == 'call_walk':
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 2.5), trans=(0.5, 1.0)), 'stand'


def act_photo(rng, duration):
    camera = {**arm('r', t=(-0.07, 0.25, 0.12), pole=(0.8, -0.2, -1.0)),
              **arm('l', t=(-0.07, 0.25, 0.12), pole=(0.8, -0.2, -1.0))}
    review = {**arm('r', t=(-0.08, 0.28, -0.16), pole=(0.6, -0.3, -1.0)),
              **arm('l', t=(-0.08, 0.28, -0.16), pole=(0.6, -0.3, -1.0))}

    def sampler(rng, i):
        kind = _pick(rng, ['shoot', 'crouch', 'review', 'steps'], p=[0.45, 0.2, 0.2, 0.15])
        pose = _stand(rng, 80)
        if kind == 'shoot':
            pose.update(camera)
            pose['nflex'] = rng.uniform(-5, 5)
        elif kind == 'crouch':
            pose.update(camera)
            bend = rng.uniform(30, 55)
            pose.update(hipf_r=bend, hipf_l=bend + rng.uniform(-10, 10), knee_r=1.5 * bend, knee_l=1.5 * bend,
                        ankle_r=0.5 * bend, ankle_l=0.5 * bend, tpitch=0.35 * bend, nflex=-0.3 * bend)
        elif kind == 'review':
            pose.update(review)
            pose['nflex'] = 30.0
        else:
            pose.update(review)
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 1.0)), 'stand'


def act_posing(rng, duration):
    def sampler(rng, i):
        kind = _pick(rng, ['v', 't', 'hips_leg', 'flex', 'behind_head', 'one_up', 'lunge', 'lean'])
        pose = _stand(rng, 60)
        if kind == 'v':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(0.22, 0.08, 0.46), pole=(1.0, 0.0, 0.0)))
        elif kind == 't':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(0.52, 0.06, 0.02), pole=(0.0, -0.3, -1.0)))
        elif kind == 'hips_leg':
            pose.update(hand_on_hip('r'))
            pose.update(hand_on_hip('l'))
            pose.update(hipf_r=15.0, hipa_r=14.0, hipr_r=25.0, knee_r=10.0, troll=3.0)
        elif kind == 'flex':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(0.27, 0.02, 0.22), pole=(1.0, 0.0, -1.0)))
            pose['hipa_r'] = pose['hipa_l'] = 9.0
        elif kind == 'behind_head':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(-0.10, -0.01, 0.28), pole=(1.0, 0.3, 0.4)))
        elif kind == 'one_up':
            pose.update(arm('r', t=(0.10, 0.12, 0.50), pole=(1.0, 0.0, 0.0)))
            pose.update(hand_on_hip('l'))
            pose['sside'] = -6.0
        elif kind == 'lunge':
            pose.update(hipf_r=45.0, knee_r=55.0, ankle_r=10.0, hipf_l=-15.0, knee_l=5.0, ankle_l=10.0,
                        tpitch=5.0)
            pose.update(hand_on_hip('r'))
            pose.update(hand_on_hip('l'))
        else:
            pose.update(arms_crossed())
            pose.update(sside=8.0, troll=5.0, knee_l=15.0, hipf_l=8.0)
        if rng.random() < 0.5:
            pose = mirror_pose(pose)
        pose['_hold'] = rng.uniform(1.5, 3.0)
        return pose
    return schedule(rng, duration, sampler, trans=(0.7, 1.2)), 'stand'


def act_purchases(rng, duration):
    dom = 'r' if rng.random() < 0.75 else 'l'
    other = 'l' if dom == 'r' else 'r'
    basket = arm(other, t=(0.0, 0.12, -0.38), pole=(0.5, -1.0, -0.3))

    def sampler(rng, i):
        kind = _pick(rng, ['shelf', 'low', 'inspect', 'steps'], p=[0.35, 0.25, 0.2, 0.2])
        pose = _stand(rng, 90)
        pose.update(basket if rng.random() < 0.6 else hang(other))
        if kind == 'shelf':
            pose.update(arm(dom, w=(0.08, 0.47, rng.uniform(-0.2, 0.3)), pole=(0.5, -0.3, -1.0)))
            pose['tpitch'] = rng.uniform(0, 10)
        elif kind == 'low':
            bend = rng.uniform(45, 70)
            knee = rng.uniform(10, 35)
            pose.update(tpitch=bend, sflex=15.0, nflex=-15.0, knee_r=knee, knee_l=knee,
                        hipf_r=0.5 * knee, hipf_l=0.5 * knee, ankle_r=0.5 * knee, ankle_l=0.5 * knee)
            pose.update(arm(dom, w=(0.10, 0.30, -0.45), pole=(0.3, -1.0, 0.0)))
        elif kind == 'inspect':
            pose.update(arm(dom, t=(-0.08, 0.30, -0.12), pole=(0.6, -0.3, -1.0)))
            pose['nflex'] = 25.0
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(0.8, 2.0), trans=(0.6, 1.0)), 'stand'


def act_sitting(rng, duration):
    def sampler(rng, i):
        kind = _pick(rng, ['thighs', 'lean_back', 'elbows', 'crossed_legs', 'phone', 'stretch', 'look'],
                     p=[0.2, 0.15, 0.15, 0.15, 0.15, 0.1, 0.1])
        pose = seated(rng)
        pose.update(hands_on_thighs())
        if kind == 'lean_back':
            pose.update(arms_crossed() if rng.random() < 0.5 else hands_on_thighs())
            pose.update(tpitch=-12.0, sflex=-4.0)
        elif kind == 'elbows':
            for side in ('r', 'l'):
                pose.update(arm(side, w=(-0.06, 0.33, -0.33), pole=(0.3, -0.6, -1.0)))
            pose.update(tpitch=28.0, sflex=10.0, nflex=-15.0)
        elif kind == 'crossed_legs':
            pose.update(hipf_r=100.0, hipa_r=-12.0, hipr_r=-5.0, knee_r=70.0, ankle_r=-25.0)
            if rng.random() < 0.5:
                pose = mirror_pose(pose)
        elif kind == 'phone':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(-0.09, 0.30, -0.17), pole=(0.6, -0.3, -1.0)))
            pose['nflex'] = 30.0
        elif kind == 'stretch':
            for side in ('r', 'l'):
                pose.update(arm(side, t=(0.12, 0.05, 0.50), pole=(1.0, 0.0, 0.0)))
            pose.update(tpitch=-8.0, nflex=-15.0, _hold=rng.uniform(0.8, 1.5))
        else:
            pose['ntwist'] = rng.uniform(-60, 60)
            pose['stwist'] = 0.3 * pose['ntwist']
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 3.0), trans=(0.7, 1.2)), 'seated'


def act_sitting_down(rng, duration):
    stand = {**hang('r'), **hang('l')}

    def crouch(rng):
        pose = dict(hipf_r=95.0, hipf_l=95.0, knee_r=125.0, knee_l=125.0, ankle_r=30.0, ankle_l=30.0,
                    hipa_r=10.0, hipa_l=10.0, tpitch=rng.uniform(30, 45), sflex=15.0, nflex=-20.0)
        pose.update(arm('r', w=(0.10, 0.30, -0.55), pole=(0.3, -1.0, 0.0)))
        pose.update(hang('l', swing=0.0) if rng.random() < 0.5 else arm('l', w=(0.10, 0.30, -0.55), pole=(0.3, -1.0, 0.0)))
        return pose

    def floor_sit(rng):
        if rng.random() < 0.5:  # legs stretched out, leaning back on the hands
            pose = dict(hipf_r=93.0, hipf_l=93.0, knee_r=rng.uniform(5, 15), knee_l=rng.uniform(5, 15),
                        ankle_r=-10.0, ankle_l=-10.0, hipa_r=10.0, hipa_l=10.0, tpitch=-15.0, nflex=10.0)
            for side in ('r', 'l'):
                pose.update(arm(side, w=(0.10, -0.25, -0.44), pole=(0.2, 1.0, 0.0)))
        else:  # knees up, arms around them
            pose = dict(hipf_r=135.0, hipf_l=135.0, knee_r=158.0, knee_l=158.0, ankle_r=23.0, ankle_l=23.0,
                        hipa_r=12.0, hipa_l=12.0, tpitch=10.0, sflex=15.0)
            for side in ('r', 'l'):
                pose.update(arm(side, w=(-0.05, 0.40, -0.30), pole=(0.8, 0.0, -1.0)))
        return pose

    def chair(rng):
        pose = seated(rng)
        pose.update(hands_on_thighs())
        return pose

    def lean_forward(pose, rng):
        pose = dict(pose)
        pose.update(tpitch=rng.uniform(30, 45), sflex=15.0, nflex=-15.0)
        for side in ('r', 'l'):
            pose.update(arm(side, w=(0.08, 0.55, -0.30), pole=(0.3, -0.5, -1.0)))
        return pose

    keys = []
    t = 0.0

    def add(pose, trans, hold):
        nonlocal t
        if keys:
            t += trans
        keys.append((t, pose))
        t += hold
        keys.append((t, pose))

    while t < duration:
        add(dict(stand, **weight_shift(rng.uniform(-0.5, 0.5))), 1.0, rng.uniform(0.8, 1.8))
        if rng.random() < 0.55:
            add(crouch(rng), rng.uniform(0.9, 1.3), rng.uniform(0.2, 0.5))
            sit = floor_sit(rng)
        else:
            sit = chair(rng)
        add(sit, rng.uniform(0.8, 1.2), rng.uniform(1.0, 2.5))
        add(lean_forward(sit, rng), rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.2))
        add(sit, rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.5))
        if sit.get('hipf_r', 0) > 90 or sit.get('knee_r', 90) < 60:
            add(crouch(rng), rng.uniform(0.9, 1.3), rng.uniform(0.2, 0.4))
    return keys, 'stand'


def act_smoking(rng, duration):
    dom = 'r' if rng.random() < 0.75 else 'l'
    other = 'l' if dom == 'r' else 'r'
    free = _pick(rng, ['support', 'hang', 'behind', 'hip'])

    def sampler(rng, i):
        pose = _stand(rng, 30)
        if free == 'support':
            pose.update(arm(other, t=(-0.22, 0.14, -0.24), pole=(0.7, -0.1, -1.0)))
        elif free == 'hang':
            pose.update(hang(other))
        elif free == 'behind':
            pose.update(arm(other, t=(-0.09, -0.17, -0.37), pole=(1.0, -0.4, -0.6)))
        else:
            pose.update(hand_on_hip(other))
        if i % 2 == 1:
            pose.update(arm(dom, t=(-0.11, 0.18, 0.06), pole=(0.5, 0.0, -1.0)))
            pose['nflex'] = -3.0
            pose['_hold'] = rng.uniform(0.6, 1.3)
        else:
            rest = _pick(rng, ['chest', 'low'])
            if rest == 'chest':
                pose.update(arm(dom, t=(0.0, 0.22, -0.22), pole=(0.4, -0.3, -1.0)))
            else:
                pose.update(arm(dom, w=(0.08, 0.10, -0.44), pole=(0.3, -1.0, -0.3)))
            pose['nflex'] = rng.uniform(-15, 5)  # exhale upwards
            pose['_hold'] = rng.uniform(1.5, 3.0)
        return pose
    return schedule(rng, duration, sampler, trans=(0.6, 1.0)), 'stand'


def act_waiting(rng, duration):
    def sampler(rng, i):
        kind = _pick(rng, ['look', 'crossed', 'behind', 'hips', 'watch', 'steps'],
                     p=[0.25, 0.2, 0.15, 0.1, 0.15, 0.15])
        pose = _stand(rng, 60)
        pose['ntwist'] = rng.uniform(-60, 60)
        pose['stwist'] = 0.25 * pose['ntwist']
        if kind == 'look':
            pose.update(hang('r'))
            pose.update(hang('l'))
        elif kind == 'crossed':
            pose.update(arms_crossed())
        elif kind == 'behind':
            pose.update(hands_behind())
        elif kind == 'hips':
            pose.update(hand_on_hip('r'))
            pose.update(hand_on_hip('l'))
        elif kind == 'watch':
            pose.update(arm('l', t=(-0.12, 0.27, -0.12), pole=(0.6, -0.3, -1.0)))
            pose.update(hang('r', swing=0.0))
            pose.update(nflex=35.0, ntwist=-10.0, stwist=0.0)
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.5, 3.0), trans=(0.7, 1.2)), 'stand'


def act_walking(rng, duration):
    v = rng.uniform(1.1, 1.35)
    return [(0.0, {'speed': v}), (duration + 1, {'speed': v})], 'path'


def act_walk_dog(rng, duration):
    dom = 'r' if rng.random() < 0.7 else 'l'
    other = 'l' if dom == 'r' else 'r'
    leash = arm(dom, w=(0.10, 0.30, -0.38), pole=(0.3, -0.5, -1.0))

    def sampler(rng, i):
        pose = dict(leash)
        pose.update(hang(other))
        if i % 2 == 0:
            pose.update(speed=rng.uniform(0.8, 1.2), nflex=rng.uniform(5, 20), _hold=rng.uniform(2.0, 4.0))
        elif rng.random() < 0.6:
            knee = rng.uniform(15, 35)
            pose.update(tpitch=rng.uniform(35, 55), sflex=15.0, nflex=-5.0, knee_r=knee, knee_l=knee,
                        hipf_r=0.5 * knee, hipf_l=0.5 * knee, ankle_r=0.5 * knee, ankle_l=0.5 * knee)
            pose.update(arm(other, w=(0.10, 0.25, -0.50), pole=(0.3, -1.0, 0.0)))
            pose['_hold'] = rng.uniform(0.8, 2.0)
        else:
            pose.update(nflex=30.0, _hold=rng.uniform(1.0, 2.0))
        return pose
    return schedule(rng, duration, sampler, trans=(0.6, 1.0)), 'path'


def act_walk_together(rng, duration):
    v = rng.uniform(0.75, 1.0)
    side = _pick(rng, ['r', 'l'])  # where the companion walks
    look = -30.0 if side == 'r' else 30.0

    def sampler(rng, i):
        pose = {'speed': v, f'swing_{side}': 0.4, 'talk': 0.0}
        if i % 2 == 1:
            pose.update(ntwist=look * rng.uniform(0.6, 1.2), stwist=0.2 * look, nod=rng.uniform(0, 0.6))
        return pose
    keys = schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 0.8))
    return keys, ('path', 0.2 if side == 'l' else -0.2)


ACTIONS = {
    'Directions': act_directions, 'Discussion': act_discussion, 'Eating': act_eating,
    'Greeting': act_greeting, 'Phoning': act_phoning, 'Photo': act_photo, 'Posing': act_posing,
    'Purchases': act_purchases, 'Sitting': act_sitting, 'SittingDown': act_sitting_down,
    'Smoking': act_smoking, 'Waiting': act_waiting, 'WalkDog': act_walk_dog, 'Walking': act_walking,
    'WalkTogether': act_walk_together,
}


def synthesize_sequence(rng, action, body, n_frames):
    """World positions (n_frames, 32, 3) float64 of one subject performing `action`."""
    keys, mode = ACTIONS[action](rng, n_frames / FPS)
    P = keyed_tracks(n_frames, keys)
    add_modulations(P, rng, n_frames)
    lateral = 0.0
    if isinstance(mode, tuple):
        mode, lateral = mode
    if mode == 'seated':
        xy = np.tile(random_stand_point(rng), (n_frames, 1))
        yaw = rng.uniform(-180, 180) + 0.2 * P['face']
        speed = np.zeros(n_frames)
        rate = np.zeros(n_frames)
    else:
        xy, yaw, speed, rate = locomotion(rng, P['speed'], P['face'], mode, lateral)
    add_gait(P, rng, body, speed, rate)
    return forward_kinematics(body, P, xy, yaw)
