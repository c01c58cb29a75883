"""Scoring by a data source's protocol: which frames count, which root is zeroed, how results aggregate."""
import numpy as np
import pytest

from common.data.types import EvaluationProtocol, Sequence, Symmetry
from common.evaluation import EvalOptions, evaluate, sequence_errors


def _displaced(errors_mm, joints=3):
    """(target, prediction): target at the origin with a trajectory in the root slot, prediction off by x mm."""
    errors_mm = np.asarray(errors_mm, dtype=np.float64).reshape(-1, joints)
    target = np.zeros(errors_mm.shape + (3,))
    target[:, 0] = [5.0, 1.0, 3.0]               # root slot: trajectory, never scored
    pred = np.zeros_like(target)
    pred[..., 0] = errors_mm / 1000
    return pred, target


def test_invalid_frames_are_not_scored():
    pred, target = _displaced([[0, 10, 20], [0, 40, 50], [0, 1e6, 1e6]])
    errors = sequence_errors(pred, target, metrics=('mpjpe', 'pck'), valid=np.array([True, True, False]))
    np.testing.assert_allclose(errors['mpjpe'], [10.0, 30.0])        # (0 + 10 + 20) / 3, (0 + 40 + 50) / 3
    np.testing.assert_allclose(errors['pck'], [100.0, 100.0])
    everything = sequence_errors(pred, target, metrics=('pck',))
    assert everything['pck'][-1] < 100.0


def test_the_predicted_root_is_scored_unless_the_protocol_centres_it():
    pred, target = _displaced([[0, 0, 0]])
    pred[:, 0] = [0.030, 0.0, 0.040]                                   # the model put the root 50 mm off
    human36m = sequence_errors(pred, target, metrics=('mpjpe',))
    mpi3dhp = sequence_errors(pred, target, metrics=('mpjpe',), zero_predicted_root=True)
    assert human36m['mpjpe'][0] == pytest.approx(50.0 / 3)
    assert mpi3dhp['mpjpe'][0] == pytest.approx(0.0)


def test_mpjve_of_a_single_frame_sequence_is_zero_not_nan():
    pred, target = _displaced([[0, 10, 20]])
    assert sequence_errors(pred, target, metrics=('mpjve',))['mpjve'].tolist() == [0.0]


class _Echo:
    """A stand-in model: forward_spatial keeps the 2D, forward_temporal returns the centre frame lifted to z=0."""
    num_frame, num_joints, training = 3, 3, False

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def forward_spatial(self, x):                       # (B, F, J, 2) -> (B, F, J*2)
        return x.reshape(x.shape[0], x.shape[1], -1)

    def forward_temporal(self, feats):                  # (B, F, J*2) -> (B, 1, J, 3)
        import torch
        centre = feats[:, 1].reshape(feats.shape[0], 1, 3, 2)
        return torch.cat([centre, torch.zeros_like(centre[..., :1])], dim=-1)


def test_evaluate_aggregates_actions_and_scores_only_valid_frames():
    rng = np.random.default_rng(0)
    symmetry = Symmetry([1], [2], [1], [2])
    sequences = []
    for action, n in (('Walking 1', 4), ('Walking 2', 2), ('Eating', 3)):
        kps = rng.normal(size=(n, 3, 2)).astype(np.float32)
        kps[:, 0] = 0                                    # the echoed root sits at the origin
        truth = np.concatenate([kps, np.zeros((n, 3, 1), np.float32)], axis=-1)
        truth[:, 1:, 2] += 0.010                         # every non-root joint 10 mm off in depth
        valid = (np.arange(n) > 0) if action == 'Eating' else None     # Eating's first frame is not scored
        sequences.append(Sequence('S9', action, 0, kps, truth, {}, valid))
    result = evaluate(_Echo(), sequences, symmetry, EvaluationProtocol(), EvalOptions(tta=False, metrics=('mpjpe',)))
    # the root slot of the truth is zeroed: 2 of 3 joints are 10 mm off -> 6.667 mm per frame
    assert list(result.per_action) == ['Walking', 'Eating']
    assert result.per_action['Walking']['frames'] == 6 and result.per_action['Eating']['frames'] == 2
    assert result.per_action['Walking']['mpjpe'] == pytest.approx(20 / 3, rel=1e-5)
    assert result.action_wise['mpjpe'] == pytest.approx(20 / 3, rel=1e-5)
