"""The model that ships with the code (models/embedded_f9.bin) and what training checkpoints record
about how they were made (issue 21)."""
import json
from pathlib import Path

import numpy as np

from common.data.camera import load_h36m_cameras
from common.data.synthetic.dataset import GENERATOR_VERSION
from common.io.checkpoint import load_checkpoint
from common.io.npz import load_npz

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / 'models' / 'embedded_f9.bin'


def test_training_checkpoints_record_command_seed_and_data_version(synthetic_model):
    _, ckpt = synthetic_model
    provenance = load_checkpoint(ckpt / 'epoch_2.bin')['extra']['provenance']
    assert provenance['command'].startswith('python run_poseformer.py -d synthetic ')
    assert '--embed-dim-ratio 8' in provenance['command']
    assert provenance['seed'] == 1234
    assert provenance['data'] == {'dataset': 'synthetic', 'keypoints': 'gt', 'synthetic_version': GENERATOR_VERSION,
                                  'synthetic_seed': 0}


def test_shipped_model_is_small_and_says_how_it_was_made():
    assert SHIPPED.is_file(), 'models/embedded_f9.bin must be in the repository'
    assert SHIPPED.stat().st_size < 8e6
    checkpoint = load_checkpoint(SHIPPED)
    assert checkpoint['config']['num_frame'] == 9
    assert checkpoint['optimizer'] is None  # slim: weights only
    assert checkpoint['layouts'] == {'joints': 'h36m', 'keypoints': 'h36m'}  # what it expects, kept by the slimming
    provenance = checkpoint['extra']['provenance']
    assert provenance['command'].startswith('python run_poseformer.py -d synthetic -k detected -f 9 ')
    assert provenance['data']['dataset'] == 'synthetic'
    assert provenance['data']['synthetic_version'] == GENERATOR_VERSION  # trained on the data this code generates
    readme = (ROOT / 'models' / 'README.md').read_text()
    assert provenance['command'] in readme  # the documented command is the one that made it


def test_shipped_model_evaluates_on_the_embedded_data(synthetic_model, tmp_path):
    from run_poseformer import main
    data_dir, _ = synthetic_model
    out = tmp_path / 'results.json'
    rc = main(['-d', 'synthetic', '--data-dir', str(data_dir), '-k', 'detected', '-a', 'Walking', '--downsample', '10',
               '--evaluate', str(SHIPPED), '-c', str(tmp_path), '--results-json', str(out)])
    assert rc == 0
    p1 = json.loads(out.read_text())['action_wise_average']['mpjpe']
    assert 5.0 < p1 < 120.0  # mm: it lifts (an untrained model is several hundred mm off)


def test_shipped_model_lifts_through_the_streaming_lifter(synthetic_model):
    from common.data.synthetic.dataset import synthetic_paths
    from common.data.types import Symmetry  # noqa: F401  (the lifter's symmetry type)
    from common.streaming import Lifter, model_from_checkpoint
    data_dir, _ = synthetic_model
    keypoints = load_npz(synthetic_paths(data_dir)['2d']['gt'], required_keys=['positions_2d'])['positions_2d']
    camera = load_h36m_cameras()['S9'][0]
    frames = keypoints['S9']['Walking'][0][:80]                       # (80, 17, 2) pixels
    model = model_from_checkpoint(SHIPPED)
    poses = Lifter(model, image_size=(camera['res_w'], camera['res_h'])).lift(frames)
    assert poses.shape == (80, 17, 3) and np.isfinite(poses).all()
    # Metres, human-sized: thigh and shin bones of 0.3-0.6 m, the head above the hips (camera y points down).
    for joint, parent in ((2, 1), (3, 2), (5, 4), (6, 5)):
        length = np.linalg.norm(poses[:, joint] - poses[:, parent], axis=-1)
        assert 0.25 < np.median(length) < 0.65, (joint, np.median(length))
    assert (poses[:, 10, 1] < poses[:, 0, 1]).mean() > 0.9
