"""tools/reproduce.py: Human3.6M mode end to end on official-format fixtures, and the synthetic mode's
orchestration and labelling (with a stand-in for run_poseformer.main, so no training runs here)."""
import json
import re

import torch

from common.model.poseformer import PoseTransformer
from common.paper_results import find_paper_result
from common.paper_comparison import H36M_ACTIONS, SYNTHETIC_LABEL, compare, format_document, paper_entries
from tools.reproduce import main, parse_configuration
from tests.h36m_fixtures import write_h36m_fixture
from tests.checkpoint_fixtures import write_release_checkpoint


def table_rows(markdown):
    """{first cell: [cells]} of every markdown table row (the header and separator included)."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith('| '):
            cells = [c.strip() for c in line.strip('|').split('|')]
            rows[cells[0]] = cells
    return rows


def test_h36m_mode_compares_the_cli_results_with_the_paper(tmp_path, capsys):
    write_h36m_fixture(tmp_path, subjects=('S1', 'S9'))
    ckpt_dir = tmp_path / 'ckpt'
    ckpt_dir.mkdir()
    torch.manual_seed(0)
    # 81 frames: the configuration for which the paper gives per-action numbers. A release-layout file
    # has no stored config, so the number of heads is taken as 8 (the release value).
    model = PoseTransformer(num_frame=81, embed_dim_ratio=8, depth=1, num_heads=8, drop_path_rate=0.)
    write_release_checkpoint(ckpt_dir / 'cpn81.bin', model)
    out = tmp_path / 'repro'
    rc = main(['--data-dir', str(tmp_path), '-c', str(ckpt_dir), '--out', str(out),
               '--config', 'cpn_ft_h36m_dbb:81:cpn81.bin', '--config', 'gt:81:gt81f.bin',
               '--extra-args', '-ste S9 --eval-batch-size 32'])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert 'note: skipping gt:81:gt81f.bin: checkpoint gt81f.bin not found' in captured.out

    results = json.loads((out / 'results_cpn_ft_h36m_dbb_81f.json').read_text())
    assert set(results['per_action']) == {'Walking', 'Eating'}
    markdown = (out / 'reproduction.md').read_text()
    assert markdown in captured.out                     # printed as well
    assert 'NOT comparable' not in markdown
    rows = table_rows(markdown)
    header = rows['Action']
    assert header == ['Action', 'Frames', 'P1 paper', 'P1 ours', 'P1 ours − paper',
                      'P2 paper', 'P2 ours', 'P2 ours − paper']
    paper_p1 = find_paper_result('h36m', 'cpn_ft_h36m_dbb', 81, 'mpjpe')
    for action in H36M_ACTIONS:
        assert action in rows
    for action in ('Walking', 'Eating'):
        ours = results['per_action'][action]
        row = rows[action]
        assert row[1] == str(ours['frames'])
        assert row[2] == f"{paper_p1['per_action'][action]:.1f}"
        assert row[3] == f"{ours['mpjpe']:.1f}"
        assert row[4] == f"{ours['mpjpe'] - paper_p1['per_action'][action]:+.1f}"
        assert row[5] == '—' and row[7] == '—'        # the paper gives Protocol #2 as an average only
        assert row[6] == f"{ours['p_mpjpe']:.1f}"
    assert rows['Directions'][3] == '—'                 # not in the fixture
    average = next(cells for label, cells in rows.items() if label.startswith('**Average** (action-wise mean'))
    for metric, paper_col in (('mpjpe', 2), ('p_mpjpe', 5)):
        theirs = find_paper_result('h36m', 'cpn_ft_h36m_dbb', 81, metric)['value']
        ours = results['action_wise_average'][metric]
        assert average[paper_col:paper_col + 3] == [f'{theirs:.1f}', f'{ours:.1f}', f'{ours - theirs:+.1f}']
    weighted = rows['All test frames (frame-weighted average; not in the paper)']
    assert weighted[3] == f"{results['frame_weighted_average']['mpjpe']:.1f}" and weighted[2] == '—'
    assert 'covers 2 actions' in markdown

    report = json.loads((out / 'reproduction.json').read_text())
    assert report['mode'] == 'h36m' and report['comparable_to_paper'] is True
    assert report['skipped'][0]['config'] == 'gt:81:gt81f.bin'
    item, = report['configurations']
    assert item['results'] == results
    walking = next(r for r in item['table']['rows'] if r['action'] == 'Walking')
    assert walking['mpjpe']['difference'] == results['per_action']['Walking']['mpjpe'] - 31.8


def test_nothing_to_run_is_a_clear_error(tmp_path, capsys):
    write_h36m_fixture(tmp_path, subjects=('S9',), actions=('Walking',))
    rc = main(['--data-dir', str(tmp_path), '-c', str(tmp_path / 'none'), '--out', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith('error: no configuration can run') and 'detected81f.bin' in err
    assert 'Traceback' not in err
    assert main(['--config', 'gt:80:x.bin']) == 2
    assert 'positive odd number' in capsys.readouterr().err


def test_a_failing_evaluation_stops_with_its_reason(tmp_path, capsys):
    write_h36m_fixture(tmp_path, subjects=('S9',), actions=('Walking',))
    torch.manual_seed(0)
    write_release_checkpoint(tmp_path / 'm81.bin', PoseTransformer(num_frame=81, embed_dim_ratio=8, depth=1))
    rc = main(['--data-dir', str(tmp_path), '-c', str(tmp_path), '--out', str(tmp_path / 'o'),
               '--config', 'gt:27:m81.bin', '--extra-args', '-ste S9'])
    err = capsys.readouterr().err
    assert rc == 2 and 'Traceback' not in err
    assert 'trained with 81 frames' in err                       # run_poseformer's own message
    assert 'error: evaluating gt:27:m81.bin failed' in err
    assert not (tmp_path / 'o' / 'reproduction.md').exists()


def test_nine_frame_average_difference():
    results = {'per_action': {'Walking': {'mpjpe': 50.0, 'p_mpjpe': 40.0, 'frames': 10}},
               'action_wise_average': {'mpjpe': 52.5, 'p_mpjpe': 41.0},
               'frame_weighted_average': {'mpjpe': 51.0, 'p_mpjpe': 40.5}}
    table = compare(results, paper_entries('cpn_ft_h36m_dbb', 9))
    assert table['average']['mpjpe'] == {'paper': 49.9, 'ours': 52.5, 'difference': 52.5 - 49.9}
    assert table['average']['p_mpjpe'] == {'paper': None, 'ours': 41.0, 'difference': None}
    walking = next(r for r in table['rows'] if r['action'] == 'Walking')
    assert walking['mpjpe'] == {'paper': None, 'ours': 50.0, 'difference': None}
    assert parse_configuration('gt:81:dir:with:colons.bin').checkpoint == 'dir:with:colons.bin'


def test_synthetic_mode_trains_evaluates_and_labels_every_table(tmp_path, capsys):
    """No Human3.6M 3D file -> synthetic mode: train through run_poseformer.main, then --evaluate."""
    calls = []

    def fake_main(argv):
        calls.append(argv)
        if '--evaluate' not in argv:                    # training: write the checkpoint it would write
            ckpt = tmp_path / 'out' / 'synthetic_checkpoint'
            ckpt.mkdir(parents=True)
            (ckpt / 'epoch_2.bin').write_bytes(b'')
            return 0
        per_action = {a: {'mpjpe': 60.0 + i, 'p_mpjpe': 45.0, 'n_mpjpe': 58.0, 'mpjve': 3.0, 'frames': 100}
                      for i, a in enumerate(H36M_ACTIONS)}
        payload = {'per_action': per_action, 'action_wise_average': {'mpjpe': 67.0, 'p_mpjpe': 45.0},
                   'frame_weighted_average': {'mpjpe': 67.0, 'p_mpjpe': 45.0},
                   'config': {'dataset': 'synthetic', 'downsample': 10, 'subjects_test': 'S9,S11',
                              'test_time_augmentation': True}}
        with open(argv[argv.index('--results-json') + 1], 'w') as f:
            json.dump(payload, f)
        return 0

    rc = main(['--data-dir', str(tmp_path / 'data'), '--out', str(tmp_path / 'out')], run_main=fake_main)
    out = capsys.readouterr().out
    assert rc == 0
    assert 'No Human3.6M 3D file' in out
    train, evaluate = calls
    assert train[:2] == ['-d', 'synthetic'] and '--evaluate' not in train
    assert evaluate[:2] == ['-d', 'synthetic'] and evaluate[evaluate.index('--evaluate') + 1].endswith('epoch_2.bin')
    markdown = (tmp_path / 'out' / 'reproduction.md').read_text()
    headings = [line for line in markdown.splitlines() if line.startswith('#')]
    assert headings and all(SYNTHETIC_LABEL.lower() in h.lower() for h in headings)
    rows = table_rows(markdown)
    assert rows['Action'][2] == 'P1 paper (H36M, reference only)'
    assert rows['Walking'][2] == '—'                   # 9 frames: the paper gives the average only
    average = next(cells for label, cells in rows.items() if label.startswith('**Average**'))
    assert average[2:5] == ['49.9', '67.0', '+17.1']
    report = json.loads((tmp_path / 'out' / 'reproduction.json').read_text())
    assert report['mode'] == 'synthetic' and report['comparable_to_paper'] is False


def test_format_document_lists_skips():
    report = {'mode': 'h36m', 'generated_at': 'now', 'command': 'python tools/reproduce.py',
              'notes': ['Skipped `gt:81:gt81f.bin`: checkpoint gt81f.bin not found.'], 'configurations': []}
    assert '- Skipped `gt:81:gt81f.bin`' in format_document(report)
    assert re.search(r'action-wise means', format_document(report))
