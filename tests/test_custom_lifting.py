"""In-the-wild path: COCO keypoints of a person with known 3D -> prepare_data_2d_custom ->
-d custom --evaluate --viz-export with a model trained on the embedded data."""
import json
import sys
from pathlib import Path

import numpy as np

from common.data.camera import load_h36m_cameras
from common.data.h36m import camera_frame, load_h36m_3d
from common.data.types import zero_root
from common.io.npz import load_npz
from run_poseformer import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'data'))
import prepare_data_2d_custom  # noqa: E402

# Human3.6M joint -> COCO keypoint for the joints both layouts share.
H36M_TO_COCO = {1: 12, 2: 14, 3: 16, 4: 11, 5: 13, 6: 15, 11: 5, 12: 7, 13: 9, 14: 6, 15: 8, 16: 10}


def h36m_to_coco(kps):
    """Human3.6M-17 pixels (N, 17, 2) -> COCO-17 (N, 17, 2), face points placed so that the
    documented head formula maps them back to the Human3.6M head."""
    coco = np.zeros_like(kps)
    for h36m_joint, coco_joint in H36M_TO_COCO.items():
        coco[:, coco_joint] = kps[:, h36m_joint]
    nose, thorax, head = kps[:, 9], kps[:, 8], kps[:, 10]
    coco[:, 0] = nose
    face_centre = head - 0.5 * (nose - thorax)
    side = np.array([6.0, 0.0])
    coco[:, 1], coco[:, 2] = face_centre + side, face_centre - side      # eyes
    coco[:, 3], coco[:, 4] = face_centre + 2 * side, face_centre - 2 * side  # ears
    return coco


def test_lifting_coco_keypoints_of_a_known_person(synthetic_model, tmp_path, capsys):
    data_dir, ckpt = synthetic_model
    subject, action, camera = 'S9', 'Walking', 0
    pixels = load_npz(data_dir / 'data_2d_synthetic_gt.npz')['positions_2d'][subject][action][camera]
    cam = load_h36m_cameras()[subject][camera]
    coco = h36m_to_coco(pixels)
    n = len(coco)
    missing = {5, 6, 40}
    results = [{'image_id': i, 'category_id': 1, 'score': 0.9,
                'keypoints': np.concatenate([coco[i], np.full((17, 1), 0.95)], axis=1).ravel().tolist()}
               for i in range(n) if i not in missing]
    json_path = tmp_path / 'walk.json'
    json_path.write_text(json.dumps(results))
    custom_dir = tmp_path / 'custom'
    assert prepare_data_2d_custom.main(['--coco-json', str(json_path), '--width', str(cam['res_w']),
                                        '--height', str(cam['res_h']), '--num-frames', str(n), '-o', 'walk',
                                        '--video-name', 'walk', '--output-dir', str(custom_dir)]) == 0
    export = tmp_path / 'walk_3d.npy'
    (custom_dir / 'ckpt').mkdir()
    rc = main(['-d', 'custom', '-k', 'walk', '--data-dir', str(custom_dir), '-c', str(ckpt),
               '--evaluate', 'epoch_2.bin', '--viz-subject', 'walk', '--viz-action', 'custom', '--viz-export', str(export)])
    assert rc == 0, capsys.readouterr().err
    lifted = np.load(export)
    assert lifted.shape == (n, 1, 17, 3) and np.isfinite(lifted).all()      # the official np.save layout
    lifted = lifted[:, 0]

    world = load_h36m_3d(data_dir / 'data_3d_synthetic.npz')[subject][action]
    truth = zero_root(camera_frame(world, load_h36m_cameras()[subject][camera]))
    lifted = lifted - lifted[:, :1]
    error = np.linalg.norm(lifted - truth, axis=-1).mean()
    no_model = np.linalg.norm(truth, axis=-1).mean()      # predicting every joint at the root
    print(f"lifted MPJPE {error * 1000:.1f} mm vs {no_model * 1000:.1f} mm for the all-at-root pose")
    assert error < 0.6 * no_model, (error, no_model)
