"""The 15 Human3.6M actions, and 8 more kinds of motion Human3.6M lacks, as scripts of random key poses.

``ACTIONS[name](rng, duration)`` returns ``(keys, mode)`` for a sequence of `duration` seconds:
``keys`` a key list (`common.data.synthetic.timeline`) of poses (`common.data.synthetic.pose`),
mostly drawn by a per-action *sampler* from a handful of typical postures, and ``mode`` how the
person moves over the floor (`common.data.synthetic.locomotion`): ``'stand'`` (in place, with
occasional steps to a new spot when a pose sets ``speed``), ``'seated'`` (not at all) or
``'path'`` (walking back and forth), or ``('path', lateral)`` for a path moved sideways by
``lateral`` (a fraction of the walking area's radius), or ``'circle'`` (going round in a circle).

The 15 Human3.6M actions come first; then the athletic and floor motions of real recordings that
Human3.6M lacks (`EXTRA_ACTIONS`): jumping (hops, jumps forward and with a turn, jumping jacks),
running (straight, jogging in circles), kicking, squatting and kneeling, lying down and getting
up, reaching high and low, throwing, and exercises (arm circles, elbow to knee, toe touches,
lunges), plus sneaking (a crouched walk). Most scripts pick each key pose from a table of kinds
with their probabilities, so the motion is data: postures (`postures`), timings and odds.

The order of `ACTIONS` is part of the dataset: each action's random stream is seeded by its index.
"""
from common.data.synthetic.pose import mirror_pose, other_side
from common.data.synthetic.postures import (arm, arms_crossed, both, both_legs, hand_at_ear, hand_behind,
                                            hand_on_hip, hand_on_thigh, hand_to_mouth, hands_clasped, hang,
                                            knees_bent, point, seated, supporting_elbow, talking_hands,
                                            weight_shift, crouch, airborne, arms_up, arms_back, arms_forward,
                                            running_arms, kneeling, on_all_fours, lying)
from common.data.synthetic.timeline import KeyList, schedule


def _pick(rng, options, p=None):
    """One of `options`, at random (with probabilities `p`)."""
    return options[int(rng.choice(len(options), p=p))]


def _handedness(rng, p_right):
    """(dominant side, other side): right-handed with probability `p_right`."""
    dom = 'r' if rng.random() < p_right else 'l'
    return dom, other_side(dom)


def _standing(rng, face_range=30.0):
    """Standing with the weight shifted at random, facing up to `face_range` degrees off the base heading."""
    pose = weight_shift(rng.uniform(-1, 1))
    pose['face'] = rng.uniform(-face_range, face_range)
    return pose


def _walk_few_steps(rng):
    """A few steps to another spot (in the 'stand' mode), held 1.5-2.5 s."""
    return {'speed': rng.uniform(0.6, 0.9), '_hold': rng.uniform(1.5, 2.5), '_trans': 0.5}


# The free hand's postures while the other hand is busy.
FREE_HAND = {'support': supporting_elbow, 'hang': hang, 'behind': hand_behind, 'hip': hand_on_hip}


def act_directions(rng, duration):
    """Standing, pointing the way, talking, now and then stepping to a new spot."""
    dom, other = _handedness(rng, 0.75)

    def sampler(rng, i):
        kind = _pick(rng, ['point', 'point_hip', 'talk', 'hang', 'steps'], p=[0.35, 0.15, 0.25, 0.1, 0.15])
        pose = _standing(rng, 70)
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
            pose.update(both(hang))
            pose['nflex'] = rng.uniform(-5, 15)
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.2), trans=(0.5, 0.9)), 'stand'


def act_discussion(rng, duration):
    """Standing and talking with the hands, arms crossed, on the hips or clasped, pointing."""
    def sampler(rng, i):
        kind = _pick(rng, ['talk', 'one_hand', 'crossed', 'hips', 'clasped', 'point'],
                     p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1])
        pose = _standing(rng, 40)
        pose['stwist'] = rng.uniform(-12, 12)
        if kind == 'talk':
            pose.update(talking_hands(rng))
        elif kind == 'one_hand':
            free = other_side(_pick(rng, ['r', 'l']))
            pose.update(talking_hands(rng))
            pose.update(hand_on_hip(free) if rng.random() < 0.5 else hang(free, swing=0.0))
        elif kind == 'crossed':
            pose.update(arms_crossed())
            pose['nod'] = 1.0
        elif kind == 'hips':
            pose.update(both(hand_on_hip))
        elif kind == 'clasped':
            pose.update(hands_clasped())
            pose['nod'] = rng.uniform(0, 1)
        else:
            pose.update(point(_pick(rng, ['r', 'l']), rng))
            pose['talk'] = 0.3
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 2.8), trans=(0.5, 1.0)), 'stand'


