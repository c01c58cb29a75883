"""The 15 Human3.6M actions as scripts of random key poses.

``ACTIONS[name](rng, duration)`` returns ``(keys, mode)`` for a sequence of `duration` seconds:
``keys`` a key list (`common.data.synthetic.timeline`) of poses (`common.data.synthetic.pose`),
mostly drawn by a per-action *sampler* from a handful of typical postures, and ``mode`` how the
person moves over the floor (`common.data.synthetic.locomotion`): ``'stand'`` (in place, with
occasional steps to a new spot when a pose sets ``speed``), ``'seated'`` (not at all) or
``'path'`` (walking back and forth), or ``('path', lateral)`` for a path moved sideways by
``lateral`` metres.

The order of `ACTIONS` is part of the dataset: each action's random stream is seeded by its index.
"""
from common.data.synthetic.pose import mirror_pose, other_side
from common.data.synthetic.postures import (arm, arms_crossed, both, both_legs, hand_at_ear, hand_behind,
                                            hand_on_hip, hand_on_thigh, hand_to_mouth, hands_clasped, hang,
                                            knees_bent, point, seated, supporting_elbow, talking_hands,
                                            weight_shift)
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


ACTIONS = {
    'Directions': act_directions, 'Discussion': act_discussion, 'Eating': act_eating,
    'Greeting': act_greeting, 'Phoning': act_phoning, 'Photo': act_photo, 'Posing': act_posing,
    'Purchases': act_purchases, 'Sitting': act_sitting, 'SittingDown': act_sitting_down,
    'Smoking': act_smoking, 'Waiting': act_waiting, 'WalkDog': act_walk_dog, 'Walking': act_walking,
    'WalkTogether': act_walk_together,
}
