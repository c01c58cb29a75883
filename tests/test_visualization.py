"""Training curves, the per-action chart (function and tools/plot_results.py), skeleton colours."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.errors import UserError
from common.data.layouts import H36M_17
from common.paper_results import paper_result
from common.plots import (CENTER_COLOR, LEFT_COLOR, RIGHT_COLOR, average_note, bone_colors, load_results_json,
                          paper_reference, plot_per_action, plot_training_curves)
from tools.plot_results import main as plot_results_main

REPO = Path(__file__).resolve().parents[1]
ACTIONS = ['Directions', 'Eating', 'Walking']


def results_dict(keypoints='cpn_ft_h36m_dbb', frames=81, actions=ACTIONS):
    per_action = {a: {'mpjpe': 40.0 + i, 'p_mpjpe': 30.0 + i, 'n_mpjpe': 39.0, 'mpjve': 2.0, 'frames': 100}
                  for i, a in enumerate(actions)}
    return {'units': 'mm', 'per_action': per_action,
            'action_wise_average': {'mpjpe': 41.0, 'p_mpjpe': 31.0, 'n_mpjpe': 39.0, 'mpjve': 2.0},
            'config': {'dataset': 'h36m', 'keypoints': keypoints, 'model': {'num_frame': frames}}}


def test_training_curves_png_written_atomically(tmp_path):
    history = {'train': [0.2, 0.1, 0.06, 0.05], 'valid': [0.25, 0.12, 0.08, 0.07], 'train_eval': []}
    path = plot_training_curves(history, tmp_path / 'ckpt')
    assert path == tmp_path / 'ckpt' / 'loss_3d.png'
    with Image.open(path) as image:
        assert image.format == 'PNG' and image.size == (640, 400)
    assert [p.name for p in (tmp_path / 'ckpt').iterdir()] == ['loss_3d.png']   # no temp file left behind
    # --no-eval style history (no validation) and one epoch only still plot; nothing at all writes nothing.
    assert plot_training_curves({'train': [0.3], 'valid': [], 'train_eval': []}, tmp_path / 'one') is not None
    assert plot_training_curves({'train': [], 'valid': [], 'train_eval': []}, tmp_path / 'none') is None
    assert not (tmp_path / 'none').exists()


def test_per_action_chart_with_paper_numbers(tmp_path):
    results = results_dict()
    paper = paper_reference(results)
    assert paper['mpjpe']['value'] == 44.3 and 'Walking' in paper['mpjpe']['per_action']
    assert paper['p_mpjpe']['value'] == 34.6
    out = plot_per_action(results, tmp_path / 'chart.png', paper=paper)
    with Image.open(out) as image:
        assert image.format == 'PNG' and image.size[0] > image.size[1]
    assert paper_reference(results_dict(frames=243)) == {}      # the paper has no such row


def test_plot_results_command(tmp_path, capsys):
    path = tmp_path / 'r.json'
    path.write_text(json.dumps(results_dict(keypoints='gt')))
    assert plot_results_main([str(path)]) == 0
    assert (tmp_path / 'r_per_action.png').is_file()
    assert 'paper numbers shown: mpjpe' in capsys.readouterr().out      # the paper gives only P1 for gt, 81
    assert plot_results_main([str(path), '--no-paper', '-o', str(tmp_path / 'x.png')]) == 0
    assert (tmp_path / 'x.png').is_file()
    assert plot_results_main([str(path), '-o', str(tmp_path / 'x.jpg')]) == 2
    assert '--output ' in capsys.readouterr().err                   # the library's setting, shown as the flag
    assert plot_results_main([str(tmp_path / 'missing.json')]) == 2
    assert 'not found' in capsys.readouterr().err
    (tmp_path / 'bad.json').write_text('{"per_action": {}}')
    assert plot_results_main([str(tmp_path / 'bad.json')]) == 2
    assert 'per_action' in capsys.readouterr().err
    with pytest.raises(UserError, match='not a JSON'):
        (tmp_path / 'text.json').write_text('nope')
        load_results_json(tmp_path / 'text.json')


def test_plot_results_script_runs_from_the_repo_root(tmp_path):
    path = tmp_path / 'r.json'
    path.write_text(json.dumps(results_dict()))
    done = subprocess.run([sys.executable, 'tools/plot_results.py', str(path), '-o', str(tmp_path / 'c.png')],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / 'c.png').is_file()


def test_bone_colours_by_side():
    colors = bone_colors(H36M_17.parents, H36M_17.left, H36M_17.right)
    assert colors[0] is None
    assert all(colors[j] == RIGHT_COLOR for j in H36M_17.right)
    assert all(colors[j] == LEFT_COLOR for j in H36M_17.left)
    assert colors[7] == colors[10] == CENTER_COLOR
    assert len({RIGHT_COLOR, LEFT_COLOR, CENTER_COLOR}) == 3
    assert np.all(np.array(H36M_17.parents)[1:] >= 0)


def test_an_average_of_fewer_actions_than_the_papers_is_labelled_so(tmp_path, capsys):
    path = tmp_path / 'r.json'
    path.write_text(json.dumps(results_dict(keypoints='gt')))          # 3 actions; the paper averages 15
    assert plot_results_main([str(path)]) == 0
    note = [line for line in capsys.readouterr().out.splitlines() if line.startswith('note: ')]
    assert len(note) == 1 and 'mean of 3 actions' in note[0] and "the paper's of 15" in note[0]
    assert 'not comparable' in note[0]
    every_action = list(paper_result('h36m', 'cpn_ft_h36m_dbb', 81, 'mpjpe')['per_action'])
    full = results_dict(actions=every_action)
    assert average_note(full, paper_reference(full)) is None              # same 15 actions: nothing to say
    assert average_note(results_dict(), None) is None                     # no paper, nothing to compare
