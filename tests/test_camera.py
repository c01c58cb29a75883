import json

import numpy as np
import pytest
import torch

from common.data.camera import (CAMERA_FILE, camera_to_world, image_coordinates, load_h36m_cameras,
                                normalize_screen_coordinates, project_to_2d, project_world_to_pixels,
                                world_to_camera)
from common.data.quaternion import qinverse, qrot


def test_screen_normalisation_round_trip_and_range():
    X = np.array([[0, 0], [1000, 1002], [500, 501]], dtype=np.float32)
    n = normalize_screen_coordinates(X, w=1000, h=1002)
    assert np.allclose(n[0], [-1, -1.002]) and np.allclose(n[1], [1, 1.002]) and np.allclose(n[2], [0, 0])
    assert np.allclose(image_coordinates(n, w=1000, h=1002), X, atol=1e-4)
    t = normalize_screen_coordinates(torch.from_numpy(X), w=1000, h=1002)
    assert torch.allclose(t, torch.from_numpy(n))


def test_quaternion_rotation_matches_rotation_matrix():
    angle = 0.7
    q = np.array([np.cos(angle / 2), 0, 0, np.sin(angle / 2)], dtype=np.float32)   # about z
    v = np.array([[1, 0, 0], [0, 2, 3]], dtype=np.float32)
    R = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    assert np.allclose(qrot(np.tile(q, (2, 1)), v), v @ R.T, atol=1e-6)
    assert np.allclose(qrot(np.tile(qinverse(q), (2, 1)), qrot(np.tile(q, (2, 1)), v)), v, atol=1e-6)


@pytest.mark.parametrize('lib', ['numpy', 'torch'])
def test_world_camera_round_trip(lib):
    cam = load_h36m_cameras()['S9'][2]
    X = np.random.default_rng(0).normal(size=(20, 17, 3)).astype(np.float32)
    if lib == 'torch':
        X = torch.from_numpy(X)
    Y = camera_to_world(world_to_camera(X, cam['orientation'], cam['translation']), cam['orientation'], cam['translation'])
    assert np.allclose(np.asarray(Y), np.asarray(X), atol=1e-5)


def test_camera_centre_maps_to_origin_of_camera_frame():
    cam = load_h36m_cameras()['S1'][0]
    origin = world_to_camera(cam['translation'][None].astype(np.float32), cam['orientation'], cam['translation'])
    assert np.allclose(origin, 0, atol=1e-6)


def test_hand_computed_projection_with_distortion():
    raw = json.load(open(CAMERA_FILE))['intrinsic'][1]
    cam = load_h36m_cameras()['S1'][1]
    x, y, z = 0.3, -0.2, 3.0
    a, b = x / z, y / z
    k1, k2, k3 = raw['radial_distortion']
    p1, p2 = raw['tangential_distortion']
    r2 = a * a + b * b
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tangential = p1 * a + p2 * b
    u = raw['focal_length'][0] * (a * (radial + tangential) + p1 * r2) + raw['center'][0]
    v = raw['focal_length'][1] * (b * (radial + tangential) + p2 * r2) + raw['center'][1]
    point = np.array([[[x, y, z]]], dtype=np.float32)
    pixels = image_coordinates(project_to_2d(point, cam['intrinsic']), raw['res_w'], raw['res_h'])
    assert np.allclose(pixels[0, 0], [u, v], atol=1e-2)


def test_projection_batched_per_camera_rows_and_torch_numpy_agree():
    cams = load_h36m_cameras()['S5']
    X = np.random.default_rng(1).uniform(-0.5, 0.5, size=(4, 5, 3)).astype(np.float32)
    X[..., 2] += 4
    params = np.stack([c['intrinsic'] for c in cams])
    batched = project_to_2d(torch.from_numpy(X), torch.from_numpy(params)).numpy()
    for i in range(4):
        assert np.allclose(batched[i], project_to_2d(X[i:i + 1], cams[i]['intrinsic'])[0], atol=1e-6)


def test_project_world_to_pixels_lands_near_image_centre_for_a_point_ahead():
    cam = load_h36m_cameras()['S9'][0]
    ahead = camera_to_world(np.array([[0, 0, 5.0]], dtype=np.float32), cam['orientation'], cam['translation'])
    pixels = project_world_to_pixels(ahead[None], cam)
    raw_centre = json.load(open(CAMERA_FILE))['intrinsic'][0]['center']
    assert np.allclose(pixels[0, 0], raw_centre, atol=0.5)


def test_calibration_facts():
    cams = load_h36m_cameras()
    assert sorted(cams) == sorted(['S1', 'S5', 'S6', 'S7', 'S8', 'S9', 'S11'])
    for subject_cams in cams.values():
        assert len(subject_cams) == 4
        for cam in subject_cams:
            assert cam['intrinsic'].shape == (9,)
            assert np.isclose(np.linalg.norm(cam['orientation']), 1, atol=1e-4)
            assert 1 < np.linalg.norm(cam['translation']) < 10      # metres
