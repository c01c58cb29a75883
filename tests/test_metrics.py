"""common/metrics.py with hand-computed cases: the MPJPE family and MPI-INF-3DHP's PCK / AUC."""

import numpy as np
import pytest
import torch

from common.metrics import (AUC_THRESHOLDS_MM, auc_per_frame, mean_velocity_error, mpjpe, mpjpe_per_frame,
                            n_mpjpe_per_frame, p_mpjpe_per_frame, pck_per_frame, velocity_error_per_frame)


def random_poses(n=5, j=17, seed=0):
    return np.random.default_rng(seed).normal(size=(n, j, 3))


def rotation(axis, angle):
    axis = np.asarray(axis, dtype=np.float64)
    axis /= np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def test_mpjpe_of_translation_is_its_length():
    target = torch.randn(2, 3, 17, 3)
    pred = target + torch.tensor([0.3, -0.4, 1.2])  # length 1.3
    assert mpjpe(pred, target).item() == pytest.approx(1.3, abs=1e-5)
    np.testing.assert_allclose(mpjpe_per_frame(pred[0], target[0]), [1.3] * 3, atol=1e-5)


def test_mpjpe_hand_case():
    target = torch.zeros(1, 2, 3)
    pred = torch.tensor([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])  # distances 5 and 1
    assert mpjpe(pred, target).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="shape"):
        mpjpe(pred, torch.zeros(1, 3, 3))


def test_p_mpjpe_removes_similarity_transform():
    target = random_poses()
    r = rotation([1.0, 2.0, 0.5], 0.7)
    pred = 1.7 * target @ r + np.array([0.5, -1.0, 2.0])
    assert mpjpe_per_frame(pred, target).min() > 0.1
    np.testing.assert_allclose(p_mpjpe_per_frame(pred, target), 0.0, atol=1e-9)
    # also accepts torch tensors and arbitrary leading axes
    assert p_mpjpe_per_frame(torch.from_numpy(pred[None]), torch.from_numpy(target[None])).max() < 1e-9


def test_p_mpjpe_does_not_undo_a_reflection():
    target = random_poses()
    mirror = np.diag([-1.0, 1.0, 1.0])
    pred = target @ mirror
    errors = p_mpjpe_per_frame(pred, target)
    assert errors.min() > 0.05  # a proper rotation cannot map a generic pose onto its mirror image


def test_p_mpjpe_never_worse_than_mpjpe():
    target, pred = random_poses(seed=1), random_poses(seed=2)
    per_frame = p_mpjpe_per_frame(pred, target)
    assert per_frame.shape == (5,)
    assert np.all(per_frame <= mpjpe_per_frame(pred, target) + 1e-12)


def test_p_mpjpe_degenerate_prediction_is_finite():
    target = random_poses(n=2)
    pred = np.zeros_like(target)
    errors = p_mpjpe_per_frame(pred, target)
    centred = target - target.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(errors, np.linalg.norm(centred, axis=-1).mean(axis=1))


def test_n_mpjpe_of_scaled_copy_is_zero():
    target = torch.from_numpy(random_poses()).float()
    scales = torch.tensor([0.5, 2.0, 3.0, 1.0, 0.9])[:, None, None]
    pred = target * scales
    assert mpjpe(pred, target).item() > 0.1
    np.testing.assert_allclose(n_mpjpe_per_frame(pred, target), 0.0, atol=1e-6)


def test_velocity_error():
    target = random_poses(n=6)
    assert mean_velocity_error(target + np.array([1.0, 2.0, 3.0]), target) == pytest.approx(0.0)
    # pred moves 0.5 per frame along x while target is static: velocity error 0.5 everywhere
    pred = target[:1] + np.arange(6)[:, None, None] * np.array([0.5, 0.0, 0.0])
    static = np.repeat(target[:1], 6, axis=0)
    per_frame = velocity_error_per_frame(pred, static)
    assert per_frame.shape == (5,)
    np.testing.assert_allclose(per_frame, 0.5)
    assert mean_velocity_error(pred, static) == pytest.approx(0.5)


# ---------------------------------------------------------------- MPI-INF-3DHP: PCK and AUC (metres in, %)

def _with_errors_mm(errors_mm, n_joints=3):
    """Target at the origin, prediction displaced along x by the given per-(frame, joint) errors (mm)."""
    errors_mm = np.asarray(errors_mm, dtype=np.float64).reshape(-1, n_joints)
    target = np.zeros(errors_mm.shape + (3,))
    pred = target.copy()
    pred[..., 0] = errors_mm / 1000
    return pred, target


def test_pck_hand_made():
    # 2 frames x 3 joints: 100, 149.9, 150 (not strictly below), 150.1, 0, 300 mm
    pred, target = _with_errors_mm([[100, 149.9, 150.0], [150.1, 0, 300]])
    np.testing.assert_allclose(pck_per_frame(pred, target), [2 / 3 * 100, 1 / 3 * 100])
    np.testing.assert_allclose(pck_per_frame(pred, target, threshold_mm=200), [100, 2 / 3 * 100])
    # in 3D, not per axis: (90, 90, 90) mm is 155.9 mm away
    assert pck_per_frame(np.full((1, 1, 3), 0.090), np.zeros((1, 1, 3)))[0] == 0.0


def test_auc_limits_and_a_hand_computed_case():
    assert len(AUC_THRESHOLDS_MM) == 31 and AUC_THRESHOLDS_MM[0] == 0 and AUC_THRESHOLDS_MM[-1] == 150
    # strict "error < t" as the official evaluator: a perfect pose fails only the 0 mm threshold
    np.testing.assert_allclose(auc_per_frame(*_with_errors_mm(np.zeros((4, 3)))), 30 / 31 * 100)
    np.testing.assert_allclose(auc_per_frame(*_with_errors_mm(np.full((4, 3), 1e-6))), 30 / 31 * 100)
    np.testing.assert_allclose(auc_per_frame(*_with_errors_mm(np.full((4, 3), 200.0))), 0.0)
    n_above = sum(1 for t in range(0, 151, 5) if t > 72.5)  # 75, 80, ..., 150
    assert n_above == 16
    np.testing.assert_allclose(auc_per_frame(*_with_errors_mm(np.full((4, 3), 72.5))), n_above / 31 * 100)