def act_eating(rng, duration):
    """Seated at a table: hands on the table, bites, a drink, leaning back."""
    dom, other = _handedness(rng, 0.8)
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
                pose.update(both(hand_on_thigh))
                pose['tpitch'] = -5.0
                pose['nflex'] = 0.0
        else:
            pose['_hold'] = rng.uniform(1.0, 3.0)
        return pose
    return schedule(rng, duration, sampler, trans=(0.5, 0.9)), 'seated'


def act_greeting(rng, duration):
    """Waving (every sequence), shaking hands, bowing, hugging, a few steps."""
    dom, other = _handedness(rng, 0.8)

    def sampler(rng, i):
        kind = _pick(rng, ['wave', 'shake', 'bow', 'hug', 'steps', 'rest'], p=[0.15, 0.25, 0.2, 0.1, 0.15, 0.15])
        if i % 3 == 1:
            kind = 'wave'  # every greeting sequence waves
        pose = _standing(rng, 50)
        if kind == 'wave':
            pose.update(arm(dom, t=(0.16, 0.10, 0.33), pole=(1.0, 0.0, -0.6), wave=1.0))
            pose.update(hang(other, swing=0.0))
            pose['_hold'] = rng.uniform(1.5, 3.0)
        elif kind == 'shake':
            pose.update(arm(dom, w=(0.0, 0.40, -0.22), pole=(0.4, -0.5, -1.0), shake=1.0))
            pose.update(hang(other, swing=0.0))
            pose['tpitch'] = 8.0
        elif kind == 'bow':
            pose.update(both(hang, swing=0.0))
            pose.update(tpitch=rng.uniform(15, 30), sflex=8.0, nflex=15.0, _hold=rng.uniform(0.6, 1.2))
        elif kind == 'hug':
            pose.update(both(arm, t=(0.10, 0.40, -0.05), pole=(1.0, 0.0, -0.4)))
        elif kind == 'steps':
            pose.update(_walk_few_steps(rng))
        else:
            pose.update(hands_clasped() if rng.random() < 0.5 else both(hang))
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.0), trans=(0.5, 0.9)), 'stand'


def act_phoning(rng, duration):
    """Phone at the ear or looking at its screen, the free hand busy otherwise, some steps."""
    dom, other = _handedness(rng, 0.7)
    tilt = 8.0 if dom == 'r' else -8.0

    def sampler(rng, i):
        kind = _pick(rng, ['call', 'call_walk', 'screen'], p=[0.55, 0.3, 0.15])
        pose = _standing(rng, 60)
        if kind == 'screen':
            pose.update(arm(dom, t=(-0.09, 0.30, -0.10), pole=(0.5, -0.3, -1.0)))
            pose['nflex'] = 30.0
        else:
            pose.update(hand_at_ear(dom))
            pose['nside'] = tilt
        free = _pick(rng, ['hang', 'hip', 'support', 'talk'])
        if free == 'talk':
            pose.update(arm(other, t=(-0.02, 0.26, -0.22), pole=(0.5, -0.4, -1.0)))
            pose['talk'] = 0.6
        else:
            pose.update(FREE_HAND[free](other))
        if kind == 'call_walk':
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 2.5), trans=(0.5, 1.0)), 'stand'


def act_photo(rng, duration):
    """Holding a camera to the eyes, standing or crouching, reviewing the pictures."""
    camera = both(arm, t=(-0.07, 0.25, 0.12), pole=(0.8, -0.2, -1.0))
    review = both(arm, t=(-0.08, 0.28, -0.16), pole=(0.6, -0.3, -1.0))

    def sampler(rng, i):
        kind = _pick(rng, ['shoot', 'crouch', 'review', 'steps'], p=[0.45, 0.2, 0.2, 0.15])
        pose = _standing(rng, 80)
        if kind == 'shoot':
            pose.update(camera)
            pose['nflex'] = rng.uniform(-5, 5)
        elif kind == 'crouch':
            pose.update(camera)
            bend = rng.uniform(30, 55)
            pose.update(hipf_r=bend, hipf_l=bend + rng.uniform(-10, 10), **both_legs(knee=1.5 * bend, ankle=0.5 * bend),
                        tpitch=0.35 * bend, nflex=-0.3 * bend)
        elif kind == 'review':
            pose.update(review)
            pose['nflex'] = 30.0
        else:
            pose.update(review)
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 1.0)), 'stand'


