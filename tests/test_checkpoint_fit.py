"""A checkpoint meets data and flags it was not trained with: one `error:` line naming the setting
(exit 2) or a note, never a traceback and never a silent wrong result.

- joint count of the checkpoint vs the data (-d humaneva15 / humaneva20 / stream_demo);
- joint and keypoint layout stored in our checkpoints, refused when the data's differ; released
  files (no layout) get a note saying which layout is assumed;
- model flags given with --evaluate / -r: the checkpoint decides; a given value that differs is refused
  (the same rule for every model setting, -f included);
- a raw pickle is refused with our line only; tools/export.py notes a released file's head count.
"""
import pickle
import warnings

import pytest
import torch

from common.io.checkpoint import load_checkpoint, save_checkpoint
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer
from run_poseformer import main
from tests.cli_fixtures import H36M_SELECTION as H36M, SMALL_MODEL as SMALL, one_error_line as error_lines
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint
from tests.fixtures_3dhp import write_3dhp_fixture
from tests.h36m_fixtures import write_h36m_fixture
from tests.humaneva_fixtures import write_humaneva_fixture
from tools.export import main as export_main
from tools.stream_demo import main as demo_main


def small_model(num_joints=17, **settings):
    torch.manual_seed(0)
    return PoseTransformer(**ModelConfig(num_frame=9, num_joints=num_joints, embed_dim_ratio=8, depth=1, num_heads=2,
                                         **settings)).eval()


@pytest.fixture(scope='module')
def h36m_trained(tmp_path_factory):
    """(data folder with the Human3.6M fixture, checkpoint folder with epoch_1.bin trained on it by the CLI)."""
    folder = tmp_path_factory.mktemp('h36m')
    write_h36m_fixture(folder)
    ckpt = folder / 'ckpt'
    assert main(['--data-dir', str(folder), '-c', str(ckpt), '-e', '1', '--checkpoint-frequency', '1', '--no-eval']
                + H36M + SMALL) == 0
    return folder, ckpt


@pytest.fixture(scope='module')
def humaneva15_trained(tmp_path_factory):
    """(data folder with both HumanEva fixtures, checkpoint folder with epoch_1.bin trained on humaneva15)."""
    folder = tmp_path_factory.mktemp('humaneva')
    write_humaneva_fixture(folder, joints=15)
    write_humaneva_fixture(folder, joints=20)
    ckpt = folder / 'ckpt'
    assert main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(folder), '-c', str(ckpt), '-e', '1',
                 '--checkpoint-frequency', '1', '--no-eval'] + SMALL) == 0
    return folder, ckpt


@pytest.fixture(scope='module')
def custom_clip(tmp_path_factory):
    """A data folder with data_2d_custom_clip.npz (one 20-frame Human3.6M-order video 'walk')."""
    import numpy as np

    from common.data.keypoints_2d import keypoints_metadata
    from common.data.layouts import H36M_17
    from common.io.npz import save_npz
    folder = tmp_path_factory.mktemp('clip')
    pixels = np.random.default_rng(0).uniform(100, 900, size=(20, 17, 2)).astype(np.float32)
    save_npz(folder / 'data_2d_custom_clip.npz', positions_2d={'walk': {'custom': [pixels]}},
             metadata={**keypoints_metadata(H36M_17), 'video_metadata': {'walk': {'w': 1000, 'h': 1000}}})
    return folder


# ---------------------------------------------------------------------------------------------
# 1. joint count of the checkpoint vs the data

def test_h36m_release_checkpoint_on_humaneva15_is_one_error_line(tmp_path, capsys):
    write_humaneva_fixture(tmp_path, joints=15)
    torch.manual_seed(0)
    (tmp_path / 'ckpt').mkdir()
    write_release_checkpoint(tmp_path / 'ckpt' / 'best_epoch.bin', PoseTransformer(**CONFIG))
    rc = main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(tmp_path), '-c', str(tmp_path / 'ckpt'),
               '--evaluate', 'best_epoch.bin', '--num-heads', '4'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2
    assert line.startswith('error: -d/--dataset humaneva15') and 'best_epoch.bin' in line
    assert '17 joints' in line and '15' in line


