"""--render / --viz-export as the official script does them (issue 12 items 4 and 6, issue 15 item 7).

The official script predicts the rendered sequence from its full-rate keypoints whatever
``--downsample`` says, saves the export with ``np.save`` (``.npy`` appended unless the name ends
so) as the model's float32 ``(N, 1, 17, 3)`` output, and the library refuses sizes and bitrates
that cannot work.
"""
import re

import numpy as np
import pytest
import torch
from PIL import Image

from common.data.sources import DataConfig, load_bundle
from common.errors import UserError
from common.evaluation import EvalOptions, predict_sequence
from common.model.poseformer import PoseTransformer
from common.render.sequence import MAX_VIZ_SIZE, RenderConfig, export_path, load_render_bundle, render_from_config
from run_poseformer import main
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint
from tests.h36m_fixtures import write_h36m_fixture

OPTIONS = EvalOptions(tta=False, progress=False)
S9_WALKING_1 = 60 + 7 * 1 + 3 * 1                      # the fixture's length rule for S9 'Walking 1'
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200), (200, 30, 200)]


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """Official-format H36M files, a release-layout checkpoint and a 6-frame video of plain colours."""
    root = tmp_path_factory.mktemp('render_official')
    write_h36m_fixture(root)
    (root / 'ckpt').mkdir()
    torch.manual_seed(0)
    model = PoseTransformer(**CONFIG)
    write_release_checkpoint(root / 'ckpt' / 'tiny.bin', model)
    images = [Image.new('RGB', (64, 40), c) for c in COLOURS]
    images[0].save(root / 'colours.gif', save_all=True, append_images=images[1:], duration=20)
    return root, model.eval()


def colours_seen(path):
    """The colour of every frame of a rendered GIF at a point of the 2D panel left of the person."""
    with Image.open(path) as image:
        seen = []
        for index in range(image.n_frames):
            image.seek(index)
            seen.append(image.convert('RGB').getpixel((15, 50)))
        return seen, image.info['duration']


def test_a_downsampled_run_renders_and_exports_the_full_rate_sequence(workspace):
    root, model = workspace
    run = DataConfig(keypoints='gt', data_dir=str(root), subjects_test=('S9',), actions=('Eating',), downsample=2,
                     subset=0.5, need_train=False)
    config = RenderConfig('S9', 'Walking 1', viz_camera=2, viz_video=str(root / 'colours.gif'), viz_skip=1,
                          viz_limit=3, viz_size=1, viz_output=str(root / 'full.gif'), viz_export=str(root / 'full'))
    render_from_config(config, model, load_render_bundle(run, config), 'cpu', OPTIONS, log=lambda *a: None)
    # The export: every frame of the sequence, predicted from the full-rate keypoints.
    full_rate = load_bundle(DataConfig(keypoints='gt', data_dir=str(root), subjects_test=('S9',), need_train=False))
    seq = next(s for s in full_rate.test if (s.action, s.camera) == ('Walking 1', 2))
    expected = predict_sequence(model, seq.poses_2d, full_rate.symmetry, tta=False)
    exported = np.load(root / 'full.npy')
    assert exported.shape == (S9_WALKING_1, 1, 17, 3)
    np.testing.assert_allclose(exported[:, 0], expected, atol=1e-6)
    # The animation: video frames 1, 2, 3 beside keypoint frames 1, 2, 3, at the dataset's 50 fps.
    seen, duration = colours_seen(root / 'full.gif')
    assert seen == COLOURS[1:4] and duration == 20


def test_a_subject_missing_from_the_data_is_the_rendered_subjects_problem(workspace):
    root, _ = workspace
    run = DataConfig(keypoints='gt', data_dir=str(root), subjects_test=('S9',), need_train=False)
    with pytest.raises(UserError) as info:
        load_render_bundle(run, RenderConfig('S5', 'Walking', viz_export='x.npy'))
    assert info.value.setting == 'viz_subject' and 'S5' in info.value.message


def test_cli_render_with_downsample_uses_the_full_rate_sequence(workspace, capsys):
    root, _ = workspace
    rc = main(['--data-dir', str(root), '-k', 'gt', '-c', str(root / 'ckpt'), '--evaluate', 'tiny.bin',
               '-ste', 'S9', '--downsample', '2', '--no-tta', '--progress', 'off', '--render',
               '--viz-subject', 'S9', '--viz-action', 'Walking 1', '--viz-camera', '2',
               '--viz-export', str(root / 'cli_export')])
    assert rc == 0, capsys.readouterr().err
    assert np.load(root / 'cli_export.npy').shape == (S9_WALKING_1, 1, 17, 3)


@pytest.mark.parametrize('name', ['pred', 'pred.npy', 'pred.NPY', 'pred.npz', 'dir.npy/pred', 'pred.npy.bak'])
def test_export_file_name_follows_np_save(tmp_path, name):
    (tmp_path / 'official').mkdir()
    (tmp_path / 'official' / 'dir.npy').mkdir()
    np.save(str(tmp_path / 'official' / name), np.zeros(1))
    written = [p.relative_to(tmp_path / 'official').as_posix() for p in (tmp_path / 'official').rglob('*')
               if p.is_file()]
    assert [export_path(name)] == written


def test_export_is_the_models_float32_output_shape(workspace):
    root, model = workspace
    bundle = load_bundle(DataConfig(keypoints='gt', data_dir=str(root), subjects_test=('S9',), need_train=False))
    lines = []
    config = RenderConfig('S9', 'Walking', viz_export=str(root / 'said'))
    render_from_config(config, model, bundle, 'cpu', OPTIONS, log=lines.append)
    exported = np.load(root / 'said.npy')
    assert exported.dtype == np.float32 and exported.shape == (63, 1, 17, 3)
    assert not (root / 'said').exists()
    assert lines == [f'Exported the prediction of S9 Walking camera 0: (63, 1, 17, 3) float32 metres -> '
                     f'{root / "said.npy"}']


@pytest.mark.parametrize('settings, setting, message', [
    (dict(viz_size=200), 'viz_size', f'^200: .* from 1 to {MAX_VIZ_SIZE} inches'),
    (dict(viz_size=0), 'viz_size', '^0: .* from 1 to'),
    (dict(viz_size=-3), 'viz_size', '^-3: .* from 1 to'),
    (dict(viz_size=float('nan')), 'viz_size', '^nan: '),
    (dict(viz_bitrate=-5), 'viz_bitrate', '^-5: .* positive'),
    (dict(viz_bitrate=0), 'viz_bitrate', '^0: .* positive'),
])
def test_render_config_refuses_sizes_and_bitrates_that_cannot_work(settings, setting, message):
    with pytest.raises(UserError) as info:
        RenderConfig('S9', 'Walking', viz_output='x.gif', **settings)
    assert info.value.setting == setting and re.search(message, info.value.message), info.value.message
    RenderConfig('S9', 'Walking', viz_size=MAX_VIZ_SIZE, viz_bitrate=1)       # the limits themselves are fine
