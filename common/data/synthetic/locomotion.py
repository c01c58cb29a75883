"""Where the synthetic person goes: the capture area, and the root path integrated frame by frame.

Positions are world (x, y) in metres on the floor; headings (yaw) in degrees, 0 facing world +y,
positive turning left. People use the whole Human3.6M capture area, from about 3 m to 8 m from a
camera, as real recordings do (a tall person near its edge may leave a camera's image by a few
pixels for a moment).
"""
import math

import numpy as np

from common.data.synthetic.timeline import FPS

AREA_CENTER = np.array([0.15, 0.45])
STAND_RADII = np.array([0.60, 0.90])  # ellipse (x, y) about AREA_CENTER for standing / seated actions
# Walking paths end on an ellipse about WALK_CENTER: up to about 2.5 m from the centre towards two
# of the cameras (y > 0), so that people are seen from about 3 m to 8 m away.
WALK_CENTER, WALK_RADII = np.array([0.15, 0.7]), np.array([0.85, 1.9])
WALKING = 0.05  # a commanded speed (m/s) above this means "walk"
GOAL_REACHED = 0.3  # (m) back-and-forth walking turns round this close to an end ...
TURN_AHEAD = 0.6   # ... plus this many metres per m/s above walking pace (runners need room to turn)
SPOT_REACHED = 0.15  # (m) a stroll to a new standing spot stops this close to it
MAX_TURN_RATE, TURN_ACCELERATION = 180.0, 900.0  # deg/s, deg/s^2
CIRCLE_RADII = (0.6, 1.2)  # (m) of the 'circle' mode (jogging round)


def random_stand_point(rng):
    """A random (x, y) inside the standing area (uniform over the ellipse)."""
    r = math.sqrt(rng.uniform(0, 1))
    a = rng.uniform(0, 2 * np.pi)
    return AREA_CENTER + STAND_RADII * r * np.array([math.cos(a), math.sin(a)])


def heading_to(px, py, to):
    """Yaw (deg) to face point `to` from (px, py)."""
    return math.degrees(math.atan2(-(to[0] - px), to[1] - py))


def wrap_degrees(deg):
    """An angle brought into [-180, 180)."""
    return (deg + 180.0) % 360.0 - 180.0


def walking_path_ends(rng, lateral=0.0):
    """The two ends (x, y) of a straight walking path: a chord of the walking ellipse, off its centre
    by up to a third of its radius (plus `lateral`, in the same unit, across it); half of the paths go along the area's
    long axis (the longest walks), the others in any direction."""
    a = rng.normal(np.pi / 2, math.radians(20)) if rng.random() < 0.5 else rng.uniform(0, np.pi)
    along, across = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    middle = (rng.uniform(-0.33, 0.33) + lateral) * across * WALK_RADII
    # WALK_CENTER + middle + t * along on the ellipse: a t^2 + 2 b t + c = 0.
    qa = np.sum((along / WALK_RADII) ** 2)
    qb = np.sum(along * middle / WALK_RADII ** 2)
    qc = np.sum((middle / WALK_RADII) ** 2) - 1.0
    half = math.sqrt(max(qb * qb - qa * qc, 0.0))
    return [tuple(WALK_CENTER + middle + along * (-qb + sign * half) / qa) for sign in (-1.0, 1.0)]


class _BackAndForth:
    """Mode 'path': walk back and forth between the two ends of a straight path across the area
    (`walking_path_ends`, turning at them), moved sideways by `lateral` (a fraction of the walking
    ellipse's radius); start somewhere between the ends, facing one."""

    def __init__(self, rng, lateral, speed_cmd):
        self.ends = walking_path_ends(rng, lateral)
        u = rng.uniform(0.2, 0.8)
        self.goal = int(rng.integers(2))
        self.position = tuple(self.ends[1 - self.goal][k] * (1 - u) + self.ends[self.goal][k] * u
                              for k in range(2))
        self.heading = heading_to(*self.position, self.ends[self.goal])
        self.speed = speed_cmd[0]

    def target(self, i, px, py, h, cmd):
        """(heading to steer to, speed to aim for) at frame i."""
        ahead = GOAL_REACHED + TURN_AHEAD * max(0.0, cmd - 1.5)
        if math.hypot(self.ends[self.goal][0] - px, self.ends[self.goal][1] - py) < ahead:
            self.goal = 1 - self.goal
        return (heading_to(px, py, self.ends[self.goal]) if cmd > WALKING else h), cmd


