"""BVH (Biovision Hierarchy) motion files from fitted 3D poses: hierarchy, inverse kinematics, root motion.

BVH world: Y up, metres (Blender: File > Import > Motion Capture (.bvh), scale 1). A camera-frame
point (x right, y down, z away from the camera) becomes (x, -y, -z): the camera looks along -Z, as
Blender's and most BVH viewers' front view does.

Hierarchy. Every bone (parent joint -> joint) of the layout gets one BVH joint that carries its
rotation; a layout joint with one child is that bone's BVH joint (the usual BVH arrangement), a
joint with several children (the pelvis, the thorax of Human3.6M-17) gets one zero-offset helper
joint per child (``<joint>_to_<child>``), so every bone's direction is set by its own rotation
and forward kinematics reproduces every joint exactly. Leaf joints end in an ``End Site`` (a
tenth of their bone's length further along it). The rest pose is a T-pose of the video's fitted
bone lengths (`bone_lengths` of the skeleton: legs down, spine up, arms sideways).

Rotations (inverse kinematics). Poses carry only joint positions, so each bone's rotation is the
shortest rotation taking its rest direction to its direction in the frame (no twist about the
bone, which positions cannot show); a joint's local rotation is its parent bone's rotation undone.
Channels: the root ``Xposition Yposition Zposition Zrotation Xrotation Yrotation`` (the pelvis's
camera-frame trajectory), every other joint ``Zrotation Xrotation Yrotation``, degrees; the
rotation matrix is Rz @ Rx @ Ry (a joint's offsets are rotated by Ry first). Frame time 1 / fps.
"""
import numpy as np

CAMERA_TO_BVH = np.diag([1.0, -1.0, -1.0])
END_SITE_FRACTION = 0.1


def rest_directions(layout):
    """(J, 3) unit rest direction of each joint's bone (from its parent), BVH frame: a T-pose by joint names."""
    directions = np.zeros((layout.num_joints, 3))
    for j, name in enumerate(layout.names):
        side = 1.0 if name.startswith('left') else -1.0
        if layout.parents[j] < 0:
            continue
        if any(part in name for part in ('knee', 'foot', 'ankle')):
            directions[j] = (0.0, -1.0, 0.0)
        elif name.endswith('_hip') or any(part in name for part in ('shoulder', 'elbow', 'wrist')):
            directions[j] = (side, 0.0, 0.0)
        else:
            directions[j] = (0.0, 1.0, 0.0)     # spine, thorax, neck, head
    return directions


def shortest_rotations(a, b):
    """(..., 3) unit vectors a, b -> (..., 3, 3) the rotations taking a to b about a x b (any axis at 180 deg)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.sum(a * b, axis=-1)
    opposite = (sin < 1e-9) & (cos < 0)
    if opposite.any():                  # any axis perpendicular to a
        helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        perpendicular = np.cross(a, helper)
        axis = np.where(opposite[..., None], perpendicular, axis)
        sin = np.where(opposite, np.linalg.norm(axis, axis=-1), sin)
    unit = np.divide(axis, sin[..., None], out=np.zeros_like(axis), where=sin[..., None] > 0)
    angle = np.arctan2(np.where(opposite, 0.0, sin), cos)
    k = np.zeros(unit.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -unit[..., 2], unit[..., 1], -unit[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def euler_zxy_degrees(rotations):
    """(..., 3, 3) rotation matrices R = Rz @ Rx @ Ry -> (..., 3) angles (z, x, y) in degrees."""
    r = np.asarray(rotations)
    x = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    y = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    z = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return np.degrees(np.stack([z, x, y], axis=-1))


def _hierarchy(layout):
    """BVH joints in file order: (name, layout joint it sits on, bone it rotates (child joint) or None,
    its BVH parent's index, the layout joint whose rest offset it has, or None for a zero offset)."""
    children = {j: [c for c, p in enumerate(layout.parents) if p == j] for j in range(layout.num_joints)}
    entries = []

    def add(joint, parent_entry, offset_joint):
        kids = children[joint]
        if len(kids) == 1:
            entries.append((layout.names[joint], joint, kids[0], parent_entry, offset_joint))
            add(kids[0], len(entries) - 1, kids[0])
            return
        leaf_bone = joint if not kids and layout.parents[joint] >= 0 else None    # an end site continues it
        entries.append((layout.names[joint], joint, leaf_bone, parent_entry, offset_joint))
        own = len(entries) - 1
        for kid in kids:
            entries.append((f'{layout.names[joint]}_to_{layout.names[kid]}', joint, kid, own, None))
            add(kid, len(entries) - 1, kid)

    add(layout.root, -1, None)
    return entries


def bvh_text(poses_camera, layout, lengths, fps):
    """The BVH file of camera-frame poses (N, J, 3) metres fitted to bone `lengths` (J,) at `fps` (see the module)."""
    poses = np.asarray(poses_camera, dtype=np.float64) @ CAMERA_TO_BVH.T                     # (N, J, 3) BVH frame
    rest = rest_directions(layout)
    parents = np.array(layout.parents)
    bones = poses - poses[:, np.where(parents < 0, np.arange(len(parents)), parents)]
    norms = np.linalg.norm(bones, axis=-1, keepdims=True)
    directions = np.divide(bones, norms, out=np.broadcast_to(rest, bones.shape).copy(), where=norms > 1e-9)
    bone_rotation = shortest_rotations(rest[None], directions)                                # (N, J, 3, 3)
    entries = _hierarchy(layout)
    world = []                                                                               # per entry (N, 3, 3)
    local = []
    for name, joint, bone, parent, _ in entries:
        rotation = bone_rotation[:, bone] if bone is not None else np.broadcast_to(np.eye(3), (len(poses), 3, 3))
        parent_world = world[parent] if parent >= 0 else np.eye(3)
        local.append(np.swapaxes(parent_world, -1, -2) @ rotation)
        world.append(rotation)

    lines = ['HIERARCHY'] + _block(entries, 0, rest, lengths, 0)
    angles = np.stack([euler_zxy_degrees(rotation) for rotation in local], axis=1)            # (N, E, 3)
    lines += ['MOTION', f'Frames: {len(poses)}', f'Frame Time: {1.0 / fps:.8f}']
    for t in range(len(poses)):
        values = np.concatenate([poses[t, layout.root], angles[t].reshape(-1)])
        lines.append(' '.join(f'{v:.6f}' for v in values))
    return '\n'.join(lines) + '\n'


def _block(entries, index, rest, lengths, depth):
    """The lines of BVH joint `index` and its descendants."""
    name, joint, _, parent, offset_joint = entries[index]
    pad = '  ' * depth
    offset = np.zeros(3) if offset_joint is None else rest[offset_joint] * lengths[offset_joint]
    if parent < 0:
        lines = [f'ROOT {name}', '{', f'  OFFSET {_numbers(offset)}',
                 '  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation']
    else:
        lines = [f'{pad}JOINT {name}', f'{pad}{{', f'{pad}  OFFSET {_numbers(offset)}',
                 f'{pad}  CHANNELS 3 Zrotation Xrotation Yrotation']
    children = [i for i, entry in enumerate(entries) if entry[3] == index]
    for child in children:
        lines += _block(entries, child, rest, lengths, depth + 1)
    if not children:                                    # a leaf: its bone continues a little
        tip = rest[joint] * lengths[joint] * END_SITE_FRACTION
        lines += [f'{pad}  End Site', f'{pad}  {{', f'{pad}    OFFSET {_numbers(tip)}', f'{pad}  }}']
    return lines + [f'{pad}}}']


def _numbers(values):
    return ' '.join(f'{v:.6f}' for v in values)
