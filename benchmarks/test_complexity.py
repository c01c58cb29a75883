"""benchmarks/complexity.py: its MAC and parameter columns are the model's own counters, and the
"our evaluation" MACs are what `predict_sequence` really does (counted while it runs)."""
import math

import numpy as np

from benchmarks.complexity import evaluation_macs_as_run, main
from common.data.types import Symmetry
from common.evaluation import predict_sequence
from common.model.complexity import count_macs, count_parameters, macs_per_output_frame, stage_macs
from common.model.poseformer import PoseTransformer

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]


def test_table_columns_are_the_model_counters(tmp_path, capsys):
    out = tmp_path / 'complexity.md'
    assert main(['--length', '8', '--repeats', '1', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    text = out.read_text()
    assert text.strip() == printed.strip()
    rows = [line.strip('|').split('|') for line in text.splitlines() if line.startswith('| ') and line[2].isdigit()]
    assert [int(r[0]) for r in rows] == [9, 27, 81]
    for cells in rows:
        cells = [c.strip() for c in cells]
        model = PoseTransformer(num_frame=int(cells[0]))
        assert cells[1] == f'{count_parameters(model):,}'
        assert cells[2] == f'{macs_per_output_frame(model) / 1e6:,.1f} M'
        spatial, temporal = stage_macs(model)
        assert cells[3] == f'{(spatial + temporal) / 1e6:,.1f} M'
        assert float(cells[5].split()[0].replace(',', '')) > 0 and float(cells[6].split()[0].replace(',', '')) > 0
    assert 'dtype fp32' in text and 'median of 1 repeat' in text and 'Device: ' in text


def test_stage_split_and_as_run_count_match_predict_sequence():
    model = PoseTransformer(num_frame=9, embed_dim_ratio=8, depth=1, num_heads=2).eval()
    spatial, temporal = stage_macs(model)
    assert 9 * spatial + temporal == macs_per_output_frame(model)
    length, batch = 10, 4
    poses = np.random.default_rng(0).uniform(-1, 1, (length, 17, 2)).astype(np.float32)
    done = count_macs(lambda: predict_sequence(model, poses, Symmetry(LEFT, RIGHT, LEFT, RIGHT), tta=False,
                                            batch_size=batch))
    embedded = length + 8                                  # every padded frame once (2 * pad = 8)
    assert done == embedded * spatial + length * temporal
    assert math.isclose(evaluation_macs_as_run(spatial, temporal, 9, length, batch), done / length)
