"""PoseFormer: a spatial transformer per frame, then a temporal transformer over frames.

Input ``(B, F, J, C_in)`` 2D keypoints (normalised screen coordinates, ``C_in = 2``);
output ``(B, 1, J, 3)``: the 3D pose of the window's target frame, root-relative, in metres. The
target is the centre frame, or with ``causal`` the last one (the architecture is the same; only
the windows it is trained and evaluated on differ, see `common.windows.window_padding`).

Stages (c = ``embed_dim_ratio``):

* spatial, per frame: each joint is a token. ``Linear(C_in -> c)`` + learned joint embedding,
  ``depth`` pre-norm transformer blocks of width c, ``Spatial_norm``; the J tokens of a frame are
  then concatenated joint-major into one vector of size ``J*c`` (``'(b f) j c -> b f (j c)'``).
* temporal: each frame is a token of width ``J*c``. Learned frame embedding, ``depth`` blocks,
  ``Temporal_norm``, a learned weighted mean over frames (``Conv1d(F -> 1, kernel 1)`` with the
  frames as channels), then ``LayerNorm + Linear(J*c -> J*3)``.

Parameter names and shapes are those of the official release, so its ``model_pos`` state_dict
(once the ``module.`` prefix is stripped, see ``common.model.release``) loads with ``strict=True``.
The transformer blocks are ``timm.models.vision_transformer.Block`` (parameter names ``norm1``,
``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``; GELU; fused
``F.scaled_dot_product_attention`` when timm enables it).

The forward pass is split into ``forward_spatial`` (strictly per frame) and ``forward_temporal``
so that evaluation can embed every frame of a video once and then slide the temporal stage over
windows of cached features.
"""

from functools import partial

import torch
from einops import rearrange
from timm.models.vision_transformer import Block
from torch import nn

from common.model import fused_spatial
from common.model.config import ModelConfig
from common.windows import window_padding

__all__ = ["PoseTransformer"]

# On the CPU, spatial attention heads this narrow or narrower use the explicit form (see `choose_attention`).
CPU_EXPLICIT_MAX_HEAD_DIM = 2


