"""Scoring by a data source's protocol: which frames count, which root is zeroed, how results aggregate."""
import json
import re

import numpy as np
import pytest

from common.data.types import EvaluationProtocol, Sequence, Symmetry
from common.evaluation import EvalOptions, EvaluationResult, evaluate, sequence_errors
from common.report import format_report, write_results_json


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


def test_a_single_frame_sequence_has_no_mpjve():
    pred, target = _displaced([[0, 10, 20]])
    errors = sequence_errors(pred, target, metrics=('mpjpe', 'mpjve'))
    assert errors['mpjve'].tolist() == [] and errors['mpjpe'].tolist() == [10.0]


class _Echo:
    """A stand-in model: forward_spatial keeps the 2D, forward_temporal returns the centre frame lifted to z=0."""
    num_frame, num_joints, training, causal = 3, 3, False, False

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


def _echo_sequences(lengths):
    """Sequences that `_Echo` predicts with every non-root joint 10 mm too near, velocity error 0 but one 3 mm jump."""
    rng = np.random.default_rng(1)
    sequences = []
    for action, n in lengths:
        kps = rng.normal(size=(n, 3, 2)).astype(np.float32)
        kps[:, 0] = 0
        truth = np.concatenate([kps, np.zeros((n, 3, 1), np.float32)], axis=-1)
        truth[:, 1:, 2] += 0.010
        truth[n // 2:, 1:, 2] += 0.003                  # a 3 mm step half-way: nonzero velocity error
        sequences.append(Sequence('S9', action, 0, kps, truth, {}))
    return sequences


def test_mpjve_leaves_out_one_frame_sequences_and_is_n_a_without_any(tmp_path):
    sequences = _echo_sequences([('Eating', 1), ('Eating', 1), ('Walking 1', 1), ('Walking 2', 4)])
    result = evaluate(_Echo(), sequences, Symmetry([1], [2], [1], [2]), options=EvalOptions(tta=False))
    assert result.per_action['Eating']['mpjve'] is None                  # no sequence with a velocity
    assert result.per_action['Eating']['frames'] == 2 and result.per_action['Eating']['mpjpe'] > 0
    walking_4 = evaluate(_Echo(), sequences[3:], Symmetry([1], [2], [1], [2]), options=EvalOptions(tta=False))
    assert result.per_action['Walking']['mpjve'] == pytest.approx(walking_4.per_action['Walking']['mpjve'])
    assert result.per_action['Walking']['mpjve'] > 0 and result.per_action['Walking']['frames'] == 5
    assert result.action_wise['mpjve'] == pytest.approx(result.per_action['Walking']['mpjve'])
    assert result.frame_weighted['mpjve'] == pytest.approx(result.per_action['Walking']['mpjve'])
    report = format_report(result).splitlines()
    eating = report[report.index('----Eating----'):]
    assert eating[eating.index('----------') - 2] == 'Velocity Error (MPJVE): n/a'
    assert eating[eating.index('----------') - 1] == 'Acceleration Error (MPJAE): n/a'
    write_results_json(tmp_path / 'r.json', result)
    assert json.loads((tmp_path / 'r.json').read_text())['per_action']['Eating']['mpjve'] is None
    only_single = evaluate(_Echo(), sequences[:2], Symmetry([1], [2], [1], [2]), options=EvalOptions(tta=False))
    assert 'Velocity      (MPJVE) action-wise average: n/a' in format_report(only_single)


def test_mpjae_is_the_acceleration_error_in_mm_per_frame_squared_beside_the_velocity_error():
    """A prediction off by c * t^2 (metres, t in frames) has accelerations off by 2c: MPJAE 2000c mm/frame^2;
    sequences of fewer than 3 frames have no acceleration and are left out (not counted as 0)."""
    frames, c = 6, 0.001
    truth = np.zeros((frames, 3, 3), dtype=np.float32)
    pred = truth + (c * np.arange(frames) ** 2)[:, None, None] * np.array([1.0, 0.0, 0.0], dtype=np.float32)
    errors = sequence_errors(pred, truth, metrics=('mpjve', 'mpjae'))
    assert errors['mpjae'] == pytest.approx(np.full(frames, 2000 * c))
    assert errors['mpjve'].mean() == pytest.approx(1000 * c * (frames - 1))   # velocities off by c (2t + 1), t < 5
    assert sequence_errors(pred[:2], truth[:2], metrics=('mpjae',))['mpjae'].tolist() == []
    report = format_report(EvaluationResult([], {'Walking': {'mpjve': 1.0, 'mpjae': 0.5, 'frames': 6}},
                                            {'mpjve': 1.0, 'mpjae': 0.5}, {'mpjve': 1.0, 'mpjae': 0.5}))
    lines = report.splitlines()
    assert lines[lines.index('Velocity Error (MPJVE): 1.0000 mm') + 1] == \
        'Acceleration Error (MPJAE): 0.5000 mm'
    assert 'Acceleration  (MPJAE) action-wise average: 0.5000 mm' in report


def test_report_keeps_the_official_lines_with_digits_to_compare_at_a_hundredth_of_a_mm():
    # The official script prints per-action errors as print('Protocol #1 Error (MPJPE):', e1, 'mm'),
    # i.e. at full precision; a report that rounds to 0.1 mm cannot be compared at 0.01 mm.
    values = {'mpjpe': 47.01234567, 'p_mpjpe': 35.98765432, 'n_mpjpe': 45.55555555, 'mpjve': 1.23456789}
    result = EvaluationResult([], {'Walking': dict(values, frames=10)}, dict(values), dict(values))
    report = format_report(result)
    official = {'mpjpe': 'Protocol #1 Error (MPJPE)', 'p_mpjpe': 'Protocol #2 Error (P-MPJPE)',
                'n_mpjpe': 'Protocol #3 Error (N-MPJPE)', 'mpjve': 'Velocity Error (MPJVE)'}
    averages = {'mpjpe': 'Protocol #1   (MPJPE)', 'p_mpjpe': 'Protocol #2 (P-MPJPE)',
                'n_mpjpe': 'Protocol #3 (N-MPJPE)', 'mpjve': 'Velocity      (MPJVE)'}
    for metric, value in values.items():
        for pattern in (rf'^{re.escape(official[metric])}: (\S+) mm$',
                        rf'^{re.escape(averages[metric])} action-wise average: (\S+) mm$'):
            printed = re.search(pattern, report, re.MULTILINE)
            assert printed, (pattern, report)
            assert float(printed.group(1)) == pytest.approx(value, abs=0.001)
