"""run_poseformer.py as the official program behaves, and its checks before any work.

Official facts used (zczcwh/PoseFormer, run_poseformer.py and common/arguments.py): `-drop` is parsed
but never passed to PoseTransformer (whose drop_rate stays 0); with --render the test subjects are
[--viz-subject]; the semi-supervised / convolution flags (-sun, --warmup, --dense,
--disable-optimizations, --linear-projection, --no-bone-length, --no-proj) are accepted and unused;
argparse abbreviations such as `--eval x.bin` and `--num 27` work there.
"""
import pytest
import torch

from cli.arguments import data_config, model_request, parse_args
from common.model.poseformer import PoseTransformer
from run_poseformer import main
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint


def test_drop_flag_has_no_effect_as_in_the_official_code():
    assert model_request(parse_args(['-drop', '0.5']), 17).drop_rate == 0.0
    assert model_request(parse_args(['--model-dropout', '0.25']), 17).drop_rate == 0.25


def test_rendering_looks_for_the_rendered_subject_among_the_test_subjects():
    argv = ['--evaluate', 'x.bin', '--render', '--viz-subject', 'S1', '--viz-action', 'Walking', '--viz-output',
            'a.gif', '-ste', 'S9']
    assert data_config(parse_args(argv)).subjects_test == ('S1',)


def test_official_flags_without_effect_are_accepted_with_a_note(h36m_dir, tmp_path, capsys):
    args = parse_args(['-sun', 'S2', '--warmup', '5', '--dense', '--disable-optimizations', '--linear-projection',
                       '--no-bone-length', '--no-proj'])
    assert args.stride == 1 and args.subjects_unlabeled == 'S2'          # not misread as -s un
    data_dir, _ = h36m_dir
    (tmp_path / 'ckpt').mkdir()
    torch.manual_seed(0)
    write_release_checkpoint(tmp_path / 'ckpt' / 'r.bin', PoseTransformer(**CONFIG))
    assert main(['--data-dir', str(data_dir), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate', 'r.bin',
                 '-ste', 'S9', '--num-heads', '4', '-sun', 'S2', '-drop', '0.3']) == 0
    out = capsys.readouterr().out
    assert 'note: -drop 0.3, -sun: accepted as by the official code' in out


def test_official_abbreviations_win_over_ours():
    args = parse_args(['--eval', 'x.bin', '--num', '27'])
    assert args.evaluate == 'x.bin' and args.number_of_frames == 27
    assert parse_args(['--eval-b', '64']).eval_batch_size == 64


@pytest.mark.parametrize('argv, message', [
    (['-lr', 'nan'], '-lr nan'),
    (['-lr', 'inf'], '-lr inf'),
    (['-lrd', '-1'], '-lrd -1'),
    (['-lrd', '0'], '-lrd 0'),
    (['--viz-size', '0'], '--viz-size 0'),
    (['--viz-size', '-3'], '--viz-size -3'),
    (['--viz-size', '200'], '--viz-size 200'),
    (['--viz-bitrate', '-5'], '--viz-bitrate -5'),
    (['-d', 'custom', '--evaluate', 'x.bin'], '--evaluate alone has nothing to score'),
])
def test_bad_values_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and 'Traceback' not in err and err.count('\n') == 1


def test_outputs_are_checked_before_any_work(tmp_path, capsys):
    missing_data = str(tmp_path / 'no-data-here')            # loading data would fail later with another message
    (tmp_path / 'a_file').write_text('x')
    for argv, message in (
            (['--results-json', str(tmp_path)], 'is a folder'),
            (['-c', str(tmp_path / 'a_file')], 'is a file, not a folder'),
            (['-c', str(tmp_path / 'a_file' / 'sub')], 'is a file, so the folder'),
            (['--evaluate', 'x.bin', '--render', '--viz-subject', 'S9', '--viz-action', 'Walking',
              '--viz-output', str(tmp_path / 'a_file' / 'v.gif')], 'is a file, so the folder'),
            # a name ending in / names a folder, existing or not (np.save would write the hidden file new/.npy)
            (['--evaluate', 'x.bin', '--viz-subject', 'S9', '--viz-action', 'Walking',
              '--viz-export', f'{tmp_path / "new"}/'], f'{tmp_path / "new"}/: names a folder (it ends in /); give a '
                                                       f'file name, e.g. {tmp_path / "new"}/poses.npy'),
            (['--evaluate', 'x.bin', '--viz-subject', 'S9', '--viz-action', 'Walking', '--viz-export', str(tmp_path)],
             f'{tmp_path}: is a folder; give a file name, e.g. {tmp_path / "poses.npy"}'),
            (['--results-json', f'{tmp_path / "new"}/'], 'names a folder (it ends in /)')):
        assert main(['--data-dir', missing_data] + argv) == 2
        err = capsys.readouterr().err
        assert message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a_file']        # nothing written, no folder made


def test_a_refused_training_leaves_no_checkpoint_folder_it_created(tmp_path, capsys):
    # issue 26: the folder was created (with its parents) before the data was found missing, and left empty
    existing = tmp_path / 'existing'
    existing.mkdir()
    for folder in (tmp_path / 'new' / 'sub', existing):
        assert main(['--data-dir', str(tmp_path / 'no-data-here'), '-c', str(folder), '-e', '1']) == 2
        assert 'not found' in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['existing'] and not any(existing.iterdir())


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(['--help'])
    out = capsys.readouterr().out
    assert '(default: 512)' in out and '(default: 0.99)' in out