def act_posing(rng, duration):
    """Held poses: arms up in a V, T-pose, lunges, flexing... each possibly mirrored."""
    def sampler(rng, i):
        kind = _pick(rng, ['v', 't', 'hips_leg', 'flex', 'behind_head', 'one_up', 'lunge', 'lean'])
        pose = _standing(rng, 60)
        if kind == 'v':
            pose.update(both(arm, t=(0.22, 0.08, 0.46), pole=(1.0, 0.0, 0.0)))
        elif kind == 't':
            pose.update(both(arm, t=(0.52, 0.06, 0.02), pole=(0.0, -0.3, -1.0)))
        elif kind == 'hips_leg':
            pose.update(both(hand_on_hip))
            pose.update(hipf_r=15.0, hipa_r=14.0, hipr_r=25.0, knee_r=10.0, troll=3.0)
        elif kind == 'flex':
            pose.update(both(arm, t=(0.27, 0.02, 0.22), pole=(1.0, 0.0, -1.0)))
            pose.update(both_legs(hipa=9.0))
        elif kind == 'behind_head':
            pose.update(both(arm, t=(-0.10, -0.01, 0.28), pole=(1.0, 0.3, 0.4)))
        elif kind == 'one_up':
            pose.update(arm('r', t=(0.10, 0.12, 0.50), pole=(1.0, 0.0, 0.0)))
            pose.update(hand_on_hip('l'))
            pose['sside'] = -6.0
        elif kind == 'lunge':
            pose.update(hipf_r=45.0, knee_r=55.0, ankle_r=10.0, hipf_l=-15.0, knee_l=5.0, ankle_l=10.0,
                        tpitch=5.0)
            pose.update(both(hand_on_hip))
        else:
            pose.update(arms_crossed())
            pose.update(sside=8.0, troll=5.0, knee_l=15.0, hipf_l=8.0)
        if rng.random() < 0.5:
            pose = mirror_pose(pose)
        pose['_hold'] = rng.uniform(1.5, 3.0)
        return pose
    return schedule(rng, duration, sampler, trans=(0.7, 1.2)), 'stand'


def act_purchases(rng, duration):
    """Reaching to shelves and low down, inspecting an item, a basket in the other hand."""
    dom, other = _handedness(rng, 0.75)
    basket = arm(other, t=(0.0, 0.12, -0.38), pole=(0.5, -1.0, -0.3))

    def sampler(rng, i):
        kind = _pick(rng, ['shelf', 'low', 'inspect', 'steps'], p=[0.35, 0.25, 0.2, 0.2])
        pose = _standing(rng, 90)
        pose.update(basket if rng.random() < 0.6 else hang(other))
        if kind == 'shelf':
            pose.update(arm(dom, w=(0.08, 0.47, rng.uniform(-0.2, 0.3)), pole=(0.5, -0.3, -1.0)))
            pose['tpitch'] = rng.uniform(0, 10)
        elif kind == 'low':
            bend = rng.uniform(45, 70)
            knee = rng.uniform(10, 35)
            pose.update(tpitch=bend, sflex=15.0, nflex=-15.0, **knees_bent(knee))
            pose.update(arm(dom, w=(0.10, 0.30, -0.45), pole=(0.3, -1.0, 0.0)))
        elif kind == 'inspect':
            pose.update(arm(dom, t=(-0.08, 0.30, -0.12), pole=(0.6, -0.3, -1.0)))
            pose['nflex'] = 25.0
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(0.8, 2.0), trans=(0.6, 1.0)), 'stand'


def act_sitting(rng, duration):
    """Seated on a chair, changing posture: leaning back or forward, legs crossed, a phone."""
    def sampler(rng, i):
        kind = _pick(rng, ['thighs', 'lean_back', 'elbows', 'crossed_legs', 'phone', 'stretch', 'look'],
                     p=[0.2, 0.15, 0.15, 0.15, 0.15, 0.1, 0.1])
        pose = seated(rng)
        pose.update(both(hand_on_thigh))
        if kind == 'lean_back':
            pose.update(arms_crossed() if rng.random() < 0.5 else both(hand_on_thigh))
            pose.update(tpitch=-12.0, sflex=-4.0)
        elif kind == 'elbows':
            pose.update(both(arm, w=(-0.06, 0.33, -0.33), pole=(0.3, -0.6, -1.0)))
            pose.update(tpitch=28.0, sflex=10.0, nflex=-15.0)
        elif kind == 'crossed_legs':
            pose.update(hipf_r=100.0, hipa_r=-12.0, hipr_r=-5.0, knee_r=70.0, ankle_r=-25.0)
            if rng.random() < 0.5:
                pose = mirror_pose(pose)
        elif kind == 'phone':
            pose.update(both(arm, t=(-0.09, 0.30, -0.17), pole=(0.6, -0.3, -1.0)))
            pose['nflex'] = 30.0
        elif kind == 'stretch':
            pose.update(both(arm, t=(0.12, 0.05, 0.50), pole=(1.0, 0.0, 0.0)))
            pose.update(tpitch=-8.0, nflex=-15.0, _hold=rng.uniform(0.8, 1.5))
        else:
            pose['ntwist'] = rng.uniform(-60, 60)
            pose['stwist'] = 0.3 * pose['ntwist']
        return pose
    return schedule(rng, duration, sampler, hold=(1.2, 3.0), trans=(0.7, 1.2)), 'seated'


def _hand_to_floor(side):
    return arm(side, w=(0.10, 0.30, -0.55), pole=(0.3, -1.0, 0.0))


