"""--tensorboard: the per-epoch numbers and the final table reach the writer; without the package, one line.

The logging path runs through the CLI with a stand-in for SummaryWriter (the tensorboard package is
optional and not installed by requirements.txt); the real writer is exercised only where it imports.
"""
import re
import sys

import pytest

from common.experiment_log import TensorBoardLog, open_tensorboard_log
from run_poseformer import main

SMALL = ['-k', 'gt', '-f', '9', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-b', '64',
         '-lr', '0.002', '--threads', '1', '-str', 'S1', '-ste', 'S9', '-a', 'Walk']


class FakeWriter:
    """Records what a SummaryWriter would be asked to write."""
    instances = []

    def __init__(self, log_dir=None):
        self.log_dir = log_dir
        self.scalars, self.texts, self.closed = [], [], False
        FakeWriter.instances.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_text(self, tag, text, step):
        self.texts.append((tag, text, step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_without_tensorboard_the_run_stops_before_any_work_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, 'tensorboard', None)             # absent, whether installed or not
    monkeypatch.setitem(sys.modules, 'torch.utils.tensorboard', None)
    data_dir = tmp_path / 'no-data-here'                                 # loading data would fail otherwise
    assert main(['--data-dir', str(data_dir), '--tensorboard', str(tmp_path / 'tb'), '-c', str(tmp_path / 'c')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: --tensorboard') and 'pip install tensorboard' in err and err.count('\n') == 1, err
    assert not (tmp_path / 'tb').exists() and not (tmp_path / 'c').exists()


def test_epochs_and_the_final_table_are_logged(h36m_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr('common.experiment_log._summary_writer_class', lambda: FakeWriter)
    FakeWriter.instances.clear()
    data_dir, _ = h36m_dir
    assert main(['--data-dir', str(data_dir), '-c', str(tmp_path / 'c'), '-e', '2', '-lrd', '0.5',
                 '--tensorboard', str(tmp_path / 'tb')] + SMALL) == 0
    out = capsys.readouterr().out
    (writer,) = FakeWriter.instances
    assert writer.log_dir == str(tmp_path / 'tb') and writer.closed
    logged = {(tag, step): value for tag, value, step in writer.scalars}
    for epoch, lr, train, valid in re.findall(r'\[(\d)\] time \S+ lr (\S+) 3d_train (\S+) 3d_valid (\S+)', out):
        step = int(epoch)
        assert logged[('train/mpjpe_mm', step)] == pytest.approx(float(train), abs=1e-5)
        assert logged[('valid/mpjpe_mm', step)] == pytest.approx(float(valid), abs=1e-5)
        assert logged[('train/lr', step)] == pytest.approx(float(lr), abs=1e-6)
        assert logged[('train/samples_per_s', step)] > 0
    assert logged[('train/lr', 2)] == pytest.approx(logged[('train/lr', 1)] * 0.5)
    walking = float(re.search(r'----Walking----\n.*\nProtocol #1 Error \(MPJPE\): (\S+) mm', out).group(1))
    assert logged[('test/Walking/mpjpe', 2)] == pytest.approx(walking, abs=1e-4)
    average = float(re.search(r'Protocol #1   \(MPJPE\) action-wise average: (\S+) mm', out).group(1))
    assert logged[('test/action_wise/mpjpe', 2)] == pytest.approx(average, abs=1e-4)
    (tag, table, step), = writer.texts
    assert tag == 'test/per_action' and step == 2 and '| Walking |' in table and f'{walking:.4f} mm' in table


def test_the_real_writer_writes_event_files(tmp_path):
    pytest.importorskip('tensorboard')
    log = open_tensorboard_log(tmp_path / 'tb')
    assert isinstance(log, TensorBoardLog)
    log.log_epoch(1, {'train/mpjpe_mm': 50.0, 'train/lr': 1e-3, 'valid/mpjpe_mm': None})
    log.close()
    assert any(p.name.startswith('events.out.tfevents') for p in (tmp_path / 'tb').iterdir())
