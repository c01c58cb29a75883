import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault('CI', '1')  # quiet progress bars in tests


@pytest.fixture
def h36m_dir(tmp_path):
    from tests.h36m_fixtures import write_h36m_fixture
    data = write_h36m_fixture(tmp_path)
    return tmp_path, data
