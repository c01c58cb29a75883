"""Causal PoseFormer: the target of a window is its last frame (VideoPose3D's --causal).

Trained on windows that end at their target, evaluated the same way (the sequence padded on the
left only), stored in the checkpoint's configuration and read back, streamed without latency.
"""
import numpy as np
import pytest
import torch

from common.data.types import Sequence, Symmetry
from common.evaluation import EvalOptions, evaluate, predict_sequence
from common.io.checkpoint import load_checkpoint, save_checkpoint
from common.model.config import ModelConfig
from common.model.loading import model_for_run
from common.model.poseformer import PoseTransformer
from common.streaming import Lifter, model_from_checkpoint
from common.training import TrainingStep, make_optimizer
from common.windows import TrainingWindows

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
SYMMETRY = Symmetry(LEFT, RIGHT, LEFT, RIGHT)
FRAMES = 5
SMALL = dict(num_frame=FRAMES, embed_dim_ratio=8, depth=1, num_heads=2)


def _random_causal_model(seed=0):
    torch.manual_seed(seed)
    model = PoseTransformer(causal=True, **SMALL).eval()
    with torch.no_grad():
        model.Temporal_pos_embed.normal_(0, 0.5)        # make every frame of the window count differently
    return model


def _sequences(lengths=(11, 7), seed=0):
    rng = np.random.default_rng(seed)
    seqs = []
    for i, n in enumerate(lengths):
        poses_2d = np.cumsum(rng.normal(scale=0.05, size=(n, 17, 2)), axis=0).astype(np.float32)
        poses_3d = np.concatenate([poses_2d, rng.normal(scale=0.1, size=(n, 17, 1))], axis=2).astype(np.float32)
        seqs.append(Sequence('S1', f'Walking {i}', 0, poses_2d, poses_3d, cam={}))
    return seqs


def _left_padded_prediction(model, poses_2d):
    """The model on the window ending at each frame (first frame repeated F-1 times before the sequence)."""
    padded = np.pad(poses_2d, ((FRAMES - 1, 0), (0, 0), (0, 0)), mode='edge')
    windows = np.stack([padded[i:i + FRAMES] for i in range(len(poses_2d))])
    with torch.no_grad():
        return model(torch.from_numpy(windows))[:, 0].numpy()


def test_causal_is_stored_only_when_set_and_files_without_it_are_centred():
    centred, causal = ModelConfig(**SMALL), ModelConfig(causal=True, **SMALL)
    assert 'causal' not in dict(centred)                 # centred models' files are unchanged
    assert dict(causal)['causal'] is True and list(causal)[-1] == 'causal'
    assert ModelConfig.from_dict(dict(causal)) == causal
    assert ModelConfig.from_dict(dict(centred)).causal is False
    assert PoseTransformer(**causal).config == causal


def test_frames_after_target():
    assert PoseTransformer(num_frame=9).frames_after_target == 4
    assert PoseTransformer(num_frame=9, causal=True).frames_after_target == 0
    assert PoseTransformer(num_frame=1, causal=True).frames_after_target == 0


@pytest.mark.parametrize('batch_size', [3, 256])
def test_offline_prediction_uses_the_windows_ending_at_each_frame(batch_size):
    model = _random_causal_model()
    poses_2d = _sequences()[0].poses_2d
    predicted = predict_sequence(model, poses_2d, SYMMETRY, tta=False, batch_size=batch_size)
    np.testing.assert_allclose(predicted, _left_padded_prediction(model, poses_2d), atol=1e-5)
    # a causal prediction of frame i does not depend on later frames
    changed = poses_2d.copy()
    changed[6:] += 0.3
    np.testing.assert_allclose(predict_sequence(model, changed, SYMMETRY, tta=True, batch_size=batch_size)[:6],
                               predict_sequence(model, poses_2d, SYMMETRY, tta=True, batch_size=batch_size)[:6],
                               atol=1e-6)


def _train_a_few_steps(model, sequences, steps=5):
    windows = TrainingWindows(sequences, model.num_frame, LEFT, RIGHT, LEFT, RIGHT, causal=model.causal)
    step = TrainingStep(model.train(), make_optimizer(model, 1e-3, 'cpu'), 'cpu')
    order = windows.epoch_order(np.random.RandomState(0))
    for (inputs, targets, size), _ in zip(windows.batches(order, 8), range(steps)):
        step(inputs, targets, size)
    return model.eval()