def act_sitting_down(rng, duration):
    """Stand, sit down (on a chair, or through a crouch onto the floor), lean forward, sit, get up."""
    stand = both(hang)

    def crouch(rng):
        pose = dict(both_legs(hipf=95.0, knee=125.0, ankle=30.0, hipa=10.0),
                    tpitch=rng.uniform(30, 45), sflex=15.0, nflex=-20.0)
        pose.update(_hand_to_floor('r'))
        pose.update(hang('l', swing=0.0) if rng.random() < 0.5 else _hand_to_floor('l'))
        return pose

    def floor_sit(rng):
        if rng.random() < 0.5:  # legs stretched out, leaning back on the hands
            pose = dict(both_legs(hipf=93.0, ankle=-10.0, hipa=10.0),
                        knee_r=rng.uniform(5, 15), knee_l=rng.uniform(5, 15), tpitch=-15.0, nflex=10.0)
            pose.update(both(arm, w=(0.10, -0.25, -0.44), pole=(0.2, 1.0, 0.0)))
        else:  # knees up, arms around them
            pose = dict(both_legs(hipf=135.0, knee=158.0, ankle=23.0, hipa=12.0), tpitch=10.0, sflex=15.0)
            pose.update(both(arm, w=(-0.05, 0.40, -0.30), pole=(0.8, 0.0, -1.0)))
        return pose

    def chair(rng):
        pose = seated(rng)
        pose.update(both(hand_on_thigh))
        return pose

    def lean_forward(pose, rng):
        pose = dict(pose)
        pose.update(tpitch=rng.uniform(30, 45), sflex=15.0, nflex=-15.0)
        pose.update(both(arm, w=(0.08, 0.55, -0.30), pole=(0.3, -0.5, -1.0)))
        return pose

    keys = KeyList()
    while keys.end < duration:
        keys.add(dict(stand, **weight_shift(rng.uniform(-0.5, 0.5))), 1.0, rng.uniform(0.8, 1.8))
        if rng.random() < 0.55:
            keys.add(crouch(rng), rng.uniform(0.9, 1.3), rng.uniform(0.2, 0.5))
            sit = floor_sit(rng)
        else:
            sit = chair(rng)
        keys.add(sit, rng.uniform(0.8, 1.2), rng.uniform(1.0, 2.5))
        keys.add(lean_forward(sit, rng), rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.2))
        keys.add(sit, rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.5))
        if sit.get('hipf_r', 0) > 90 or sit.get('knee_r', 90) < 60:  # from the floor: up through a crouch
            keys.add(crouch(rng), rng.uniform(0.9, 1.3), rng.uniform(0.2, 0.4))
    return keys.keys, 'stand'


def act_smoking(rng, duration):
    """Standing, bringing the cigarette to the mouth and back, the free hand still."""
    dom, other = _handedness(rng, 0.75)
    free = _pick(rng, ['support', 'hang', 'behind', 'hip'])

    def sampler(rng, i):
        pose = _standing(rng, 30)
        pose.update(FREE_HAND[free](other))
        if i % 2 == 1:  # a puff
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
    """Standing, looking around, arms crossed, behind the back or on the hips, a watch."""
    def sampler(rng, i):
        kind = _pick(rng, ['look', 'crossed', 'behind', 'hips', 'watch', 'steps'],
                     p=[0.25, 0.2, 0.15, 0.1, 0.15, 0.15])
        pose = _standing(rng, 60)
        pose['ntwist'] = rng.uniform(-60, 60)
        pose['stwist'] = 0.25 * pose['ntwist']
        if kind == 'look':
            pose.update(both(hang))
        elif kind == 'crossed':
            pose.update(arms_crossed())
        elif kind == 'behind':
            pose.update(both(hand_behind))
        elif kind == 'hips':
            pose.update(both(hand_on_hip))
        elif kind == 'watch':
            pose.update(arm('l', t=(-0.12, 0.27, -0.12), pole=(0.6, -0.3, -1.0)))
            pose.update(hang('r', swing=0.0))
            pose.update(nflex=35.0, ntwist=-10.0, stwist=0.0)
        else:
            pose.update(_walk_few_steps(rng))
        return pose
    return schedule(rng, duration, sampler, hold=(1.5, 3.0), trans=(0.7, 1.2)), 'stand'


def act_walking(rng, duration):
    """Walking back and forth at a steady pace."""
    v = rng.uniform(1.1, 1.35)
    return [(0.0, {'speed': v}), (duration + 1, {'speed': v})], 'path'


def act_walk_dog(rng, duration):
    """Walking on and off with a leash, bending down to the dog, looking at it."""
    dom, other = _handedness(rng, 0.7)
    leash = arm(dom, w=(0.10, 0.30, -0.38), pole=(0.3, -0.5, -1.0))

    def sampler(rng, i):
        pose = dict(leash)
        pose.update(hang(other))
        if i % 2 == 0:
            pose.update(speed=rng.uniform(0.8, 1.2), nflex=rng.uniform(5, 20), _hold=rng.uniform(2.0, 4.0))
        elif rng.random() < 0.6:  # bend down to the dog
            knee = rng.uniform(15, 35)
            pose.update(tpitch=rng.uniform(35, 55), sflex=15.0, nflex=-5.0, **knees_bent(knee))
            pose.update(arm(other, w=(0.10, 0.25, -0.50), pole=(0.3, -1.0, 0.0)))
            pose['_hold'] = rng.uniform(0.8, 2.0)
        else:
            pose.update(nflex=30.0, _hold=rng.uniform(1.0, 2.0))
        return pose
    return schedule(rng, duration, sampler, trans=(0.6, 1.0)), 'path'