class PoseTransformer(nn.Module):
    """PoseFormer with the official constructor arguments.

    Args:
        num_frame: F, frames per input window (the receptive field; odd for a centred model).
        num_joints: J, joints per frame.
        in_chans: input channels per joint (2 for 2D keypoints).
        embed_dim_ratio: c, width of a joint token; a frame token has width ``J*c``.
        depth: number of blocks in each of the spatial and the temporal stack.
        num_heads: attention heads in every block (c and ``J*c`` must be divisible by it).
        mlp_ratio: hidden width of each block's MLP relative to the block width.
        qkv_bias: bias in the q/k/v projection.
        qk_scale: must be None (attention scale is ``head_dim ** -0.5``); timm's fused attention
            has no way to override it, so any other value raises ``ValueError``.
        drop_rate: dropout after the position embeddings, the attention projection and the MLP.
        attn_drop_rate: dropout on the attention weights.
        drop_path_rate: stochastic depth; block i of each stack drops its residual branches with
            probability ``linspace(0, drop_path_rate, depth)[i]``.
        causal: the window's target is its last frame instead of its centre frame.
        norm_layer: norm constructor for the blocks and the two stage norms; default
            ``partial(nn.LayerNorm, eps=1e-6)``. It is not recorded in ``config``.

    The keyword defaults are the official release's (``num_frame=9``, ``drop_path_rate=0.2``);
    a run's defaults are `ModelConfig`'s. Build from a config with ``PoseTransformer(**config)``.

    Attributes:
        config: the `ModelConfig` of the constructor arguments (except ``norm_layer``); it is
            also a mapping, so ``PoseTransformer(**model.config)`` rebuilds the model and
            ``dict(model.config)`` is the plain dict stored in checkpoints.
        causal: whether the target is the window's last frame.
        frames_after_target: frames of a window after its target: 0 for a causal model, (F-1)/2
            for a centred one (the latency of streaming, `common.streaming.Lifter`).
        spatial_kernel: how `forward_spatial` runs the spatial blocks: ``'pytorch'`` (default:
            always the timm blocks; the kernels are opt-in until validated on a GPU), ``'auto'``
            (the fused Triton kernels of `common.model.fused_spatial` on CUDA when triton imports
            and the configuration is supported, else PyTorch) or ``'triton'`` (always the kernels;
            an error when they cannot run). Same
            parameters and results either way (up to rounding); not stored in checkpoints.
    """

    def __init__(self, num_frame=9, num_joints=17, in_chans=2, embed_dim_ratio=32, depth=4,
                 num_heads=8, mlp_ratio=2., qkv_bias=True, qk_scale=None, drop_rate=0.,
                 attn_drop_rate=0., drop_path_rate=0.2, causal=False, norm_layer=None):
        super().__init__()
        if qk_scale is not None:
            raise ValueError(
                f"PoseTransformer: qk_scale={qk_scale!r} is not supported; the attention scale is "
                "always head_dim ** -0.5 (qk_scale=None), which is what the released models use")
        self.config = cfg = ModelConfig(
            num_frame=num_frame, num_joints=num_joints, in_chans=in_chans,
            embed_dim_ratio=embed_dim_ratio, depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
            drop_path_rate=drop_path_rate, causal=causal)
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.num_frame = cfg.num_frame
        self.num_joints = cfg.num_joints
        self.in_chans = cfg.in_chans
        self.causal = cfg.causal
        self.frames_after_target = window_padding(cfg.num_frame, cfg.causal)[1]
        self.embed_dim_ratio = c = cfg.embed_dim_ratio
        width = cfg.num_joints * c

        self.Spatial_patch_to_embedding = nn.Linear(cfg.in_chans, c)
        self.Spatial_pos_embed = nn.Parameter(torch.zeros(1, cfg.num_joints, c))     # (1, J, c)
        self.Temporal_pos_embed = nn.Parameter(torch.zeros(1, cfg.num_frame, width))  # (1, F, J*c)
        self.pos_drop = nn.Dropout(p=cfg.drop_rate)

        drop_path = [float(r) for r in torch.linspace(0, cfg.drop_path_rate, cfg.depth)]

        def make_block(dim, i):
            return Block(dim=dim, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio,
                         qkv_bias=cfg.qkv_bias, proj_drop=cfg.drop_rate,
                         attn_drop=cfg.attn_drop_rate, drop_path=drop_path[i],
                         norm_layer=norm_layer)

        self.Spatial_blocks = nn.ModuleList([make_block(c, i) for i in range(cfg.depth)])
        self.blocks = nn.ModuleList([make_block(width, i) for i in range(cfg.depth)])
        self.Spatial_norm = norm_layer(c)
        self.Temporal_norm = norm_layer(width)
        self.weighted_mean = nn.Conv1d(in_channels=cfg.num_frame, out_channels=1, kernel_size=1)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, cfg.num_joints * 3))
        # The fused Triton spatial stage is opt-in ('auto' or 'triton') until a GPU run has
        # validated it (benchmarks/cuda_check.sh); the PyTorch blocks stay the default everywhere.
        self.spatial_kernel = 'pytorch'
        self.choose_attention('cpu')

    def choose_attention(self, device):
        """Use the faster of two equal ways to compute the spatial stage's attention on `device`.

        The spatial stage attends over J = 17 tokens with a head dimension of c / heads (4 in the
        paper's configuration, 2 in the quick start's: c = 16, 8 heads). The explicit
        ``softmax(q k^T / sqrt(d)) v`` is used on CUDA, where PyTorch's fused attention pads such
        heads to 32 and ran 3.5x slower (forward + backward of (B*F, 8, 17, 4), H200:
        benchmarks/bench_gpu.py), and on the CPU for heads of `CPU_EXPLICIT_MAX_HEAD_DIM` channels or
        fewer, where the fused kernel's per-head overhead dominates (quick-start training step
        1.11-1.19x faster with the explicit form on a 2-core AMD EPYC: ``python
        benchmarks/bench_attention.py``, table in benchmarks/README.md). Heads of 4 keep the fused
        kernel on the CPU: on a Sapphire Rapids Xeon the explicit form of that stage was 2x slower
        (benchmarks/README.md, "Where the step time goes"), while on the EPYC it was 1.09x faster;
        no machine has shown the explicit form slower for heads of 2. The temporal stage always uses
        the fused kernel. Weights and results are the same up to rounding. The constructor applies
        the CPU choice. Returns the model.

        Where the fused spatial stage applies (`spatial_kernel`, CUDA with triton), it replaces
        these blocks altogether; the flag then matters only for the fallback.
        """
        head_dim = self.embed_dim_ratio // self.config.num_heads
        explicit = torch.device(device).type == 'cuda' or head_dim <= CPU_EXPLICIT_MAX_HEAD_DIM
        for blk in self.Spatial_blocks:
            blk.attn.fused_attn = not explicit
        return self

    def forward_spatial(self, x):
        """Spatial stage: ``(B, F, J, C_in)`` keypoints -> ``(B, F, J*c)`` frame features.

        Every frame is processed on its own (F may differ from ``num_frame`` here), so features
        of a video can be computed once per frame and reused by overlapping windows.
        """
        if x.dim() != 4 or x.shape[2] != self.num_joints or x.shape[3] != self.in_chans:
            raise ValueError(
                f"PoseTransformer.forward_spatial: expected input (B, F, {self.num_joints}, "
                f"{self.in_chans}), got {tuple(x.shape)}")
        frames = x.shape[1]
        x = rearrange(x, 'b f j c -> (b f) j c')          # every frame on its own: (B*F, J, C_in)
        if self.spatial_kernel != 'pytorch' and fused_spatial.use_fused_spatial(self, x):
            x = fused_spatial.fused_spatial_stage(self, x)  # the same stage in Triton kernels: (B*F, J, c)
        else:
            x = self.Spatial_patch_to_embedding(x)        # (B*F, J, c)
            x = self.pos_drop(x + self.Spatial_pos_embed)
            for blk in self.Spatial_blocks:
                x = blk(x)
            x = self.Spatial_norm(x)
        return rearrange(x, '(b f) j c -> b f (j c)', f=frames)  # joint-major frame tokens

    def forward_temporal(self, feats):
        """Temporal stage: ``(B, F, J*c)`` frame features -> ``(B, 1, J, 3)`` pose of the target frame."""
        width = self.num_joints * self.embed_dim_ratio
        if feats.dim() != 3 or feats.shape[1] != self.num_frame or feats.shape[2] != width:
            raise ValueError(
                f"PoseTransformer.forward_temporal: expected features (B, {self.num_frame}, "
                f"{width}), got {tuple(feats.shape)}")
        x = self.pos_drop(feats + self.Temporal_pos_embed)  # (B, F, J*c)
        for blk in self.blocks:
            x = blk(x)
        x = self.Temporal_norm(x)
        x = self.weighted_mean(x)                           # frames are channels: (B, 1, J*c)
        x = self.head(x)                                    # (B, 1, J*3)
        return rearrange(x, 'b 1 (j xyz) -> b 1 j xyz', xyz=3)

    def forward(self, x):
        """``(B, F, J, C_in)`` -> ``(B, 1, J, 3)``: ``forward_temporal(forward_spatial(x))``."""
        return self.forward_temporal(self.forward_spatial(x))


