"""Which sequences and frames a run uses, applied the same way to every source.

The official semantics, kept: ``actions`` keeps the sequences whose action *starts with* one of the
given names; ``subset`` < 1 keeps, of every training sequence, one contiguous chunk of that
fraction whose position is fixed by the sequence length (SHA-256 based, so it is the same on every
run and machine); ``downsample`` keeps every n-th frame of training and test sequences.

Action names: a sequence's action is a *group* name, optionally followed by a space and a take
number (``'Walking'``, ``'Walking 1'``; the report groups by the part before the space). The
official code filters its training and validation sequences by prefix of the full name but its
final per-action evaluation by prefix of the group name, so a name with a space
(actions ``("Walking 1",)``) trains on that take and then evaluates nothing (it prints nan). Here one rule
serves both: a name selects every sequence whose full name starts with it, i.e. a group (and any
group it is a prefix of: ``Walk`` -> ``Walking``, ``WalkDog``, ``WalkTogether``, every take) or one
take by its exact name (``Walking 1``), in training and evaluation alike.
"""
import dataclasses
import hashlib
from dataclasses import dataclass

from common.errors import UserError


@dataclass(frozen=True)
class Selection:
    """Subjects of each split, action prefixes (None: all), training subset fraction, frame stride."""
    subjects_train: tuple
    subjects_test: tuple
    actions: tuple | None = None
    subset: float = 1.0
    downsample: int = 1

    def __post_init__(self):
        if not 0 < self.subset <= 1:
            raise UserError(f'{self.subset}: must be a fraction in (0, 1]', setting='subset')
        if self.downsample < 1 or self.downsample != int(self.downsample):
            raise UserError(f'{self.downsample}: must be a positive integer', setting='downsample')

    def training(self, sequences):
        """The training split of `sequences`: subjects, actions, subset chunk and stride applied."""
        return select(sequences, self.subjects_train, self.actions, self.subset, self.downsample, 'subjects_train')

    def testing(self, sequences):
        """The test split of `sequences`: subjects, actions and stride applied (whole sequences)."""
        return select(sequences, self.subjects_test, self.actions, 1.0, self.downsample, 'subjects_test')


def select(sequences, subjects, actions=None, subset=1.0, downsample=1, setting=None):
    """The `Sequence`s of `subjects` (in that order) whose action matches, cut by `subset` / `downsample`.

    Within a subject the sequences keep their order. Raises `UserError` when nothing is selected,
    naming `setting` (the subjects' setting) or ``'actions'``.
    """
    if not subjects:
        raise UserError('(empty): the subject list is empty; name at least one subject, separated by commas '
                        '(e.g. S1,S5)', setting=setting)
    chosen = [seq for subject in subjects for seq in sequences if seq.subject == subject]
    if not chosen:
        raise UserError(f'{",".join(subjects) or "(none)"}: no sequences for these subjects', setting=setting)
    matching = [seq for seq in chosen if action_matches(seq.action, actions)]
    if not matching:
        available = ', '.join(dict.fromkeys(seq.action for seq in chosen))
        raise UserError(f'{",".join(actions)}: no action of subjects {",".join(subjects)} starts with these '
                        f'(their actions: {available})', setting='actions')
    selected = [subsample(seq, subset, downsample) for seq in matching]
    if subset < 1 and not any(len(seq.poses_2d) for seq in selected):
        longest = max(len(seq.poses_2d) for seq in matching) // downsample
        smallest = f', at least {1 / longest:.2g},' if longest else ''
        raise UserError(f'{subset}: keeps no frame of any selected sequence (the longest has {longest} frames '
                        f'after downsampling); use a larger fraction{smallest} or 1 for whole sequences',
                        setting='subset')
    return selected


def action_matches(action, actions):
    """Whether `action` is selected by `actions` (None: all): it starts with one of the names.

    So a group name selects all its takes and an exact name one take (see the module docstring).
    """
    return actions is None or any(action.startswith(prefix) for prefix in actions)


def deterministic_random(min_value, max_value, text):
    """A pseudo-random int in [min_value, max_value) fixed by `text` (SHA-256 based, as the reference)."""
    raw = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], byteorder='little', signed=False)
    return int(raw / (2 ** 32 - 1) * (max_value - min_value)) + min_value


def subsample(sequence, subset=1.0, stride=1):
    """A new `Sequence` with the `subset` chunk of `sequence` (see the module docstring), every `stride`-th frame.

    Its 2D, 3D and ``valid`` arrays are cut alike.
    """
    length = len(sequence.poses_2d)
    if subset < 1:
        n_frames = int(round(length // stride * subset) * stride)
        start = deterministic_random(0, length - n_frames + 1, str(length))
        window = slice(start, start + n_frames, stride)
    else:
        window = slice(None, None, stride)
    cut = {name: (None if array is None else array[window])
           for name, array in (('poses_2d', sequence.poses_2d), ('poses_3d', sequence.poses_3d),
                               ('valid', sequence.valid))}
    return dataclasses.replace(sequence, **cut)


def require_subjects(wanted, available, setting, where):
    """Raise `UserError` (naming `setting`) when a subject of `wanted` is not in `available` (of `where`)."""
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise UserError(f'{",".join(unknown)}: not in {where} (it has: {", ".join(available)})', setting=setting)