def act_walk_together(rng, duration):
    """Walking beside a companion, turning to them now and then."""
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


def _steps(keys):
    """Key list from ``[(pose, transition s, hold s), ...]``."""
    out = KeyList()
    for pose, transition, hold in keys:
        out.add(pose, transition, hold)
    return out.keys


def _then(*poses):
    """Poses merged left to right (later entries win)."""
    out = {}
    for pose in poses:
        out.update(pose)
    return out


def act_jumping(rng, duration):
    """Jumps in place or forward, hops, jumping jacks, jumps with a half or full turn."""
    keys = KeyList()
    face = 0.0
    while keys.end < duration:
        kind = _pick(rng, ['jump', 'hops', 'jacks', 'turn', 'forward'], p=[0.25, 0.25, 0.15, 0.2, 0.15])
        stand = _then(both(hang, swing=0.0), {'face': face})
        keys.add(stand, rng.uniform(0.4, 0.7), rng.uniform(0.3, 1.0))
        if kind in ('jump', 'turn', 'forward'):
            deep = rng.uniform(0.35, 0.7)
            keys.add(_then(crouch(deep), arms_back(), {'face': face}), rng.uniform(0.35, 0.6), rng.uniform(0.05, 0.2))
            if kind == 'turn':
                face += _pick(rng, [-180.0, -90.0, 90.0, 180.0])
            up = _then(airborne(rng.uniform(0.10, 0.32)), arms_up(rng.uniform(0.1, 0.3)), {'face': face})
            if kind == 'forward':
                up.update(tpitch=15.0, sflex=10.0)
            keys.add(up, rng.uniform(0.15, 0.25), rng.uniform(0.02, 0.1))
            keys.add(_then(crouch(deep * rng.uniform(0.6, 1.0)), arms_forward(-0.2), {'face': face}),
                     rng.uniform(0.18, 0.3), rng.uniform(0.1, 0.4))
        elif kind == 'hops':
            for _ in range(int(rng.integers(2, 6))):
                keys.add(_then(crouch(rng.uniform(0.15, 0.3)), both(arm, w=(0.1, 0.1, -0.42)), {'face': face}),
                         0.15, rng.uniform(0.02, 0.06))
                keys.add(_then(airborne(rng.uniform(0.08, 0.2)), both(arm, w=(0.1, 0.1, -0.40)), {'face': face}),
                         0.15, rng.uniform(0.02, 0.06))
        else:  # jumping jacks
            for _ in range(int(rng.integers(2, 6))):
                keys.add(_then(airborne(0.08), arms_up(0.35), both_legs(hipa=22.0), {'face': face}), 0.2, 0.02)
                keys.add(_then(crouch(0.15), both(hang, swing=0.0), {'face': face}), 0.2, 0.05)
    return keys.keys, 'stand'


def act_running(rng, duration):
    """Running back and forth, or jogging in circles; now and then slowing to a walk."""
    v = rng.uniform(2.0, 3.5)
    circle = rng.random() < 0.5

    def sampler(rng, i):
        pose = {'speed': v if i % 3 != 2 else rng.uniform(1.0, 1.6), 'run': 1.0 if i % 3 != 2 else 0.3}
        pose.update(running_arms('r'))
        pose.update(running_arms('l'))
        pose['nflex'] = rng.uniform(-5, 15)
        return pose
    keys = schedule(rng, duration, sampler, hold=(1.5, 3.5), trans=(0.4, 0.8))
    return keys, ('circle' if circle else 'path')


def act_sneaking(rng, duration):
    """A slow crouched walk: knees bent, trunk low, arms forward for balance."""
    def sampler(rng, i):
        deep = rng.uniform(0.15, 0.45)
        pose = _then(crouch(deep), {'speed': rng.uniform(0.3, 0.7) if i % 3 else 0.0})
        pose.update(both(arm, w=(0.12, 0.25, -0.35), pole=(0.3, -1.0, -0.3), swing=0.5))
        pose['nflex'] = -15.0
        return pose
    return schedule(rng, duration, sampler, hold=(1.0, 2.5), trans=(0.5, 0.9)), 'path'


