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
