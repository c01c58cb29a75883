"""--evaluate through the CLI on official-format fixtures and a release-layout checkpoint,
checked against an independent computation (naive windows + hand-written metrics)."""
import json
import re

import numpy as np
import pytest
import torch

from common.data.camera import normalize_screen_coordinates, world_to_camera
from common.metrics import p_mpjpe_per_frame
from common.model.poseformer import PoseTransformer
from run_poseformer import main
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint
from tests.h36m_fixtures import KEPT

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
def naive_prediction(model, kps, tta=True):
    """Windows built one by one, the whole sequence as one batch, flip TTA by hand."""
    pad = (model.num_frame - 1) // 2
    padded = np.concatenate([np.repeat(kps[:1], pad, 0), kps, np.repeat(kps[-1:], pad, 0)])
    windows = torch.from_numpy(np.stack([padded[i:i + model.num_frame] for i in range(len(kps))]))
    with torch.no_grad():
        pred = model(windows)
        if tta:
            flipped = windows.clone()
            flipped[..., 0] *= -1
            flipped[:, :, LEFT + RIGHT] = flipped[:, :, RIGHT + LEFT]
            pred_flip = model(flipped)
            pred_flip[..., 0] *= -1
            pred_flip[:, :, LEFT + RIGHT] = pred_flip[:, :, RIGHT + LEFT]
            pred = (pred + pred_flip) / 2
    return pred[:, 0].numpy()


def test_evaluate_release_checkpoint_matches_independent_computation(h36m_dir, capsys):
    tmp_path, data = h36m_dir
    torch.manual_seed(0)
    model = PoseTransformer(**CONFIG).eval()
    (tmp_path / 'ckpt').mkdir()
    write_release_checkpoint(tmp_path / 'ckpt' / 'release9f.bin', model)
    model.eval()
    rc = main(['--data-dir', str(tmp_path), '-k', 'gt', '-c', str(tmp_path / 'ckpt'), '--evaluate', 'release9f.bin',
               '-str', 'S1', '-ste', 'S9', '--num-heads', '4', '--results-json', str(tmp_path / 'r.json'),
               '--eval-batch-size', '16'])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert '----Walking----' in out and 'Protocol #1   (MPJPE) action-wise average:' in out

    from common.data.camera import load_h36m_cameras
    cams = load_h36m_cameras()['S9']
    expected = {}
    for action, world in data['3d']['S9'].items():
        group = action.split(' ')[0]
        for cam_index, cam in enumerate(cams):
            kps = normalize_screen_coordinates(data['2d_gt']['S9'][action][cam_index], cam['res_w'], cam['res_h'])
            pred = naive_prediction(model, kps.astype(np.float32))
            target = world_to_camera(world[:, KEPT], cam['orientation'], cam['translation'])
            target = target - target[:, :1]                      # root-relative, root slot zero
            p1 = np.linalg.norm(pred - target, axis=-1).mean(axis=-1) * 1000
            velocity = np.linalg.norm(np.diff(pred, axis=0) - np.diff(target, axis=0), axis=-1).mean() * 1000
            entry = expected.setdefault(group, {'p1': [], 'vel': [], 'pred': [], 'target': []})
            entry['p1'].append(p1)
            entry['vel'].append(np.full(len(p1), velocity))
            entry['pred'].append(pred)
            entry['target'].append(target)
    results = json.loads((tmp_path / 'r.json').read_text())
    for group, entry in expected.items():
        got = results['per_action'][group]
        assert got['mpjpe'] == pytest.approx(np.concatenate(entry['p1']).mean(), abs=1e-3)
        assert got['mpjve'] == pytest.approx(np.concatenate(entry['vel']).mean(), abs=1e-3)
        assert got['p_mpjpe'] == pytest.approx(
            p_mpjpe_per_frame(np.concatenate(entry["pred"]), np.concatenate(entry["target"])).mean() * 1000, abs=1e-3)
        assert got['frames'] == sum(len(p) for p in entry['p1'])
        assert f'----{group}----' in out
    action_wise = np.mean([np.concatenate(e['p1']).mean() for e in expected.values()])
    assert results['action_wise_average']['mpjpe'] == pytest.approx(action_wise, abs=1e-3)
    printed = re.search(r'Protocol #1   \(MPJPE\) action-wise average: (\S+) mm', out)
    assert float(printed.group(1)) == pytest.approx(action_wise, abs=1e-3)      # printed to 0.0001 mm


def test_bad_inputs_give_clear_errors(h36m_dir, capsys):
    tmp_path, _ = h36m_dir
    ckpt = tmp_path / 'ckpt'
    ckpt.mkdir()
    torch.manual_seed(0)
    write_release_checkpoint(ckpt / 'r.bin', PoseTransformer(**CONFIG))
    (ckpt / 'corrupt.bin').write_bytes(b'\x80\x02garbage')
    common = ['--data-dir', str(tmp_path), '-c', str(ckpt), '-str', 'S1', '-ste', 'S9']
    cases = [
        (['--evaluate', 'missing.bin'], 'not found'),
        (['--evaluate', 'corrupt.bin'], 'corrupt.bin'),
        (['--evaluate', 'r.bin', '-f', '27'], '9 frames'),
        (['--evaluate', 'r.bin', '-k', 'nonexistent'], 'data_2d_h36m_nonexistent.npz not found'),
        (['--evaluate', 'r.bin', '-f', '28'], 'odd'),
        (['--evaluate', 'r.bin', '-ste', 'S11'], 'S11'),
        (['-r', 'r.bin', '--evaluate', 'r.bin'], 'cannot be used together'),
    ]
    for extra, message in cases:
        rc = main(common + extra)
        err = capsys.readouterr().err
        assert rc == 2, (extra, err)
        assert message in err and 'Traceback' not in err, (extra, err)
