"""What the docs and the help say is what the program does (issue 22, items 7-10 and rough edges).

Each test runs the real program (`run_poseformer.main`, `tools/reproduce.main`) on the small
official-format fixtures, or the README's own text, so a doc and the code cannot drift apart.
"""
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from common.io.checkpoint import save_checkpoint
from common.io.rng import capture_rng_state
from common.model.complexity import macs_per_output_frame
from common.model.poseformer import PoseTransformer
from run_poseformer import main
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SMALL = ['-k', 'gt', '-f', '9', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-b', '64',
         '-lr', '0.002', '--threads', '1', '-e', '1', '--no-eval', '-a', 'Walk']


def _python_blocks(markdown_path):
    """The ```python code blocks of a markdown file, verbatim."""
    return re.findall(r'```python\n(.*?)```', Path(markdown_path).read_text(encoding='utf-8'), flags=re.S)


def _release_dir(folder):
    folder.mkdir(exist_ok=True)
    torch.manual_seed(0)
    write_release_checkpoint(folder / 'r.bin', PoseTransformer(**CONFIG))
    return folder


def _evaluate_argv(data_dir, ckpt_dir):
    return ['--data-dir', str(data_dir), '-k', 'gt', '-c', str(ckpt_dir), '--evaluate', 'r.bin', '--num-heads', '4',
            '-a', 'Walk', '--threads', '1']


# --- item 7: the checkpoint README's loading snippets -------------------------------------------------------

def test_checkpoint_readme_snippets_load_a_checkpoint_we_write(tmp_path, monkeypatch):
    """Every python snippet of checkpoint/README.md runs verbatim on a file written as training writes it."""
    blocks = _python_blocks(ROOT / 'checkpoint' / 'README.md')
    assert len(blocks) >= 2, 'checkpoint/README.md should show how to load our files'
    model = PoseTransformer(num_frame=9, embed_dim_ratio=8, depth=1, num_heads=2)
    sampler = np.random.RandomState(1234)
    (tmp_path / 'checkpoint' / 'synthetic').mkdir(parents=True)
    path = tmp_path / 'checkpoint' / 'synthetic' / 'best_epoch.bin'
    save_checkpoint(path, epoch=3, lr=1e-3, model=model, optimizer=torch.optim.AdamW(model.parameters()),
                    config=model.config, rng_state=capture_rng_state(sampler), random_state=sampler,
                    extra={'best_valid': 50.0})
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        namespace = {}
        exec(compile(block, 'checkpoint/README.md', 'exec'), namespace)      # noqa: S102 - our own README
        checkpoint = namespace['checkpoint']
        assert checkpoint['epoch'] == 3 and checkpoint['config']['num_heads'] == 2
        assert type(checkpoint['random_state']) is np.random.RandomState
        assert torch.equal(checkpoint['model_pos']['module.Spatial_patch_to_embedding.weight'],
                           model.state_dict()['Spatial_patch_to_embedding.weight'])
    # and what the README says plain torch.load does with these files
    readme = (ROOT / 'checkpoint' / 'README.md').read_text(encoding='utf-8')
    assert 'They load with plain' not in readme
    with pytest.raises(Exception, match='random'):
        torch.load(path, weights_only=True)


# --- item 8: --viz-export --------------------------------------------------------------------------------

def test_viz_export_shape_is_the_one_the_readme_states(h36m_dir, tmp_path):
    data_dir, _ = h36m_dir
    ckpt = _release_dir(tmp_path / 'ckpt')
    out = tmp_path / 'poses.npy'
    assert main(_evaluate_argv(data_dir, ckpt) + ['-ste', 'S9', '--viz-subject', 'S9', '--viz-action', 'Walking',
                                                 '--viz-export', str(out)]) == 0
    written = np.load(out)
    row = next(line for line in (ROOT / 'README.md').read_text(encoding='utf-8').splitlines()
               if line.startswith('| `--viz-export'))
    stated = re.search(r'`\((N(?:, \d+)+)\)`', row).group(1)
    assert stated == 'N, ' + ', '.join(str(d) for d in written.shape[1:]), (row, written.shape)
    assert written.dtype == np.float32


