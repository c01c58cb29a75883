"""Build the `DataBundle` (train / test sequences, layouts, protocol) of a run, for every dataset.

- ``h36m``: ``<data_dir>/data_3d_h36m.npz`` + ``<data_dir>/data_2d_h36m_<keypoints>.npz`` (`common.data.h36m`).
- ``synthetic``: the embedded dataset, generated into ``<data_dir>`` on first use, same layout
  (``data_3d_synthetic.npz``, ``data_2d_synthetic_{gt,detected}.npz``).
- ``custom``: ``<data_dir>/data_2d_custom_<keypoints>.npz`` (2D of your own videos, no 3D ground
  truth; test sequences only, `common.data.custom`).
- ``3dhp``: ``<data_dir>/data_{train,test}_3dhp.npz`` (`common.data.mpi3dhp`).
- ``humaneva15`` / ``humaneva20``: ``<data_dir>/data_3d_humaneva<J>.npz`` +
  ``<data_dir>/data_2d_humaneva<J>_<keypoints>.npz`` (HumanEva-I, `common.data.humaneva`).

Every source selects its sequences with `common.data.selection.Selection`, built from the
`DataConfig` and the source's default subjects.
"""
from dataclasses import dataclass
from pathlib import Path

from common.data.custom import load_custom
from common.data.h36m import load_h36m_format
from common.data.humaneva import load_humaneva
from common.data.mpi3dhp import load_3dhp
from common.data.selection import Selection
from common.errors import UserError


@dataclass(frozen=True)
class DataConfig:
    """What data a run uses. Field names are the settings' names (errors name them).

    ``subjects_train`` / ``subjects_test``: sequences of subject names, or None for the source's
    default (Human3.6M and synthetic: S1,S5,S6,S7,S8 / S9,S11; 3dhp: every subject of the training /
    test file; custom: every video; HumanEva: Train/S1,Train/S2,Train/S3 /
    Validate/S1,Validate/S2,Validate/S3). ``actions``: action-name prefixes, or None for all.
    ``subset``: fraction of each training sequence kept; ``downsample``: frame stride.
    ``synthetic_seed``: seed of the embedded dataset. ``need_train``: load the training split (False
    to evaluate only). ``only_subject``: custom only, load just this video.
    """
    dataset: str = 'h36m'
    keypoints: str = 'cpn_ft_h36m_dbb'
    data_dir: str = 'data'
    subjects_train: tuple | None = None
    subjects_test: tuple | None = None
    actions: tuple | None = None
    subset: float = 1.0
    downsample: int = 1
    synthetic_seed: int = 0
    need_train: bool = True
    only_subject: str | None = None

    NOT_RECORDED = ('data_dir', 'need_train', 'only_subject')     # where, and how much: not what a training computes

    def __post_init__(self):
        for name in ('subjects_train', 'subjects_test', 'actions'):
            if isinstance(getattr(self, name), str):
                raise TypeError(f'DataConfig.{name} takes a sequence of names, e.g. ("S1", "S5"), not a string')

    def selection(self, default_train, default_test):
        """The `Selection` of this config, with the source's default subjects where none were given."""
        return Selection(subjects_train=tuple(default_train if self.subjects_train is None else self.subjects_train),
                         subjects_test=tuple(default_test if self.subjects_test is None else self.subjects_test),
                         actions=None if self.actions is None else tuple(self.actions),
                         subset=self.subset, downsample=self.downsample)


def _load_h36m(config):
    return load_h36m_format(config, Path(config.data_dir) / 'data_3d_h36m.npz')


def _load_synthetic(config):
    # Imported here: generating the embedded dataset is the only use of the (large) generator.
    from common.data.synthetic.dataset import ensure_synthetic_dataset
    paths = ensure_synthetic_dataset(Path(config.data_dir), seed=config.synthetic_seed)
    return load_h36m_format(config, Path(paths['3d']))


_LOADERS = {'h36m': _load_h36m, 'synthetic': _load_synthetic, 'custom': load_custom, '3dhp': load_3dhp,
            'humaneva15': load_humaneva, 'humaneva20': load_humaneva}
DATASETS = tuple(_LOADERS)


def load_bundle(config):
    """The `DataBundle` that `config` (a `DataConfig`) describes."""
    loader = _LOADERS.get(config.dataset)
    if loader is None:
        raise UserError(f'{config.dataset}: unknown dataset; choose one of {", ".join(DATASETS)}', setting='dataset')
    return loader(config)

