"""bench_real_video's measures on made-up arrays (the clip itself is measured by running the benchmark)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_real_video as bench  # noqa: E402

from common.data.layouts import H36M_17  # noqa: E402


def test_skips_cleanly_without_the_reference(capsys):
    assert bench.main(['--reference', '/nonexistent/video-ref/pose2sim_cam01_3d.npz']) == 0
    assert capsys.readouterr().out.startswith('# skipped: no 3D reference at /nonexistent')


def test_rows_measure_what_they_say():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 0.3, (20, 17, 3))
    truth -= truth[:, :1]
    reference = {'poses_3d': truth.astype(np.float32)}
    cells, values = bench.pose_row('same', truth * 1.2 + 0.5, reference, H36M_17.parents, roots=(0.1,))
    assert values[0] < 1e-3 and values[1] < 1e-3                  # P-MPJPE (mm): scale and offset aligned away
    assert values[2] > 10                                          # MPJPE (mm): the 20 % larger body is not
    assert cells[4] == '0.10' and cells[5:4 + bench.ROOT_COLUMNS] == ['—'] * (bench.ROOT_COLUMNS - 1)
    assert len(cells) == 4 + bench.ROOT_COLUMNS + 3                # name, 3 pose errors, roots, bones, accel, jitter
    trajectory = rng.normal(0, 1, (20, 3)) + [0, 0, 4]
    assert abs(bench.one_scale(2 * trajectory, trajectory) - 0.5) < 1e-12
    assert abs(bench.root_error_m(trajectory + [0.3, 0.4, 0], {'root_camera': trajectory}) - 0.5) < 1e-9


def test_spearman_matches_its_definition_with_ties():
    a = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0])
    assert bench.average_ranks(a).tolist() == [1.5, 1.5, 3.0, 5.0, 5.0, 5.0]
    assert abs(bench.spearman(a, -a) + 1) < 1e-12
    assert abs(bench.spearman([1, 2, 3, 4], [10, 20, 40, 30]) - 0.8) < 1e-12     # 1 - 6 * 2 / (4 * 15)
    assert np.isnan(bench.spearman([1, 1, 1], [1, 2, 3]))


def test_keypoint_error_is_the_distance_to_the_projected_reference():
    reference = {'poses_3d': np.zeros((2, 17, 3), np.float32), 'root_camera': np.array([[0.5, 0.0, 2.0]] * 2, np.float32)}
    pixels = np.full((2, 17, 2), [100.0 + 1000 * 0.25 + 3, 50.0 + 4])       # projected at (350, 50); off by (3, 4)
    errors = bench.keypoint_error_px(pixels, reference, (1000.0, 1000.0), (100.0, 50.0))
    assert errors.shape == (2, 17) and np.allclose(errors, 5.0)
    line = bench.keypoint_summary(errors, np.ones((2, 17)))
    assert 'mean 5.0 px' in line and 'below 0.9: 0.0 % of the joints;' in line