def act_kicking(rng, duration):
    """Front kicks (chamber and extend), soccer kicks (leg back, swing through), side kicks, steps."""
    keys = KeyList()
    while keys.end < duration:
        kick, stance = _handedness(rng, 0.6)
        face = rng.uniform(-60, 60)
        base = _then(_standing(rng, 0), both(hang, swing=0.0), {'face': face})
        keys.add(base, 0.5, rng.uniform(0.3, 1.0))
        kind = _pick(rng, ['front', 'soccer', 'side', 'steps'], p=[0.4, 0.3, 0.15, 0.15])
        balance = both(arm, t=(0.30, 0.15, -0.15), pole=(0.6, -0.3, -1.0))
        if kind == 'front':
            height = rng.uniform(50, 100)
            chamber = _then(base, balance, {f'hipf_{kick}': height, f'knee_{kick}': 100.0, 'tpitch': -5.0,
                                            f'knee_{stance}': 10.0})
            extend = _then(chamber, {f'knee_{kick}': rng.uniform(0, 20), f'ankle_{kick}': -20.0, 'tpitch': -12.0})
            keys.add(chamber, rng.uniform(0.2, 0.35), 0.05)
            keys.add(extend, rng.uniform(0.12, 0.2), rng.uniform(0.05, 0.2))
            keys.add(chamber, 0.2, 0.05)
        elif kind == 'soccer':
            back = _then(base, balance, {f'hipf_{kick}': -30.0, f'knee_{kick}': 90.0, f'knee_{stance}': 20.0,
                                         f'hipf_{stance}': 15.0, 'stwist': 15.0 if kick == 'r' else -15.0})
            through = _then(base, balance, {f'hipf_{kick}': rng.uniform(50, 85), f'knee_{kick}': 15.0,
                                            f'ankle_{kick}': -25.0, f'knee_{stance}': 15.0, 'tpitch': -10.0,
                                            'stwist': -20.0 if kick == 'r' else 20.0})
            keys.add(back, rng.uniform(0.3, 0.5), 0.05)
            keys.add(through, rng.uniform(0.15, 0.25), rng.uniform(0.05, 0.15))
        elif kind == 'side':
            side = _then(base, balance, {f'hipa_{kick}': rng.uniform(35, 60), f'hipf_{kick}': 20.0,
                                         f'knee_{kick}': 15.0, 'troll': 10.0 if kick == 'l' else -10.0,
                                         'sside': 15.0 if kick == 'l' else -15.0})
            keys.add(side, rng.uniform(0.25, 0.4), rng.uniform(0.1, 0.3))
        else:
            keys.add(_then(base, _walk_few_steps(rng)), 0.5, rng.uniform(1.0, 2.0))
    return keys.keys, 'stand'


def act_squatting(rng, duration):
    """Squats (arms forward, on the hips or behind the head), deep crouches, kneeling on one knee."""
    def sampler(rng, i):
        if i % 2 == 0:
            pose = _then(_standing(rng, 40), both(hang, swing=0.0))
            pose['_hold'] = rng.uniform(0.2, 1.0)
            return pose
        kind = _pick(rng, ['squat', 'deep', 'kneel'], p=[0.55, 0.25, 0.2])
        if kind == 'kneel':
            pose = kneeling(_pick(rng, ['r', 'l']), rng)
            pose.update(both(hand_on_thigh) if rng.random() < 0.5 else _hand_to_floor(_pick(rng, ['r', 'l'])))
        else:
            pose = crouch(rng.uniform(0.55, 0.85) if kind == 'squat' else rng.uniform(0.85, 1.05))
            arms = _pick(rng, ['forward', 'hips', 'head', 'knees'])
            pose.update({'forward': arms_forward(-0.05), 'hips': both(hand_on_hip),
                         'head': both(arm, t=(-0.10, -0.01, 0.28), pole=(1.0, 0.3, 0.4)),
                         'knees': both(arm, w=(0.15, 0.35, -0.40), pole=(0.5, -0.5, -0.6))}[arms])
        pose['face'] = rng.uniform(-40, 40)
        pose['_hold'] = rng.uniform(0.2, 1.5)
        return pose
    return schedule(rng, duration, sampler, trans=(0.5, 1.0)), 'stand'


def act_lying_down(rng, duration):
    """Down to the floor (kneel, all fours, lie on the back, front or side, roll over) and up again."""
    keys = KeyList()
    while keys.end < duration:
        keys.add(_then(_standing(rng, 60), both(hang, swing=0.0)), 0.8, rng.uniform(0.5, 1.2))
        side = _pick(rng, ['r', 'l'])
        keys.add(_then(kneeling(side, rng), _hand_to_floor(side)), rng.uniform(0.8, 1.3), rng.uniform(0.2, 0.5))
        keys.add(on_all_fours(rng), rng.uniform(0.7, 1.2), rng.uniform(0.3, 1.0))
        for _ in range(int(rng.integers(1, 4))):
            pose = lying(rng, _pick(rng, ['up', 'down', 'side'], p=[0.5, 0.3, 0.2]))
            if rng.random() < 0.5:
                pose = mirror_pose(pose)
            keys.add(pose, rng.uniform(0.8, 1.5), rng.uniform(0.8, 3.0))
        if rng.random() < 0.5:  # sitting up first
            keys.add(_then(both_legs(hipf=85.0, knee=15.0, ankle=-10.0, hipa=10.0), {'tpitch': -10.0},
                           both(arm, w=(0.10, -0.25, -0.44), pole=(0.2, 1.0, 0.0))), 1.0, rng.uniform(0.3, 1.0))
        keys.add(on_all_fours(rng), rng.uniform(0.8, 1.3), rng.uniform(0.2, 0.6))
        keys.add(_then(kneeling(side, rng), both(hand_on_thigh)), rng.uniform(0.7, 1.1), rng.uniform(0.2, 0.5))
    return keys.keys, 'stand'