def test_a_resumed_run_announces_the_epochs_and_rate_it_continues_with(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    small = ['--data-dir', str(data_dir), '-k', 'gt', '-f', '9', '--embed-dim-ratio', '8', '--depth', '1',
             '--num-heads', '2', '-b', '64', '-str', 'S1', '-ste', 'S9', '-c', str(tmp_path / 'c'),
             '--checkpoint-frequency', '1', '--no-eval', '-lr', '0.001', '-lrd', '0.5']
    assert main(small + ['-e', '1']) == 0
    capsys.readouterr()
    assert main(small + ['-e', '2', '-r', 'epoch_1.bin']) == 0
    out = capsys.readouterr().out
    assert 'Training epochs 2 to 2' in out and 'lr 0.0005' in out
    assert 'Each epoch line: [epoch] time <minutes>' in out


def test_training_keeps_the_last_model_and_an_earlier_runs_checkpoints(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    folder = tmp_path / 'c'
    small = ['--data-dir', str(data_dir), '-k', 'gt', '-f', '9', '--embed-dim-ratio', '8', '--depth', '1',
             '--num-heads', '2', '-b', '64', '-str', 'S1', '-ste', 'S9', '-c', str(folder)]
    assert main(small + ['--no-eval', '-e', '3']) == 0
    assert sorted(p.name for p in folder.iterdir()) == ['last_epoch.bin']          # was: an empty folder
    capsys.readouterr()
    assert main(small + ['--no-eval', '-e', '1']) == 2                             # a new run would clobber it
    assert '--overwrite' in capsys.readouterr().err
    assert main(small + ['--no-eval', '-e', '2', '-r', 'last_epoch.bin']) == 2     # already at epoch 3 of 2
    assert 'already at epoch 3 of 2' in capsys.readouterr().err
    assert main(small + ['--no-eval', '-e', '4', '-r', 'last_epoch.bin']) == 0     # resuming is allowed
    assert main(small + ['--no-eval', '-e', '1', '--overwrite']) == 0


def _release_checkpoint(folder, poison=False):
    folder.mkdir(exist_ok=True)
    torch.manual_seed(0)
    model = PoseTransformer(**CONFIG)
    if poison:
        with torch.no_grad():
            model.head[1].weight[0, 0] = float('nan')
    write_release_checkpoint(folder / 'r.bin', model)


def test_a_diverged_checkpoint_is_refused_not_evaluated(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    _release_checkpoint(tmp_path / 'ckpt', poison=True)
    assert main(['--data-dir', str(data_dir), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate', 'r.bin',
                 '-ste', 'S9', '--num-heads', '4']) == 2
    err = capsys.readouterr().err
    assert 'non-finite weights' in err and 'r.bin' in err and 'Traceback' not in err


def test_a_checkpoint_without_head_count_gets_a_note(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    _release_checkpoint(tmp_path / 'ckpt')
    assert main(['--data-dir', str(data_dir), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate', 'r.bin',
                 '-ste', 'S9', '--num-heads', '4']) == 0
    assert 'does not record its number of attention heads' in capsys.readouterr().out


def test_a_full_disk_at_the_end_is_one_line_and_keeps_the_previous_file(h36m_dir, tmp_path, capsys, monkeypatch):
    import errno
    import os
    data_dir, _ = h36m_dir
    _release_checkpoint(tmp_path / 'ckpt')
    results = tmp_path / 'r.json'
    results.write_text('{"previous": true}')
    real_replace = os.replace

    def full_disk(src, dst):
        if str(dst) == str(results):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst)
    monkeypatch.setattr(os, 'replace', full_disk)
    rc = main(['--data-dir', str(data_dir), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate', 'r.bin',
               '-ste', 'S9', '--num-heads', '4', '--results-json', str(results)])
    err = capsys.readouterr().err
    assert rc == 1 and err.count('\n') == 1 and 'No space left on device' in err and 'Traceback' not in err
    assert results.read_text() == '{"previous": true}'
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]


def test_reproduce_extra_args_with_an_unbalanced_quote_is_one_line(tmp_path, capsys):
    from tools.reproduce import main as reproduce
    assert reproduce(['--synthetic', '--data-dir', str(tmp_path), '--out', str(tmp_path / 'o'),
                      '--extra-args', '--device "cpu']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: --extra-args') and 'Traceback' not in err


def test_a_file_that_is_not_a_poseformer_checkpoint_is_named(h36m_dir, tmp_path, capsys):
    data_dir, _ = h36m_dir
    (tmp_path / 'ckpt').mkdir()
    torch.save({'model_pos': {'module.fc.weight': torch.zeros(2, 2)}}, tmp_path / 'ckpt' / 'other.bin')
    assert main(['--data-dir', str(data_dir), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate',
                 'other.bin', '-ste', 'S9']) == 2
    err = capsys.readouterr().err
    assert 'other.bin' in err and 'not a PoseFormer' in err and 'Traceback' not in err