def test_viz_export_to_an_existing_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / 'exports'
    folder.mkdir()
    argv = ['--data-dir', str(tmp_path / 'no-data'), '--evaluate', 'x.bin', '--viz-subject', 'S9',
            '--viz-action', 'Walking', '--viz-export', str(folder)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: --viz-export') and 'folder' in err and err.count('\n') == 1, err
    assert not (tmp_path / 'exports.npy').exists() and not list(folder.iterdir())


# --- item 9: a SIGKILL during a checkpoint write ----------------------------------------------------------

def test_readme_says_what_a_kill_leaves_and_the_next_run_removes_it(h36m_dir, tmp_path, capsys):
    for doc in ('README.md', 'checkpoint/README.md'):
        text = ' '.join((ROOT / doc).read_text(encoding='utf-8').split())
        assert 'no half-written file' not in text, doc
        assert 'during a checkpoint write leaves the previous checkpoint intact and a hidden temporary' in text, doc
        assert 'the next training run in that folder deletes it' in text, doc
    data_dir, _ = h36m_dir
    folder = tmp_path / 'c'
    folder.mkdir()
    stale = folder / '.last_epoch.bin.a1b2c3d4.tmp'           # the atomic writer's name for a temporary
    stale.write_bytes(b'half a checkpoint')
    os.utime(stale, (time.time() - 60, time.time() - 60))
    assert main(['--data-dir', str(data_dir), '-str', 'S1', '-ste', 'S9', '-c', str(folder)] + SMALL) == 0
    assert sorted(p.name for p in folder.iterdir()) == ['last_epoch.bin']
    assert 'both a training and a test subject' not in capsys.readouterr().out      # S1 / S9: disjoint


# --- item 10: --amp --------------------------------------------------------------------------------------

def test_amp_help_readme_and_behaviour_agree_on_the_cpu(h36m_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    amp_help = help_text[help_text.index(' --amp '):][:400]      # the option list (usage says [--amp])
    assert 'on the CPU' in amp_help and 'temporal stage' in amp_help and 'changes the results' in amp_help
    row = next(line for line in (ROOT / 'README.md').read_text(encoding='utf-8').splitlines()
               if line.startswith('| `--amp`'))
    assert 'on the CPU' in row and 'temporal stage' in row

    data_dir, _ = h36m_dir
    train = ['--data-dir', str(data_dir), '-str', 'S1', '-ste', 'S9'] + SMALL
    losses = {}
    for amp in (False, True):
        assert main(train + ['-c', str(tmp_path / f'amp{amp}')] + (['--amp'] if amp else [])) == 0
        losses[amp] = re.search(r'\[1\] time \S+ lr \S+ 3d_train (\S+)', capsys.readouterr().out).group(1)
    assert losses[True] != losses[False]                  # CPU training results change with --amp
    ckpt = _release_dir(tmp_path / 'ckpt')
    reports = {}
    for amp in (False, True):
        assert main(_evaluate_argv(data_dir, ckpt) + ['-ste', 'S9'] + (['--amp'] if amp else [])) == 0
        reports[amp] = capsys.readouterr().out.split('Evaluating...')[1]
    assert reports[True] == reports[False]                # CPU evaluation stays fp32


# --- rough edges -----------------------------------------------------------------------------------------

def test_training_header_gmacs_and_a_test_subject_in_training(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    assert main(['--data-dir', str(data_dir), '-str', 'S1,S9', '-ste', 'S9', '-c', str(tmp_path / 'c')]
                + SMALL) == 0
    out = capsys.readouterr().out
    assert re.search(r'Training epochs 1 to 1 on cpu \(1 process,', out), out
    assert re.search(r'note: S9 is both a training and a test subject', out), out
    printed = float(re.search(r'([0-9.e-]+) GMACs per output frame', out).group(1))
    exact = macs_per_output_frame(PoseTransformer(num_frame=9, embed_dim_ratio=8, depth=1, num_heads=2)) / 1e9
    assert printed == pytest.approx(exact, rel=1e-3)


def test_by_subject_blocks_name_their_subject(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    ckpt = _release_dir(tmp_path / 'ckpt')
    assert main(_evaluate_argv(data_dir, ckpt) + ['-ste', 'S1,S9', '--by-subject']) == 0
    out = capsys.readouterr().out
    overall, s1 = out.split('==== Subject S1 ====')[0], out.split('==== Subject S1 ====')[1].split('==== Subject')[0]
    assert 'frame-weighted average (all test frames)' in overall
    assert 'all test frames' not in s1 and 'frame-weighted average (all S1 frames)' in s1


@pytest.mark.parametrize('phase', ['data', 'evaluate', 'train'])
def test_the_interrupt_message_says_what_is_true_in_each_phase(phase, h36m_dir, tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    data_dir, _ = h36m_dir
    if phase == 'data':
        monkeypatch.setattr('common.data.sources.load_bundle', interrupt)
        argv = ['--data-dir', str(data_dir), '-c', str(tmp_path / 'c')] + SMALL
    elif phase == 'evaluate':
        monkeypatch.setattr('common.evaluation.evaluate', interrupt)
        argv = _evaluate_argv(data_dir, _release_dir(tmp_path / 'ckpt')) + ['-ste', 'S9']
    else:
        monkeypatch.setattr('common.training.train', interrupt)
        argv = ['--data-dir', str(data_dir), '-str', 'S1', '-ste', 'S9', '-c', str(tmp_path / 'c')] + SMALL
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith('interrupted: ') and err.count('\n') == 1, err
    if phase == 'train':
        assert 'checkpoint' in err
    else:
        assert 'checkpoints written' not in err and 'no checkpoint' in err, err


def test_reproduce_synthetic_trains_into_the_given_checkpoint_folder(tmp_path, capsys):
    from tools.reproduce import main as reproduce_main
    calls = []
    folder = tmp_path / 'mine'

    def fake_main(argv):
        calls.append(argv)
        if '--evaluate' not in argv:                    # training: write the checkpoint it would write
            ckpt = Path(argv[argv.index('-c') + 1])
            ckpt.mkdir(parents=True, exist_ok=True)
            (ckpt / 'epoch_2.bin').write_bytes(b'')
            return 0
        with open(argv[argv.index('--results-json') + 1], 'w') as f:
            f.write('{"per_action": {}, "action_wise_average": {}, "frame_weighted_average": {}, "config": {}}')
        return 0

    assert reproduce_main(['--synthetic', '--data-dir', str(tmp_path / 'data'), '--out', str(tmp_path / 'out'),
                           '-c', str(folder)], run_main=fake_main) == 0
    train, evaluate = calls
    assert train[train.index('-c') + 1] == str(folder)
    assert evaluate[evaluate.index('-c') + 1] == str(folder)
    assert (folder / 'epoch_2.bin').exists() and not (tmp_path / 'out' / 'synthetic_checkpoint').exists()


def test_licence_and_notice_cover_the_shipped_assets():
    licence = (ROOT / 'LICENSE').read_text(encoding='utf-8')
    assert licence.startswith('MIT License') and 'Copyright (c)' in licence
    notice = (ROOT / 'NOTICE.md').read_text(encoding='utf-8')
    assets = [p for folder in ('common/resources', 'figure', 'tests/data') for p in sorted((ROOT / folder).iterdir())]
    assets += sorted((ROOT / 'models').glob('*.bin'))                  # shipped weights
    missing = [str(p.relative_to(ROOT)) for p in assets if str(p.relative_to(ROOT)) not in notice]
    assert not missing, f'NOTICE.md does not list {missing}'
    assert '## Licence' in (ROOT / 'README.md').read_text(encoding='utf-8')
