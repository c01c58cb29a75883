"""Motion synthesis for the embedded synthetic dataset: one subject performing one action.

Believable (not realistic) human motion, made by layers; nothing is learned from or copied out of
motion-capture data:

1. `actions`: each action is a hand-written script of key poses that a seeded random generator
   picks from, times and varies (poses are dicts of the parameters in `pose`, built from the
   named postures of `postures`);
2. `timeline`: the key poses are eased into one another, giving one track per pose parameter;
3. `modulations`: waving, hand shakes, talking hands, nodding and idle sway are added;
4. `locomotion`: the root is steered over the floor (standing, strolling or walking back and
   forth) and `gait` adds the leg cycles and arm swing for its speed;
5. `body`: forward kinematics turns the tracks into the 32 joints of the Human3.6M mocap
   skeleton, for the subject's segment lengths, with the feet on the floor.

Everything draws from the one random generator given, in a fixed order, so a seed fixes the motion.
"""
import numpy as np

from common.data.synthetic.actions import ACTIONS
from common.data.synthetic.body import forward_kinematics
from common.data.synthetic.gait import add_gait
from common.data.synthetic.locomotion import locomotion, random_stand_point
from common.data.synthetic.modulations import add_modulations
from common.data.synthetic.timeline import FPS, keyed_tracks


def synthesize_sequence(rng, action, body, n_frames):
    """World positions (n_frames, 32, 3) float64, metres, z up, of one subject performing `action`.

    rng: a numpy Generator; action: a key of `ACTIONS`; body: segment lengths from
    `common.data.synthetic.body.make_body`; n_frames at `FPS` frames per second.
    """
    keys, mode = ACTIONS[action](rng, n_frames / FPS)
    P = keyed_tracks(n_frames, keys)
    add_modulations(P, rng, n_frames)
    mode, lateral = (mode, 0.0) if isinstance(mode, str) else mode
    if mode == 'seated':
        xy = np.tile(random_stand_point(rng), (n_frames, 1))
        yaw = rng.uniform(-180, 180) + 0.2 * P['face']
        speed = np.zeros(n_frames)
        rate = np.zeros(n_frames)
    else:
        xy, yaw, speed, rate = locomotion(rng, P['speed'], P['face'], mode, lateral)
    add_gait(P, rng, body, speed, rate)
    return forward_kinematics(body, P, xy, yaw)
