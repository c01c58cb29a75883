"""Limits a run meets, each one `error:` line instead of a traceback: an empty 3D sequence (refused at
load), a seed outside numpy's range (refused before any data is read), and running out of memory
(what ran out, which settings to lower, the last checkpoint kept)."""
import os

import numpy as np
import pytest
import torch

from common.io.checkpoint import load_checkpoint, save_checkpoint
from common.io.npz import save_npz
from common.model.poseformer import PoseTransformer
from run_poseformer import main
from tests.cli_fixtures import H36M_SELECTION as H36M, SMALL_MODEL as SMALL, one_error_line as error_lines
from tests.h36m_fixtures import write_h36m_fixture


def test_an_empty_3d_sequence_is_refused_at_load_by_name(tmp_path, capsys):
    data = write_h36m_fixture(tmp_path)
    data['3d']['S9']['Eating'] = data['3d']['S9']['Eating'][:0]        # its 2D would be cut to 0 frames
    save_npz(tmp_path / 'data_3d_h36m.npz', positions_3d=data['3d'])
    rc = main(['--data-dir', str(tmp_path), '-c', str(tmp_path / 'ckpt'), '-e', '1', '--no-eval'] + H36M + SMALL)
    line = error_lines(capsys.readouterr().err)
    assert rc == 2
    assert 'data_3d_h36m.npz' in line and "S9 / 'Eating'" in line and '0 frames' in line
    assert not (tmp_path / 'ckpt' / 'last_epoch.bin').exists()        # refused before training


@pytest.mark.parametrize('seed', ['-5', '99999999999', str(2 ** 32)])
def test_a_seed_outside_numpys_range_is_refused_before_loading_data(tmp_path, seed, capsys):
    rc = main(['--data-dir', str(tmp_path / 'absent'), '--seed', seed])     # no data there: the seed is first
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith(f'error: --seed {seed}: ') and '0 to 4294967295' in line


def test_the_range_ends_are_accepted():
    from cli.arguments import parse_args
    assert parse_args(['--seed', '0']).seed == 0
    assert parse_args(['--seed', str(2 ** 32 - 1)]).seed == 2 ** 32 - 1


def failing_allocation(*args, **kwargs):
    """An allocation PyTorch's CPU allocator really refuses (2**60 bytes: malloc fails at once, nothing is used)."""
    return torch.empty(2 ** 60, dtype=torch.uint8)


def test_running_out_of_memory_in_training_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    write_h36m_fixture(tmp_path)
    ckpt = tmp_path / 'ckpt'
    import common.training as training
    written = []
    real_write = training._write_checkpoint

    def write_then_run_out(*args, **kwargs):
        real_write(*args, **kwargs)
        written.append(os.path.basename(args[0]))       # (path, model, ...)
        monkeypatch.setattr(PoseTransformer, 'forward_temporal', failing_allocation)   # epoch 2 runs out
    monkeypatch.setattr(training, '_write_checkpoint', write_then_run_out)
    rc = main(['--data-dir', str(tmp_path), '-c', str(ckpt), '-e', '3', '--no-eval'] + H36M + SMALL)
    line = error_lines(capsys.readouterr().err)
    assert rc == 1 and written == ['last_epoch.bin']
    assert line.startswith('error: out of CPU memory (an allocation of 1.0 EiB failed): ')
    for setting in ('-b', '--eval-batch-size', '-f'):
        assert f'{setting} (' in line
    assert f'the last checkpoint, {ckpt / "last_epoch.bin"}, is kept: resume from it with -r last_epoch.bin' in line
    assert load_checkpoint(ckpt / 'last_epoch.bin')['epoch'] == 1


def test_running_out_of_memory_before_the_first_checkpoint_says_so(tmp_path, monkeypatch, capsys):
    write_h36m_fixture(tmp_path)
    monkeypatch.setattr(PoseTransformer, 'forward_temporal', failing_allocation)
    rc = main(['--data-dir', str(tmp_path), '-c', str(tmp_path / 'ckpt'), '-e', '2', '--no-eval'] + H36M + SMALL)
    line = error_lines(capsys.readouterr().err)
    assert rc == 1 and line.startswith('error: out of CPU memory') and line.endswith('this run had written no '
                                                                                    'checkpoint yet')


def test_running_out_of_gpu_memory_in_evaluation_names_the_evaluation_batch(tmp_path, monkeypatch, capsys):
    write_h36m_fixture(tmp_path)
    torch.manual_seed(0)
    model = PoseTransformer(num_frame=9, embed_dim_ratio=8, depth=1, num_heads=2)
    save_checkpoint(tmp_path / 'model.bin', epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config)

    def cuda_out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity '
                                     'of 23.5 GiB of which 1.2 GiB is free.')
    monkeypatch.setattr(PoseTransformer, 'forward_spatial', cuda_out_of_memory)
    rc = main(['--data-dir', str(tmp_path), '-c', str(tmp_path), '--evaluate', 'model.bin'] + H36M)
    line = error_lines(capsys.readouterr().err)
    assert rc == 1 and line.startswith('error: out of GPU memory (an allocation of 20.00 GiB failed): ')
    assert line.endswith(': lower --eval-batch-size (evaluation windows per batch)')


def test_other_runtime_errors_are_not_called_out_of_memory(tmp_path, monkeypatch):
    write_h36m_fixture(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError('a bug, not memory')
    monkeypatch.setattr(PoseTransformer, 'forward_temporal', broken)
    with pytest.raises(RuntimeError, match='a bug, not memory'):
        main(['--data-dir', str(tmp_path), '-c', str(tmp_path / 'ckpt'), '-e', '1', '--no-eval'] + H36M + SMALL)


def test_numpys_memory_error_is_out_of_cpu_memory():
    from cli.entry import out_of_memory
    try:
        np.empty(2 ** 60, dtype=np.uint8)
    except MemoryError as exc:
        assert out_of_memory(exc) == 'CPU memory (an allocation of 1.00 EiB failed)'
    else:
        pytest.skip('this machine allocated 2**60 bytes')
