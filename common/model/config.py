"""`ModelConfig`: the one description of a PoseFormer's architecture and regularisation.

The defaults are those of a run (the paper's 81-frame model as trained: embedding 32 per joint,
4 + 4 blocks, 8 heads, stochastic depth 0.1, no dropout). `PoseTransformer`'s keyword defaults are
the official release constructor's instead (9 frames, stochastic depth 0.2); only those two differ.

A `ModelConfig` is also a read-only mapping of `PoseTransformer`'s keyword arguments, with the keys
stored as ``config`` in our checkpoint files (``qk_scale`` included, always None), so
``PoseTransformer(**config)``, ``dict(config)`` and ``config['num_heads']`` all work, and files
written before this type existed load with `ModelConfig.from_dict`. ``causal`` is a key only when
True: the files of centred models are those written before it existed, and a file without the key
holds a centred model.
"""
import dataclasses
from collections.abc import Mapping

# The stored dict's keys in their order (checkpoints, results JSON): the fields plus qk_scale,
# then 'causal' (stored only when True).
_STORED_KEYS = ('num_frame', 'num_joints', 'in_chans', 'embed_dim_ratio', 'depth', 'num_heads',
                'mlp_ratio', 'qkv_bias', 'qk_scale', 'drop_rate', 'attn_drop_rate', 'drop_path_rate')
_CAUSAL_KEY = ('causal',)


@dataclasses.dataclass(frozen=True)
class ModelConfig(Mapping):
    """PoseFormer settings (see `PoseTransformer` for what each one does).

    Attributes:
        num_frame: F, input frames per window (odd for a centred model).
        num_joints: J, joints per frame.
        in_chans: channels per input joint (2: x, y).
        embed_dim_ratio: c, width of a joint token; a frame token has width ``J*c``.
        depth: transformer blocks in each of the spatial and the temporal stack.
        num_heads: attention heads per block; must divide c (and so ``J*c``).
        mlp_ratio: hidden width of a block's MLP relative to the block's width.
        qkv_bias: bias in the q/k/v projection.
        drop_rate: dropout after the embeddings, the attention projection and the MLP.
        attn_drop_rate: dropout on the attention weights.
        drop_path_rate: stochastic depth of the last block of each stack (linear from 0).
        causal: the target of a window is its last frame (no look-ahead; zero latency when
            streaming) instead of its centre frame (see `common.windows.window_padding`).
    """
    num_frame: int = 81
    num_joints: int = 17
    in_chans: int = 2
    embed_dim_ratio: int = 32
    depth: int = 4
    num_heads: int = 8
    mlp_ratio: float = 2.0
    qkv_bias: bool = True
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.1
    causal: bool = False

    # the setting (argparse dest) of a field whose name differs: errors and recorded settings name it so
    SETTING_NAMES = {'num_frame': 'number_of_frames', 'drop_rate': 'model_dropout', 'drop_path_rate': 'drop_path'}

    def __post_init__(self):
        for field in dataclasses.fields(self):      # plain Python numbers, as stored in files
            object.__setattr__(self, field.name, field.type(getattr(self, field.name)))
        for width, what in ((self.embed_dim_ratio, 'embed_dim_ratio'),
                            (self.num_joints * self.embed_dim_ratio, 'num_joints*embed_dim_ratio')):
            if width % self.num_heads:
                raise ValueError(f'ModelConfig: {what}={width} is not divisible by num_heads={self.num_heads}')

    def to_dict(self):
        """Plain dict with the stored keys (``qk_scale`` None), e.g. for a checkpoint's ``config``."""
        return {key: getattr(self, key, None) for key in self._keys()}

    def _keys(self):
        return _STORED_KEYS + _CAUSAL_KEY if self.causal else _STORED_KEYS

    @classmethod
    def from_dict(cls, stored):
        """The config of a stored dict (`to_dict`'s keys; missing keys take the defaults).

        Raises ValueError for an unknown key or a ``qk_scale`` other than None.
        """
        stored = dict(stored)
        if stored.pop('qk_scale', None) is not None:
            raise ValueError('ModelConfig: only qk_scale=None is supported (attention scale head_dim ** -0.5)')
        unknown = sorted(set(stored) - set(_STORED_KEYS + _CAUSAL_KEY))
        if unknown:
            raise ValueError(f'ModelConfig: unknown settings {", ".join(unknown)}')
        return cls(**stored)

    def replace(self, **changes):
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    # read-only mapping of the constructor keyword arguments
    def __getitem__(self, key):
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key, None)

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())
