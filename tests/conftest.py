import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault('CI', '1')  # quiet progress bars in tests
# Without a GPU the Triton kernels (common.model.fused_spatial) run in Triton's CPU interpreter. Triton
# reads TRITON_INTERPRET when it is imported (its own library functions are defined then), so it is
# set here, before any test module imports triton.
if 'TRITON_INTERPRET' not in os.environ and 'triton' not in sys.modules:
    import torch
    if not torch.cuda.is_available():
        os.environ['TRITON_INTERPRET'] = '1'


@pytest.fixture
def h36m_dir(tmp_path):
    from tests.h36m_fixtures import write_h36m_fixture
    data = write_h36m_fixture(tmp_path)
    return tmp_path, data


@pytest.fixture(scope='session')
def synthetic_model(tmp_path_factory):
    """The embedded dataset and a tiny PoseFormer trained on it (ground-truth 2D), shared by tests.

    Returns (data_dir, checkpoint_dir); the checkpoint is `epoch_2.bin` (9 frames, c=8, depth 1).
    """
    from run_poseformer import main
    root = tmp_path_factory.mktemp('synthetic')
    data_dir, ckpt = root / 'data', root / 'ckpt'
    rc = main(['-d', 'synthetic', '--data-dir', str(data_dir), '-k', 'gt', '-f', '9', '--embed-dim-ratio', '8',
               '--depth', '1', '--num-heads', '2', '-e', '2', '-b', '256', '--downsample', '10', '--subset', '0.3',
               '-lr', '0.003', '--no-eval', '-c', str(ckpt), '--checkpoint-frequency', '2', '-a', 'Walk,Eat,Dir'])
    assert rc == 0
    return data_dir, ckpt
