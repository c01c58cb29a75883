"""-d 3dhp through the CLI on community-layout fixtures: trains, evaluates on valid frames, PCK/AUC."""
import json

import numpy as np
import pytest
import torch

from common.io.checkpoint import load_checkpoint
from common.model.release import load_model_weights, strip_module_prefix
from common.evaluation import predict_sequence
from common.model.poseformer import PoseTransformer
from common.data.sources import DataConfig, load_bundle
from run_poseformer import main
from tests.fixtures_3dhp import write_3dhp_fixture

def official_3dhp_numbers(pred_m, target_m, valid, root):
    """MPJPE / PCK@150 / AUC as the 3DHP protocol scores them: the root slot zeroed in both poses (the
    target keeps its trajectory there), valid frames pooled, errors strictly below 0, 5, ..., 150 mm."""
    pred, target = pred_m[valid] * 1000.0, target_m[valid] * 1000.0
    pred[:, root] = 0
    target[:, root] = 0
    errors = np.sqrt(((pred - target) ** 2).sum(axis=-1))
    return {'mpjpe': errors.mean(), 'pck': (errors < 150).mean() * 100,
            'auc': np.mean([(errors < t).mean() for t in range(0, 151, 5)]) * 100}


SMALL = ['-f', '9', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-b', '64', '-lr', '0.002']


def test_3dhp_trains_and_scores_valid_frames_with_pck_auc(tmp_path, capsys):
    write_3dhp_fixture(tmp_path)
    ckpt = tmp_path / 'ckpt'
    assert main(['-d', '3dhp', '--data-dir', str(tmp_path), '-c', str(ckpt), '-e', '2', '--checkpoint-frequency', '2']
                + SMALL) == 0
    assert main(['-d', '3dhp', '--data-dir', str(tmp_path), '-c', str(ckpt), '--evaluate', 'epoch_2.bin',
                 '--num-heads', '2', '--results-json', str(tmp_path / 'r.json')]) == 0
    out = capsys.readouterr().out
    assert 'PCK (150 mm)' in out and 'AUC (0-150 mm)' in out
    results = json.loads((tmp_path / 'r.json').read_text())

    bundle = load_bundle(DataConfig(dataset='3dhp', data_dir=str(tmp_path), need_train=False))
    checkpoint = load_checkpoint(ckpt / 'epoch_2.bin')
    model = PoseTransformer(**checkpoint['config']).eval()
    load_model_weights(model, strip_module_prefix(checkpoint['model_pos']), 'epoch_2.bin')
    symmetry = bundle.symmetry
    preds, targets, masks = [], [], []
    for seq in bundle.test:
        preds.append(predict_sequence(model, seq.poses_2d, symmetry))
        targets.append(seq.poses_3d)
        masks.append(bundle.protocol.valid_mask(seq))
    pooled = official_3dhp_numbers(np.concatenate(preds), np.concatenate(targets), np.concatenate(masks), bundle.root)
    fw = results['frame_weighted_average']
    assert fw['pck'] == pytest.approx(pooled['pck'], abs=1e-3)
    assert fw['auc'] == pytest.approx(pooled['auc'], abs=1e-3)
    assert fw['mpjpe'] == pytest.approx(pooled['mpjpe'], abs=1e-3)
    assert sum(row['frames'] for row in results['per_action'].values()) == int(np.concatenate(masks).sum())
    assert int(np.concatenate(masks).sum()) < sum(len(m) for m in masks)   # some frames were invalid