def test_a_causal_model_trains_is_saved_evaluated_and_streamed(tmp_path):
    sequences = _sequences()
    torch.manual_seed(0)
    model = _train_a_few_steps(PoseTransformer(causal=True, **SMALL), sequences)
    path = tmp_path / 'causal.bin'
    save_checkpoint(path, epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config)
    assert load_checkpoint(path)['config']['causal'] is True

    # evaluated: the predictions are those of the windows ending at each frame
    result = evaluate(model, sequences, SYMMETRY, options=EvalOptions(tta=False, batch_size=4))
    for seq, predicted in zip(sequences, result.predictions):
        np.testing.assert_allclose(predicted, _left_padded_prediction(model, seq.poses_2d), atol=1e-5)

    # streamed: zero latency, the offline numbers
    lifter = Lifter(model, SYMMETRY, tta=True)
    assert lifter.latency_frames == 0
    online = np.stack([lifter.push(frame) for frame in sequences[0].poses_2d])
    np.testing.assert_allclose(online, predict_sequence(model, sequences[0].poses_2d, SYMMETRY, tta=True), atol=1e-5)


def test_a_causal_checkpoint_is_read_back_as_causal_without_asking(tmp_path):
    torch.manual_seed(0)
    model = PoseTransformer(causal=True, **SMALL)
    path = tmp_path / 'causal.bin'
    save_checkpoint(path, epoch=1, lr=1e-3, model=model, optimizer=None, config=model.config)
    loaded = model_for_run(ModelConfig(**SMALL), load_checkpoint(path), str(path), frames_given=False, seed=0)
    assert loaded.causal and loaded.frames_after_target == 0
    assert Lifter(model_from_checkpoint(path)).latency_frames == 0
    # and a centred file (no 'causal' key) stays centred
    torch.manual_seed(0)
    centred = PoseTransformer(**SMALL)
    save_checkpoint(tmp_path / 'centred.bin', epoch=1, lr=1e-3, model=centred, optimizer=None, config=centred.config)
    assert not model_from_checkpoint(tmp_path / 'centred.bin').causal


def test_training_a_causal_model_scores_the_windows_ending_at_each_target(tmp_path):
    """With a zero learning rate the epoch's training loss is the initial model's MPJPE on the
    training examples, which here must be the windows ending at their targets."""
    from common.data.layouts import H36M_17
    from common.data.types import DataBundle
    from common.metrics import mpjpe
    from common.training import TrainConfig, new_state, train
    sequences = _sequences()
    bundle = DataBundle('test', sequences, sequences, H36M_17, H36M_17, 50.0)
    torch.manual_seed(0)
    model = PoseTransformer(causal=True, drop_path_rate=0.0, **SMALL)
    config = TrainConfig(epochs=1, batch_size=8, learning_rate=0.0, validate=False,
                         checkpoint_dir=str(tmp_path), checkpoint_frequency=100)
    state = train(model, make_optimizer(model, 0.0, 'cpu'), bundle, new_state(config), config, 'cpu', log=lambda *a: None)
    windows = TrainingWindows(sequences, FRAMES, bundle.kps_left, bundle.kps_right, bundle.joints_left,
                              bundle.joints_right, causal=True)
    inputs, targets = windows.batch(torch.arange(len(windows)))
    with torch.no_grad():
        expected = mpjpe(model.eval()(inputs), targets).item()
    assert state.history['train'][0] == pytest.approx(expected, rel=1e-5)


def test_an_exported_causal_model_streams_on_onnxruntime_without_latency(tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    from common.streaming import OnnxStages, export_onnx
    model = _random_causal_model()
    export_onnx(model, tmp_path / 'causal.onnx', stages=True)
    stages = OnnxStages(tmp_path / 'causal.onnx', threads=1)
    assert stages.frames_after_target == 0
    poses_2d = _sequences()[1].poses_2d
    lifter = Lifter(stages, SYMMETRY, tta=True)
    online = np.stack([lifter.push(frame) for frame in poses_2d])
    np.testing.assert_allclose(online, predict_sequence(model, poses_2d, SYMMETRY, tta=True), atol=1e-5)


def test_causal_round_trip_through_the_command_line(tmp_path, capsys):
    from common.io.checkpoint import load_checkpoint
    from run_poseformer import main
    data, ckpt = tmp_path / 'data', tmp_path / 'c'
    common = ['-d', 'synthetic', '--data-dir', str(data), '-k', 'gt', '--downsample', '20', '--subset', '0.1',
              '-a', 'Walk', '--progress', 'off']
    assert main(common + ['-f', '5', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-e', '1',
                          '--no-eval', '--checkpoint-frequency', '1', '--causal', '-c', str(ckpt)]) == 0
    assert load_checkpoint(ckpt / 'epoch_1.bin')['config']['causal'] is True
    capsys.readouterr()
    assert main(common + ['--evaluate', 'epoch_1.bin', '-c', str(ckpt), '--num-heads', '2',         # no --causal
                          '--results-json', str(tmp_path / 'r.json')]) == 0
    out = capsys.readouterr().out
    assert 'Protocol #1   (MPJPE) action-wise average' in out
    import json
    assert json.loads((tmp_path / 'r.json').read_text())['config']['model']['causal'] is True   # read back
