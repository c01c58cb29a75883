"""bench_real_motion's comparison (no training here: the runs themselves are the product's command line)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_real_motion as bench  # noqa: E402


def _result(per_action):
    rows = {a: {'mpjpe': p1, 'p_mpjpe': p2} for a, (p1, p2) in per_action.items()}
    n = len(rows)
    return {'per_action': rows, 'action_wise_average': {'mpjpe': sum(r['mpjpe'] for r in rows.values()) / n,
                                                         'p_mpjpe': sum(r['p_mpjpe'] for r in rows.values()) / n}}


def test_summary_checks_both_parts_of_the_goal():
    synthetic = _result({'Walking': (40.0, 30.0), 'Sitting': (60.0, 40.0)})        # 50 mm
    assert bench.summary(synthetic, _result({'Kick': (70.0, 50.0)}))['goal_met'] is False  # 1.4 x but 70 mm > 68.55
    met = bench.summary(synthetic, _result({'Kick': (68.0, 50.0)}))
    assert met['goal_met'] is True and abs(met['ratio_p1'] - 68.0 / 50.0) < 1e-12
    assert bench.summary(synthetic, _result({'Kick': (76.0, 50.0)}))['goal_met'] is False  # > 1.5 x
    low = _result({'Walking': (20.0, 15.0)})
    assert bench.summary(low, _result({'Kick': (35.0, 20.0)}))['goal_met'] is False  # 1.75 x though < 68.55 mm
    assert 'real_p1' not in bench.summary(synthetic, None)


def test_table_puts_both_sets_side_by_side():
    text = bench.comparison_table(_result({'Walking': (40.0, 30.0), 'Sitting': (60.0, 40.0)}),
                                  _result({'Kick': (70.0, 50.0), 'Jumping': (80.0, 55.0), 'Squat': (90.0, 60.0)}))
    lines = text.splitlines()
    assert 'Walking' in lines[2] and 'Kick' in lines[2] and '40.0' in lines[2] and '70.0' in lines[2]
    assert 'Squat' in lines[4] and 'Walking' not in lines[4]
    assert lines[-1].count('action-wise avg') == 2 and '50.0' in lines[-1] and '80.0' in lines[-1]


def test_real_motion_follows_the_training_frame_rate():
    assert bench._flag_value(['-f', '9', '--downsample', '10'], '--downsample', 1) == 10
    assert bench._flag_value(['-f', '9'], '--downsample', 1) == 1


def test_joint_breakdown_names_the_worst_joints_and_the_trunk_angle():
    import numpy as np
    target = np.zeros((4, 17, 3))
    target[:, bench.THORAX] = (0.0, -0.5, 0.0)                   # trunk straight up (camera y points down)
    predicted = target.copy()
    predicted[:, bench.THORAX] = (0.5 * np.sin(np.radians(30)), -0.5 * np.cos(np.radians(30)), 0.0)  # tilted 30 deg
    predicted[:, bench.JOINT_NAMES.index('l_wrist')] += (0.0, 0.0, 0.2)                             # 200 mm off
    errors = bench.group_errors({'Kick': [(predicted[:2], target[:2]), (predicted[2:], target[2:])]})['Kick']
    assert errors['frames'] == 4
    assert abs(errors['trunk_degrees'] - 30.0) < 1e-6
    assert abs(errors['joints_mm'][bench.JOINT_NAMES.index('l_wrist')] - 200.0) < 1e-6
    from common.metrics import MM_PER_M
    thorax_mm = MM_PER_M * np.linalg.norm(predicted[0, bench.THORAX] - target[0, bench.THORAX])
    assert abs(errors['p1'] - (200.0 + thorax_mm) / 17) < 1e-6
    line = bench.joint_table({'Kick': errors}, worst=2).splitlines()[1]
    assert line.split()[0] == 'Kick' and 'thorax 259, l_wrist 200' in line and '30.0°' in line


def test_the_real_motion_evaluation_takes_the_last_epoch_when_training_kept_no_best(tmp_path):
    (tmp_path / 'last_epoch.bin').write_bytes(b'')
    assert bench.trained_checkpoint(tmp_path) == tmp_path / 'last_epoch.bin'   # --no-eval: no best epoch
    (tmp_path / 'best_epoch.bin').write_bytes(b'')
    assert bench.trained_checkpoint(tmp_path) == tmp_path / 'best_epoch.bin'
