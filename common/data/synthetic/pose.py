"""The pose parameters that drive the synthetic body, their defaults, and left/right mirroring.

A *pose* is a dict of some of these parameters (a missing one takes its default); per-frame
*tracks* of every parameter (`common.data.synthetic.timeline.keyed_tracks`) drive
`common.data.synthetic.body.forward_kinematics`. Angles are in degrees; the body frame is
x = the person's right, y = forward, z = up.

- ``speed`` commanded walking speed (m/s); ``face`` standing heading offset (deg); ``run`` in
  [0, 1] turns the walking gait into a run (faster cadence, longer strides, a flight phase).
- ``lift`` height (m) of the body's lowest point above the floor (a jump; 0 = touching it).
- ``bpitch``/``broll`` tilt of the whole body about the root: forward (90 = lying face down,
  -90 = on the back) / to the right side (90 = lying on the right side); the legs and arms keep
  their angles relative to the trunk, so a kneeling pose tilted by 90 is on all fours.
- ``tpitch`` forward bend at the hips (legs stay put), ``troll`` sideways pelvis tilt (+ = right).
- ``sflex``/``sside``/``stwist`` spine forward bend / right bend / left twist.
- ``nflex``/``nside``/``ntwist`` neck nod down / tilt right / turn left.
- per side ``_r``/``_l``: ``hipf`` flexion, ``hipa`` abduction (outward), ``hipr`` external
  rotation, ``knee`` flexion, ``ankle`` dorsiflexion.
- per side arm: ``armT`` wrist target from the shoulder in the chest frame and ``armW`` in the
  upright heading frame (the two are added), ``pole`` where the elbow points (chest frame);
  vectors are ``(out, forward, up)``, ``out`` pointing away from the body's midline so one pose
  serves both sides. Lengths are for an arm reach of `REFERENCE_ARM_REACH` and scale with the
  subject's arms.
- modulators in [0, 1]: ``swing`` (gait arm swing), ``wave``, ``shake`` (per side), ``talk``,
  ``nod`` (see `common.data.synthetic.gait` and `common.data.synthetic.modulations`).
"""
SIDES = (('r', 1.0), ('l', -1.0))  # side name, sign of its x coordinate in the body frame

# Shoulder -> wrist reach (metres) that the arm vectors of the poses are written for.
REFERENCE_ARM_REACH = 0.53
# Wrist target of a hanging arm, relative to the shoulder, (out, forward, up).
HANG_W = (0.05, 0.03, -0.50)
# Elbow pointing down and back: the relaxed arm.
POLE_DOWN_BACK = (0.3, -1.0, -0.3)

DEFAULTS = {
    'speed': 0.0, 'face': 0.0, 'run': 0.0, 'lift': 0.0, 'bpitch': 0.0, 'broll': 0.0,
    'tpitch': 0.0, 'troll': 0.0, 'sflex': 2.0, 'sside': 0.0, 'stwist': 0.0,
    'nflex': 0.0, 'nside': 0.0, 'ntwist': 0.0,
    'talk': 0.0, 'nod': 0.0,
}
for _side, _ in SIDES:
    DEFAULTS.update({
        f'hipf_{_side}': 0.0, f'hipa_{_side}': 3.0, f'hipr_{_side}': 6.0, f'knee_{_side}': 4.0,
        f'ankle_{_side}': 0.0, f'armT_{_side}': (0.0, 0.0, 0.0), f'armW_{_side}': HANG_W,
        f'pole_{_side}': POLE_DOWN_BACK, f'swing_{_side}': 1.0, f'wave_{_side}': 0.0, f'shake_{_side}': 0.0,
    })

# Parameters that change sign when left and right are swapped (sideways tilts, twists, heading).
SIGNED_SIDEWAYS = ('troll', 'sside', 'stwist', 'nside', 'ntwist', 'face', 'broll')


def other_side(side):
    """'l' for 'r' and 'r' for 'l'."""
    return 'l' if side == 'r' else 'r'


def mirror_pose(pose):
    """Swap left and right in a pose dict (arms' 'out' coordinates are already side-relative)."""
    out = {}
    for name, value in pose.items():
        if name.endswith('_r'):
            out[name[:-2] + '_l'] = value
        elif name.endswith('_l'):
            out[name[:-2] + '_r'] = value
        elif name in SIGNED_SIDEWAYS:
            out[name] = -value
        else:
            out[name] = value
    return out