class _StandAndStroll:
    """Mode 'stand': stay put, facing a random base heading plus the ``face`` offset; whenever the
    commanded speed rises above zero, walk towards a new random spot of the standing area."""

    def __init__(self, rng, face_deg):
        self.rng = rng
        self.face_deg = face_deg
        self.position = tuple(float(c) for c in random_stand_point(rng))
        self.base = rng.uniform(-180, 180)
        self.heading = self.base + face_deg[0]
        self.speed = 0.0
        self.moving = False
        self.goal = None

    def target(self, i, px, py, h, cmd):
        if cmd > WALKING and not self.moving:
            for _ in range(20):  # a new spot, not too close
                self.goal = random_stand_point(self.rng)
                if math.hypot(self.goal[0] - px, self.goal[1] - py) > 0.7:
                    break
        self.moving = cmd > WALKING
        if self.moving and math.hypot(self.goal[0] - px, self.goal[1] - py) > SPOT_REACHED:
            return heading_to(px, py, self.goal), cmd
        return self.base + self.face_deg[i], (0.0 if self.moving else cmd)


class _Circle:
    """Mode 'circle': go round a circle of random radius about the area's centre, in a random direction."""

    def __init__(self, rng, speed_cmd):
        self.radius = rng.uniform(*CIRCLE_RADII)
        self.direction = 1.0 if rng.random() < 0.5 else -1.0  # +1: counter-clockwise seen from above (turning left)
        a = rng.uniform(0, 2 * np.pi)
        self.position = tuple(AREA_CENTER + self.radius * np.array([math.cos(a), math.sin(a)]))
        self.heading = self._tangent(*self.position)
        self.speed = speed_cmd[0]

    def _tangent(self, px, py):
        a = math.atan2(py - AREA_CENTER[1], px - AREA_CENTER[0])
        r = math.hypot(px - AREA_CENTER[0], py - AREA_CENTER[1])
        # Along the circle, steered back onto it in proportion to the radial error.
        along = a + self.direction * (np.pi / 2 + max(-0.6, min(0.6, 2.0 * (r - self.radius))))
        return math.degrees(math.atan2(-math.cos(along), math.sin(along)))

    def target(self, i, px, py, h, cmd):
        return (self._tangent(px, py) if cmd > WALKING else h), cmd


def locomotion(rng, speed_cmd, face_deg, mode, lateral=0.0):
    """Integrate the root path: (root_xy (N, 2), yaw (N,) deg, speed (N,) m/s, yaw rate (N,) deg/s).

    speed_cmd (N,) commanded speed (m/s), face_deg (N,) standing heading offset; mode 'path',
    'circle' or 'stand' (see `_BackAndForth`, `_Circle` and `_StandAndStroll`). Heading changes with a limited, smoothed
    turning rate; walking slows down in sharp turns.
    """
    n = len(speed_cmd)
    dt = 1.0 / FPS
    out = np.zeros((n, 5))  # x, y, yaw, speed, yaw rate
    speed_cmd = [float(c) for c in speed_cmd]
    face_deg = [float(f) for f in face_deg]
    if mode == 'path':
        steering = _BackAndForth(rng, lateral, speed_cmd)
    elif mode == 'circle':
        steering = _Circle(rng, speed_cmd)
    else:
        steering = _StandAndStroll(rng, face_deg)
    (px, py), h, v = steering.position, steering.heading, steering.speed
    w = 0.0  # yaw rate, deg/s
    for i in range(n):
        target, cmd = steering.target(i, px, py, h, speed_cmd[i])
        err = wrap_degrees(target - h)
        desired = min(max(6.0 * err, -MAX_TURN_RATE), MAX_TURN_RATE)
        w += min(max(desired - w, -TURN_ACCELERATION * dt), TURN_ACCELERATION * dt)
        h += w * dt
        v += (cmd * max(0.5, math.cos(math.radians(min(abs(err), 90.0)))) - v) * min(1.0, dt / 0.25)
        px -= v * dt * math.sin(math.radians(h))
        py += v * dt * math.cos(math.radians(h))
        out[i] = px, py, h, v, w
    xy, yaw, speed, rate = out[:, :2], out[:, 2], out[:, 3], out[:, 4]
    return xy, yaw, speed, rate
