"""Tests for the ONNX export (common/streaming/onnx_model.py, tools/export.py) and the onnxruntime backend."""
import numpy as np
import pytest
import torch

from common.data.types import Symmetry
from common.errors import UserError
from common.evaluation import predict_sequence
from common.io.checkpoint import save_checkpoint
from common.model.poseformer import PoseTransformer
from common.streaming import Lifter, OnnxStages, export_onnx, stage_paths
from tools.export import main as export_main

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
SYMMETRY = Symmetry(LEFT, RIGHT, LEFT, RIGHT)
FRAMES = 9


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    model = PoseTransformer(num_frame=FRAMES, embed_dim_ratio=8, depth=2, num_heads=2).eval()
    with torch.no_grad():
        model.Temporal_pos_embed.normal_(0, 0.5)
    return model


@pytest.fixture(scope='module')
def exported(model, tmp_path_factory):
    path = tmp_path_factory.mktemp('onnx') / 'pose.onnx'
    written = export_onnx(model, path, stages=True)
    assert written == [path, *stage_paths(path)]
    return path


def run_onnx(path, name, array):
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {name: array})[0]


def test_stage_files_sit_beside_the_model():
    spatial, temporal = stage_paths('out/model.onnx')
    assert (str(spatial), str(temporal)) == ('out/model.spatial.onnx', 'out/model.temporal.onnx')


@pytest.mark.parametrize('batch', [1, 5])
def test_exported_model_gives_the_pytorch_output_for_any_batch(model, exported, batch):
    keypoints = torch.rand(batch, FRAMES, 17, 2) * 2 - 1
    with torch.no_grad():
        expected = model(keypoints).numpy()
    got = run_onnx(exported, 'keypoints_2d', keypoints.numpy())
    assert got.shape == (batch, 1, 17, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_exported_stages_give_the_pytorch_features_and_poses(model, exported):
    spatial, temporal = stage_paths(exported)
    keypoints = torch.rand(3, 20, 17, 2) * 2 - 1                       # any number of frames
    with torch.no_grad():
        features = model.forward_spatial(keypoints)
        poses = model.forward_temporal(features[:, :FRAMES])
    np.testing.assert_allclose(run_onnx(spatial, 'keypoints_2d', keypoints.numpy()), features.numpy(), atol=1e-5)
    np.testing.assert_allclose(run_onnx(temporal, 'features', features[:, :FRAMES].numpy()), poses.numpy(),
                               atol=1e-5)


def test_files_carry_the_model_shape(exported):
    meta = {p.key: p.value for p in onnx.load(str(stage_paths(exported)[1])).metadata_props}
    assert meta == {'num_frame': str(FRAMES), 'num_joints': '17', 'in_chans': '2', 'embed_dim_ratio': '8',
                    'frames_after_target': str((FRAMES - 1) // 2), 'stage': 'temporal'}


@pytest.mark.parametrize('tta', [False, True])
@pytest.mark.parametrize('frames', [3, 30])
def test_streaming_on_onnxruntime_equals_offline_pytorch(model, exported, tta, frames):
    poses_2d = (np.random.default_rng(frames).uniform(-0.8, 0.8, (frames, 17, 2))).astype(np.float32)
    stages = OnnxStages(exported, threads=1)
    assert (stages.num_frame, stages.num_joints, stages.frames_after_target) == (FRAMES, 17, 4)
    online = Lifter(stages, SYMMETRY, tta=tta).lift(poses_2d)
    np.testing.assert_allclose(online, predict_sequence(model, poses_2d, SYMMETRY, tta=tta), atol=1e-5)


def test_onnx_backend_without_stage_files_says_how_to_make_them(model, tmp_path):
    path = tmp_path / 'whole.onnx'
    export_onnx(model, path)
    with pytest.raises(UserError) as error:
        OnnxStages(path)
    assert error.value.setting == 'onnx'
    assert 'whole.spatial.onnx was not found' in str(error.value) and 'tools/export.py' in str(error.value)


def test_export_tool_writes_and_checks_the_files(model, tmp_path, capsys):
    checkpoint = tmp_path / 'model.bin'
    save_checkpoint(checkpoint, epoch=1, lr=1e-3, model=model, optimizer=None, config=dict(model.config))
    out = tmp_path / 'export' / 'pose.onnx'
    assert export_main([str(checkpoint), '--onnx', str(out), '--stages']) == 0
    assert all(p.is_file() for p in [out, *stage_paths(out)])
    printed = capsys.readouterr().out
    assert '9 frames, 17 joints, embedding 8, depth 2, 2 heads' in printed
    assert '(same output)' in printed


def test_export_tool_reports_a_missing_checkpoint(tmp_path, capsys):
    assert export_main([str(tmp_path / 'nothing.bin'), '--onnx', str(tmp_path / 'x.onnx')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'nothing.bin' in err and 'not found' in err
    assert not (tmp_path / 'x.onnx').exists()


def test_export_tool_needs_an_output(tmp_path, capsys):
    assert export_main([str(tmp_path / 'model.bin')]) == 2
    assert '--onnx' in capsys.readouterr().err


@pytest.mark.parametrize('training', [False, True])
def test_export_leaves_the_model_in_its_mode(tmp_path, training):
    model = PoseTransformer(num_frame=3, embed_dim_ratio=8, depth=1, num_heads=2).train(training)
    export_onnx(model, tmp_path / 'm.onnx', stages=True)
    assert all(module.training == training for module in model.modules())
