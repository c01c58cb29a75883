import subprocess
import sys

import pytest

from cli.arguments import build_parser, data_config, parse_args
from common.errors import UserError
from run_poseformer import ROOT_DIR, main

OFFICIAL = ['-d', '-k', '-str', '-ste', '-a', '-c', '--checkpoint-frequency', '-r', '--evaluate', '--render',
            '--by-subject', '--export-training-curves', '-s', '-e', '-b', '-drop', '-lr', '-lrd', '-no-da', '-f',
            '-frame', '--number-of-frames', '--subset', '--downsample', '--no-eval', '--viz-subject', '--viz-action',
            '--viz-camera', '--viz-video', '--viz-skip', '--viz-output', '--viz-export', '--viz-bitrate',
            '--viz-no-ground-truth', '--viz-limit', '--viz-downsample', '--viz-size']


def test_help_lists_official_flags_and_no_semi_supervised_ones():
    text = subprocess.run([sys.executable, 'run_poseformer.py', '--help'], cwd=ROOT_DIR, capture_output=True,
                          text=True, check=True).stdout
    for flag in OFFICIAL + ['--data-dir', '--device']:
        assert f'{flag} ' in text or f'{flag},' in text or f'{flag}\n' in text, flag
    for dead in ('-sun', '--warmup', '--linear-projection', '--no-proj', '--dense'):
        assert dead not in text


def test_official_defaults_and_short_forms():
    args = parse_args([])
    assert (args.dataset, args.keypoints, args.subjects_train, args.subjects_test) == ('h36m', 'cpn_ft_h36m_dbb',
                                                                                      'S1,S5,S6,S7,S8', 'S9,S11')
    assert (args.epochs, args.batch_size, args.learning_rate, args.lr_decay) == (200, 512, 0.0001, 0.99)
    assert (args.checkpoint, args.checkpoint_frequency, args.stride) == ('checkpoint', 40, 1)
    assert args.data_augmentation and args.test_time_augmentation and args.device == 'auto'
    assert args.data_dir == 'data' and args.number_of_frames is None
    for flag in ('-f', '-frame', '--number-of-frames'):
        assert parse_args([flag, '27']).number_of_frames == 27
    assert data_config(parse_args(['-a', 'Walk,Eat'])).actions == ('Walk', 'Eat')
    assert data_config(parse_args(['-a', '*'])).actions is None
    assert not parse_args(['-no-da']).data_augmentation
    assert build_parser().prog == 'run_poseformer.py'


@pytest.mark.parametrize('argv, message', [
    (['-f', '28'], 'odd'),
    (['-f', '0'], 'odd'),
    (['-r', 'a.bin', '--evaluate', 'b.bin'], 'cannot be used together'),
    (['--export-training-curves', '--no-eval'], '--no-eval'),
    (['-s', '2'], 'chunk size'),
    (['--subset', '1.5'], '--subset'),
    (['-d', 'humaneva'], 'unknown dataset'),
    (['--render'], '--viz-subject'),
    (['--render', '--viz-subject', 'S9', '--viz-action', 'Eating'], '--viz-output'),
    (['--render', '--viz-subject', 'S9', '--viz-action', 'Eating', '--viz-output', 'a.avi'], '.gif or .mp4'),
    (['--viz-output', 'a.gif'], '--render'),
    (['--num-heads', '5'], '--num-heads'),
    (['--nonsense'], 'unrecognized'),
    (['-e', 'x'], 'invalid int'),
])
def test_invalid_flags_fail_with_a_clear_message(argv, message, capsys):
    with pytest.raises(UserError, match=message):
        parse_args(argv)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'Traceback' not in err


def test_device_cuda_without_cuda_is_a_clear_error(tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip('CUDA present')
    assert main(['--device', 'cuda', '--data-dir', str(tmp_path)]) == 2
    assert 'no CUDA device' in capsys.readouterr().err


def test_subject_lists_left_at_their_defaults_let_the_source_choose():
    default = data_config(parse_args([]))
    assert default.subjects_train is None and default.subjects_test is None
    chosen = data_config(parse_args(['-str', 'S1,S5', '-ste', 'S9']))
    assert chosen.subjects_train == ('S1', 'S5') and chosen.subjects_test == ('S9',)
    # the flags still show the official defaults (and --results-json records them)
    assert (parse_args([]).subjects_train, parse_args([]).subjects_test) == ('S1,S5,S6,S7,S8', 'S9,S11')


def test_library_errors_name_the_flag_that_sets_the_value(h36m_dir, capsys):
    data_dir, _ = h36m_dir
    assert main(['--data-dir', str(data_dir), '-k', 'nope', '-e', '1']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: -k/--keypoints nope: ') and 'Traceback' not in err