def test_humaneva15_checkpoint_on_humaneva20_is_one_error_line(humaneva15_trained, capsys):
    folder, ckpt = humaneva15_trained
    capsys.readouterr()
    rc = main(['-d', 'humaneva20', '-k', 'gt', '--data-dir', str(folder), '-c', str(ckpt), '--evaluate', 'epoch_1.bin'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset humaneva20') and '15 joints' in line and '20' in line


def test_stream_demo_with_a_humaneva15_checkpoint_is_one_error_line(humaneva15_trained, custom_clip, capsys):
    _, ckpt = humaneva15_trained
    capsys.readouterr()
    rc = demo_main(['-c', str(ckpt / 'epoch_1.bin'), '-d', 'custom', '-k', 'clip', '--data-dir', str(custom_clip),
                    '--fast'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset custom') and '15 joints' in line and '17' in line


# ---------------------------------------------------------------------------------------------
# 5. joint and keypoint layouts

def test_our_checkpoints_store_their_layouts(h36m_trained, humaneva15_trained):
    assert load_checkpoint(h36m_trained[1] / 'epoch_1.bin')['layouts'] == {'joints': 'h36m', 'keypoints': 'h36m'}
    assert load_checkpoint(humaneva15_trained[1] / 'last_epoch.bin')['layouts'] == {
        'joints': 'humaneva15', 'keypoints': 'humaneva15'}


def test_h36m_checkpoint_on_3dhp_is_refused_naming_both_layouts(h36m_trained, tmp_path, capsys):
    _, ckpt = h36m_trained
    write_3dhp_fixture(tmp_path)
    capsys.readouterr()
    rc = main(['-d', '3dhp', '--data-dir', str(tmp_path), '-c', str(ckpt), '--evaluate', 'epoch_1.bin'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset 3dhp') and "'h36m'" in line and "'mpi3dhp'" in line


def test_resuming_on_data_of_another_layout_is_refused(h36m_trained, tmp_path, capsys):
    _, ckpt = h36m_trained
    write_3dhp_fixture(tmp_path)
    capsys.readouterr()
    rc = main(['-d', '3dhp', '--data-dir', str(tmp_path), '-c', str(ckpt), '-r', 'epoch_1.bin', '-e', '2'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset 3dhp') and "'h36m'" in line and "'mpi3dhp'" in line


def test_a_different_keypoint_layout_is_refused(tmp_path, custom_clip, capsys):
    path = tmp_path / 'coco_keypoints.bin'
    model = small_model()
    save_checkpoint(path, epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config,
                    layouts={'joints': 'h36m', 'keypoints': 'coco'})
    rc = demo_main(['-c', str(path), '-d', 'custom', '-k', 'clip', '--data-dir', str(custom_clip), '--fast'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset custom') and "'coco'" in line and "'h36m'" in line


def test_a_matching_checkpoint_streams_without_a_layout_note(tmp_path, custom_clip, capsys):
    path = tmp_path / 'h36m.bin'
    model = small_model()
    save_checkpoint(path, epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config,
                    layouts={'joints': 'h36m', 'keypoints': 'h36m'})
    assert demo_main(['-c', str(path), '-d', 'custom', '-k', 'clip', '--data-dir', str(custom_clip), '--fast']) == 0
    assert 'layout' not in capsys.readouterr().out


def test_a_release_file_gets_a_note_on_the_assumed_layout(tmp_path, capsys):
    write_h36m_fixture(tmp_path)
    (tmp_path / 'ckpt').mkdir()
    torch.manual_seed(0)
    write_release_checkpoint(tmp_path / 'ckpt' / 'release.bin', PoseTransformer(**CONFIG))
    assert main(['--data-dir', str(tmp_path), '-c', str(tmp_path / 'ckpt'), '--evaluate', 'release.bin',
                 '--num-heads', '4'] + H36M) == 0
    out = capsys.readouterr().out
    assert "note: release.bin does not record its joint layout (released files do not); assuming 'h36m' joints " \
           "and 'h36m' keypoints" in out


def test_stream_demo_notes_a_release_files_head_count_and_layout(tmp_path, custom_clip, capsys):
    torch.manual_seed(0)
    write_release_checkpoint(tmp_path / 'release.bin', PoseTransformer(**CONFIG))          # 4 heads
    assert demo_main(['-c', str(tmp_path / 'release.bin'), '--num-heads', '4', '-d', 'custom', '-k', 'clip',
                      '--data-dir', str(custom_clip), '--fast']) == 0
    out = capsys.readouterr().out
    assert 'does not record its number of attention heads (released files do not); using --num-heads 4' in out
    assert "assuming 'h36m' joints and 'h36m' keypoints, as this data" in out


def test_export_names_the_layout_and_notes_a_release_files_head_count(tmp_path, capsys):
    pytest.importorskip('onnx')
    torch.manual_seed(0)
    write_release_checkpoint(tmp_path / 'release.bin', PoseTransformer(**CONFIG))
    export_main([str(tmp_path / 'release.bin'), '--onnx', str(tmp_path / 'r.onnx')])
    out = capsys.readouterr().out
    assert 'does not record its number of attention heads (released files do not); using --num-heads 8' in out
    assert "assuming 'h36m' joints and 'h36m' keypoints" in out


def test_an_onnx_export_keeps_the_layout_and_stream_demo_checks_it(tmp_path, custom_clip, capsys):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    path = tmp_path / 'coco_keypoints.bin'
    model = small_model()
    save_checkpoint(path, epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config,
                    layouts={'joints': 'h36m', 'keypoints': 'coco'})
    assert export_main([str(path), '--onnx', str(tmp_path / 'm.onnx'), '--stages']) == 0
    assert "coco_keypoints.bin was trained on 'h36m' joints from 'coco' keypoints" in capsys.readouterr().out
    rc = demo_main(['--onnx', str(tmp_path / 'm.onnx'), '-d', 'custom', '-k', 'clip', '--data-dir', str(custom_clip),
                    '--fast'])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: -d/--dataset custom: ONNX model') and "'coco'" in line


# ---------------------------------------------------------------------------------------------
# 6. model flags given with --evaluate / -r: one rule for every model setting

@pytest.mark.parametrize('flags, setting, said', [
    (['--depth', '2'], '--depth 2', 'depth 1'),
    (['--embed-dim-ratio', '16'], '--embed-dim-ratio 16', 'embed_dim_ratio 8'),
    (['--num-heads', '4'], '--num-heads 4', 'num_heads 2'),
    (['--causal'], '--causal', 'causal False'),
    (['-f', '27'], '-f/--number-of-frames 27', 'trained with 9 frames'),
])
def test_model_flags_that_differ_from_the_checkpoint_are_refused(h36m_trained, flags, setting, said, capsys):
    folder, ckpt = h36m_trained
    capsys.readouterr()
    rc = main(['--data-dir', str(folder), '-c', str(ckpt), '--evaluate', 'epoch_1.bin'] + H36M + flags)
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith(f'error: {setting}') and said in line and 'epoch_1.bin' in line


def test_resume_with_a_different_model_flag_is_refused(h36m_trained, capsys):
    folder, ckpt = h36m_trained
    capsys.readouterr()
    rc = main(['--data-dir', str(folder), '-c', str(ckpt), '-r', 'epoch_1.bin', '-e', '2', '--depth', '3'] + H36M)
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and line.startswith('error: --depth 3: ') and 'depth 1' in line


def test_model_flags_equal_to_the_checkpoint_or_left_out_are_accepted(h36m_trained, capsys):
    folder, ckpt = h36m_trained
    base = ['--data-dir', str(folder), '-c', str(ckpt), '--evaluate', 'epoch_1.bin'] + H36M
    assert main(base + SMALL) == 0                      # as the official command lines: the same -f
    assert main(base) == 0


# ---------------------------------------------------------------------------------------------
# rough edges

def test_a_raw_pickle_is_refused_with_our_line_only(tmp_path, capsys):
    path = tmp_path / 'model.pkl'
    path.write_bytes(pickle.dumps({'weights': [1.0, 2.0]}))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter('always')
        rc = main(['--evaluate', str(path), '--data-dir', str(tmp_path)])
    line = error_lines(capsys.readouterr().err)
    assert rc == 2 and str(path) in line
    assert [str(w.message) for w in shown] == []          # printed before our line, otherwise