def act_reaching(rng, duration):
    """Reaching high (on tiptoe), putting things on the floor (deep bend), sideways; wiping a window."""
    dom, other = _handedness(rng, 0.75)

    def sampler(rng, i):
        kind = _pick(rng, ['high', 'floor', 'side', 'wipe', 'rest'], p=[0.25, 0.25, 0.15, 0.15, 0.2])
        pose = _standing(rng, 90)
        pose.update(both(hang, swing=0.0))
        if kind == 'high':
            pose.update(arm(dom, t=(rng.uniform(0.0, 0.2), rng.uniform(0.0, 0.25), 0.50), pole=(1.0, 0.0, 0.0)))
            if rng.random() < 0.4:
                pose.update(arm(other, t=(0.1, 0.1, 0.48), pole=(1.0, 0.0, 0.0)))
            pose.update(both_legs(ankle=-rng.uniform(0, 30)), nflex=-25.0, sflex=-5.0)
        elif kind == 'floor':
            deep = rng.uniform(0.0, 0.9)
            pose.update(crouch(deep))
            pose.update(tpitch=rng.uniform(40, 85) * (1 - 0.5 * deep), sflex=20.0, nflex=-10.0)
            pose.update(arm(dom, w=(0.1, 0.35, -0.55), pole=(0.3, -1.0, 0.0)))
        elif kind == 'side':
            pose.update(arm(dom, t=(0.50, rng.uniform(0.0, 0.2), rng.uniform(-0.1, 0.3)), pole=(0.0, -0.3, -1.0)))
            pose.update(sside=15.0 if dom == 'r' else -15.0, troll=5.0 if dom == 'r' else -5.0)
        elif kind == 'wipe':
            pose.update(arm(dom, t=(0.05, 0.42, rng.uniform(-0.05, 0.3)), pole=(0.8, -0.2, -1.0), wave=1.5))
        pose['_hold'] = rng.uniform(0.4, 1.8)
        return pose
    return schedule(rng, duration, sampler, trans=(0.4, 0.9)), 'stand'


def act_throwing(rng, duration):
    """Overhand throws (wind up, release, follow through), two-handed basketball shots, a few steps."""
    keys = KeyList()
    while keys.end < duration:
        dom, other = _handedness(rng, 0.8)
        face = rng.uniform(-90, 90)
        base = _then(_standing(rng, 0), both(hang, swing=0.0), {'face': face})
        keys.add(base, 0.5, rng.uniform(0.3, 1.2))
        kind = _pick(rng, ['overhand', 'shot', 'steps'], p=[0.5, 0.35, 0.15])
        turn = 1.0 if dom == 'r' else -1.0
        if kind == 'overhand':
            wind = _then(base, arm(dom, t=(0.25, -0.30, 0.25), pole=(0.5, -0.5, -1.0)),
                         arm(other, t=(0.10, 0.45, 0.10), pole=(0.5, -0.3, -1.0)),
                         {'stwist': -25.0 * turn, 'tpitch': -5.0, f'knee_{dom}': 20.0, f'hipf_{other}': 20.0})
            release = _then(base, arm(dom, t=(0.05, 0.40, 0.30), pole=(1.0, 0.0, -0.3)),
                            arm(other, w=(0.15, -0.1, -0.4)), {'stwist': 20.0 * turn, 'tpitch': 15.0})
            follow = _then(release, arm(dom, w=(-0.05, 0.35, -0.40), pole=(0.5, -0.5, -0.5)), {'tpitch': 25.0})
            keys.add(wind, rng.uniform(0.4, 0.7), rng.uniform(0.1, 0.3))
            keys.add(release, rng.uniform(0.12, 0.2), 0.02)
            keys.add(follow, rng.uniform(0.2, 0.3), rng.uniform(0.2, 0.5))
        elif kind == 'shot':
            ready = _then(base, crouch(rng.uniform(0.2, 0.45)), both(arm, t=(-0.10, 0.25, -0.05), pole=(0.7, -0.2, -1.0)))
            shoot = _then(base, both(arm, t=(-0.02, 0.20, 0.45), pole=(0.7, 0.0, -0.3)), both_legs(ankle=-20.0),
                          {'lift': rng.uniform(0.0, 0.2)})
            keys.add(ready, rng.uniform(0.4, 0.7), rng.uniform(0.1, 0.4))
            keys.add(shoot, rng.uniform(0.2, 0.3), rng.uniform(0.05, 0.15))
        else:
            keys.add(_then(base, _walk_few_steps(rng)), 0.5, rng.uniform(1.0, 2.0))
    return keys.keys, 'stand'


def act_exercising(rng, duration):
    """Gym exercises: arm circles, elbow to the opposite knee, toe touches, lunges, side bends, signals."""
    keys = KeyList()
    while keys.end < duration:
        kind = _pick(rng, ['circles', 'elbow_knee', 'toes', 'lunge', 'side_bend', 'signals'])
        base = _then(_standing(rng, 60), both(hang, swing=0.0))
        keys.add(base, 0.6, rng.uniform(0.3, 0.8))
        reps = int(rng.integers(2, 5))
        if kind == 'circles':  # both arms circling (forward or backward), four keys per turn
            around = [(0.45, 0.0, 0.15), (0.15, 0.0, 0.48), (0.40, -0.25, 0.10), (0.15, 0.0, -0.48)]
            if rng.random() < 0.5:
                around = around[::-1]
            step = rng.uniform(0.12, 0.25)
            for _ in range(reps):
                for t in around:
                    keys.add(_then(base, both(arm, t=t, pole=(0.0, -1.0, 0.0))), step, 0.0)
        elif kind == 'elbow_knee':
            for r in range(reps):
                knee, elbow = ('r', 'l') if r % 2 == 0 else ('l', 'r')
                twist = 30.0 if elbow == 'l' else -30.0
                keys.add(_then(base, {f'hipf_{knee}': 95.0, f'knee_{knee}': 90.0, 'stwist': -twist, 'sflex': 25.0,
                                      'tpitch': 10.0},
                               arm(elbow, t=(-0.15, 0.15, 0.05), pole=(0.3, 0.4, -1.0)),
                               arm(knee, t=(0.25, -0.05, 0.15), pole=(1.0, 0.0, -0.3))), rng.uniform(0.4, 0.7), 0.05)
                keys.add(base, rng.uniform(0.4, 0.6), 0.05)
        elif kind == 'toes':
            for _ in range(reps):
                keys.add(_then(base, {'tpitch': rng.uniform(75, 100), 'sflex': 25.0, 'nflex': -15.0},
                               both(arm, w=(0.0, 0.25, -0.55), pole=(0.3, -1.0, 0.0))), rng.uniform(0.6, 1.0), 0.1)
                keys.add(_then(base, arms_up(0.2)), rng.uniform(0.6, 1.0), 0.1)
        elif kind == 'lunge':
            front, back = _handedness(rng, 0.5)
            keys.add(_then(base, both(hand_on_hip), {f'hipf_{front}': 80.0, f'knee_{front}': 90.0, f'ankle_{front}': 10.0,
                                                     f'hipf_{back}': -25.0, f'knee_{back}': 70.0, f'ankle_{back}': -30.0}),
                     rng.uniform(0.6, 1.0), rng.uniform(0.3, 1.0))
        elif kind == 'side_bend':
            for r in range(reps):
                s = 1.0 if r % 2 == 0 else -1.0
                up = 'l' if s > 0 else 'r'
                keys.add(_then(base, {'sside': 30.0 * s, 'troll': 5.0 * s}, arm(up, t=(0.0, 0.0, 0.5), pole=(1.0, 0.0, 0.0))),
                         rng.uniform(0.6, 1.0), 0.3)
        else:  # arm signals: each arm to a random direction, some over the head
            for _ in range(reps + 1):
                pose = dict(base)
                for side in ('r', 'l'):
                    d = (rng.uniform(-0.1, 0.55), rng.uniform(-0.1, 0.5), rng.uniform(-0.5, 0.5))
                    pose.update(arm(side, t=d, pole=(0.6, -0.3, -1.0)))
                keys.add(pose, rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.8))
    return keys.keys, 'stand'


ACTIONS = {
    'Directions': act_directions, 'Discussion': act_discussion, 'Eating': act_eating,
    'Greeting': act_greeting, 'Phoning': act_phoning, 'Photo': act_photo, 'Posing': act_posing,
    'Purchases': act_purchases, 'Sitting': act_sitting, 'SittingDown': act_sitting_down,
    'Smoking': act_smoking, 'Waiting': act_waiting, 'WalkDog': act_walk_dog, 'Walking': act_walking,
    'WalkTogether': act_walk_together,
    # Motions Human3.6M lacks (real recordings have them); appended so the 15 above keep their streams.
    'Jumping': act_jumping, 'Running': act_running, 'Kicking': act_kicking, 'Squatting': act_squatting,
    'LyingDown': act_lying_down, 'Reaching': act_reaching, 'Throwing': act_throwing, 'Exercising': act_exercising,
    'Sneaking': act_sneaking,
}
H36M_ACTION_COUNT = 15  # the first entries of ACTIONS are the Human3.6M actions
EXTRA_ACTIONS = tuple(ACTIONS)[H36M_ACTION_COUNT:]
