"""The spatial stage through fused Triton kernels: one kernel per block, forward and backward.

`PoseTransformer` stays the definition (same parameters, same checkpoints); this module runs its
spatial blocks with the kernels of `common.model.fused_spatial_kernels` instead of timm's
``Block`` modules. Per block, the forward kernel reads the ``(N, J, c)`` residual stream once and
writes it once (N = B*F frames), keeping a tile of frames' tokens on chip through LayerNorm ->
qkv -> attention -> projection -> residual -> LayerNorm -> MLP (exact erf GELU) -> residual; the
backward kernel recomputes the block from its saved input. The joint embedding, the position
embedding and ``Spatial_norm`` stay PyTorch ops (one small op each, which ``torch.compile``
fuses anyway).

Selection (`PoseTransformer.spatial_kernel`): ``'auto'`` (the default) uses the kernels on CUDA
when triton is importable and `unsupported_reason` finds nothing against the model and input;
``'triton'`` forces them (an error if they cannot run; on the CPU only under Triton's interpreter,
``TRITON_INTERPRET=1``); ``'pytorch'`` never uses them. Untested on a real GPU so far: see the
README section "Fused spatial stage (Triton)".

Stochastic depth is supported: the per-frame keep/drop scales are drawn here in the order and
shape timm's ``DropPath`` draws them (``drop_path1`` then ``drop_path2`` of each block, one value
per frame), so with the same seed the fused stage drops the same frames as the PyTorch one.
Dropout (``drop_rate``, ``attn_drop_rate`` > 0 in training) is not: such a model keeps PyTorch.
"""
import math
import os

import torch
from torch import nn

__all__ = ['SPATIAL_KERNELS', 'triton_available', 'unsupported_reason', 'use_fused_spatial',
           'fused_spatial_blocks', 'spatial_block']

SPATIAL_KERNELS = ('auto', 'triton', 'pytorch')
# Tuning knobs for the GPU (module globals, read at each launch; not yet tuned on real hardware):
BLOCK_FRAMES = 2            # frames per tile: R = 2 * 32 rows for J = 17
FORWARD_WARPS = 4           # warps per program of the forward kernel
BACKWARD_WARPS = 8          # the backward kernel holds the weight gradients and the whole block's activations
_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

_kernels = None


def interpreted():
    """Whether Triton kernels defined now run in Triton's CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get('TRITON_INTERPRET', '0').lower() in ('1', 'true', 'on', 'yes')


def triton_available():
    """Whether triton imports (the kernels are defined lazily, on first use)."""
    try:
        import triton  # noqa: F401
    except Exception:
        return False
    return True


def kernels():
    """The kernel module (imported on first use, so TRITON_INTERPRET may be set before)."""
    global _kernels
    if _kernels is None:
        from common.model import fused_spatial_kernels
        _kernels = fused_spatial_kernels
    return _kernels


def _pow2(n):
    return n > 0 and n & (n - 1) == 0


def unsupported_reason(model, x=None):
    """Why the fused kernels cannot run `model`'s spatial blocks (on input `x`), or None.

    Requirements: timm blocks as `PoseTransformer` builds them (LayerNorm with affine weights,
    qkv without q/k norm, no layer scale, exact GELU); c a power of two in [16, 128] (every
    ``tl.dot`` contracts over c, the MLP width or the tile's rows; 16-bit operands need >= 16 on
    NVIDIA GPUs), an MLP width ``mlp_ratio * c`` a power of two <= 512, c divisible by the heads,
    J <= 64; no dropout while training; float32, bfloat16 or float16 tensors.
    """
    from timm.layers import Mlp
    from timm.models.vision_transformer import Attention, Block
    blocks = list(model.Spatial_blocks)
    if not blocks:
        return 'no spatial blocks'
    c = model.embed_dim_ratio
    if not (_pow2(c) and 16 <= c <= 128):
        return f'embed_dim_ratio={c} (needs a power of two from 16 to 128)'
    if model.num_joints > 64:
        return f'num_joints={model.num_joints} (at most 64)'
    for i, blk in enumerate(blocks):
        what = f'Spatial_blocks[{i}]'
        if type(blk) is not Block or type(blk.attn) is not Attention or type(blk.mlp) is not Mlp:
            return f'{what} is not a timm Block with Attention and Mlp'
        for name in ('norm1', 'norm2'):
            norm = getattr(blk, name)
            if type(norm) is not nn.LayerNorm or norm.weight is None or norm.bias is None:
                return f'{what}.{name} is not an affine nn.LayerNorm'
        attn, mlp = blk.attn, blk.mlp
        if attn.num_heads * attn.head_dim != c or c % attn.num_heads:
            return f'{what}: {attn.num_heads} heads do not divide c={c}'
        if not (isinstance(attn.q_norm, nn.Identity) and isinstance(attn.k_norm, nn.Identity)
                and isinstance(attn.norm, nn.Identity) and getattr(attn, 'gate', None) is None
                and isinstance(blk.ls1, nn.Identity) and isinstance(blk.ls2, nn.Identity)
                and isinstance(mlp.norm, nn.Identity)):
            return f'{what} has q/k norm, gating or layer scale'
        if type(mlp.act) is not nn.GELU or mlp.act.approximate != 'none':
            return f'{what}.mlp.act is not the exact GELU'
        if attn.proj.bias is None or mlp.fc1.bias is None or mlp.fc2.bias is None:
            return f'{what}: projection or MLP without bias'
        hid = mlp.fc1.out_features
        if not (_pow2(hid) and 16 <= hid <= 512):
            return f'{what}: MLP width {hid} (needs a power of two from 16 to 512)'
        if model.training and (attn.attn_drop.p > 0 or attn.proj_drop.p > 0
                               or mlp.drop1.p > 0 or mlp.drop2.p > 0):
            return f'{what}: dropout in training'
    if model.training and model.pos_drop.p > 0:
        return 'pos_drop: dropout in training'
    if x is not None:
        if x.dtype not in _DTYPES:
            return f'input dtype {x.dtype}'
        if x.device.type != 'cuda' and not interpreted():
            return f'device {x.device.type} (the kernels run on CUDA, or anywhere with TRITON_INTERPRET=1)'
    return None


def use_fused_spatial(model, x):
    """The selection of `PoseTransformer.forward_spatial`: True to run the fused kernels on `x`.

    ``'auto'``: CUDA input, triton importable, nothing against it (`unsupported_reason`).
    ``'triton'``: always; raises ValueError naming the reason when they cannot run.
    """
    choice = getattr(model, 'spatial_kernel', 'auto')
    if choice == 'pytorch':
        return False
    if choice not in SPATIAL_KERNELS:
        raise ValueError(f'spatial_kernel={choice!r}: expected one of {", ".join(SPATIAL_KERNELS)}')
    if choice == 'auto' and (x.device.type != 'cuda' or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        return False                                    # (ONNX / TorchScript export records the PyTorch blocks)
    reason = None if triton_available() else 'triton is not importable'
    reason = reason or unsupported_reason(model, x)
    if reason is None:
        return True
    if choice == 'triton':
        raise ValueError(f"spatial_kernel='triton' cannot run this model: {reason}")
    return False


def _dot_settings(x):
    """(operand dtype of tl.dot, float32 precision) matching what PyTorch would do here."""
    import triton.language as tl
    if x.device.type == 'cuda' and torch.is_autocast_enabled('cuda'):
        dtype = torch.get_autocast_dtype('cuda')
    else:
        dtype = x.dtype
    dot = {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}.get(dtype, tl.float32)
    tf32 = x.device.type == 'cuda' and torch.backends.cuda.matmul.allow_tf32
    return dot, 'tf32' if tf32 else 'ieee'


def _programs(n_tiles, device):
    """Programs of the backward kernel: each sums its tiles' weight gradients in registers."""
    if device.type == 'cuda':
        return max(1, min(n_tiles, 4 * torch.cuda.get_device_properties(device).multi_processor_count))
    return max(1, min(n_tiles, 2))          # the interpreter: still more than one program


def _grad_layout(c, hid):
    """(name, shape) of the weight gradients in a backward program's row, in the kernel's order."""
    return (('ln1_w', (c,)), ('ln1_b', (c,)), ('wq', (c, c)), ('wk', (c, c)), ('wv', (c, c)),
            ('bq', (c,)), ('bk', (c,)), ('bv', (c,)), ('proj_w', (c, c)), ('proj_b', (c,)),
            ('ln2_w', (c,)), ('ln2_b', (c,)), ('fc1_w', (hid, c)), ('fc1_b', (hid,)),
            ('fc2_w', (c, hid)), ('fc2_b', (c,)))


class SpatialBlockFunction(torch.autograd.Function):
    """One spatial block, ``(N, J, c) -> (N, J, c)``, through the Triton kernels.

    Inputs: x, then the block's tensors ln1_w, ln1_b, qkv_w (3c, c), qkv_b (3c,) (zeros when the
    model has no qkv bias), proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b, then the
    stochastic-depth scales s1, s2 ((N,) float32, or None), then the settings tuple
    (heads, eps1, eps2). Saves only x (and the small tensors); backward recomputes the block.
    """

    @staticmethod
    def forward(ctx, x, ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b,
                fc2_w, fc2_b, s1, s2, settings):
        heads, eps1, eps2 = settings
        x = x.contiguous()
        n, j, c = x.shape
        hid = fc1_w.shape[0]
        weights = [t.contiguous() for t in (ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b,
                                            fc1_w, fc1_b, fc2_w, fc2_b)]
        dot_dtype, precision = _dot_settings(x)
        jp = max(16, 1 << (j - 1).bit_length())
        y = torch.empty_like(x)
        n_tiles = -(-n // BLOCK_FRAMES)
        has_dp = s1 is not None
        if n:
            kernels().spatial_block_fwd[(n_tiles,)](
                x, y, s1 if has_dp else x, s2 if has_dp else x, *weights,
                n, eps1, eps2, (c // heads) ** -0.5,
                J=j, JP=jp, C=c, HID=hid, HEADS=heads, BLOCK_F=BLOCK_FRAMES, HAS_DP=has_dp,
                DOT_DTYPE=dot_dtype, PRECISION=precision, num_warps=FORWARD_WARPS)
        ctx.save_for_backward(x, s1, s2, *weights)
        ctx.settings = (heads, eps1, eps2, jp, hid, dot_dtype, precision, has_dp)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, s1, s2, *weights = ctx.saved_tensors
        heads, eps1, eps2, jp, hid, dot_dtype, precision, has_dp = ctx.settings
        n, j, c = x.shape
        dy = dy.contiguous()
        dx = torch.empty_like(x)
        n_tiles = -(-n // BLOCK_FRAMES)
        programs = _programs(n_tiles, x.device)
        layout = _grad_layout(c, hid)
        total = sum(math.prod(shape) for _, shape in layout)
        partial = torch.empty(programs, total, dtype=torch.float32, device=x.device)  # every program writes its row
        if n:
            kernels().spatial_block_bwd[(programs,)](
                x, dy, dx, s1 if has_dp else x, s2 if has_dp else x, partial, *weights,
                n, n_tiles, eps1, eps2, (c // heads) ** -0.5,
                J=j, JP=jp, C=c, HID=hid, HEADS=heads, BLOCK_F=BLOCK_FRAMES, HAS_DP=has_dp,
                DOT_DTYPE=dot_dtype, PRECISION=precision, num_warps=BACKWARD_WARPS)
        flat = partial.sum(0) if n else partial.zero_().sum(0)
        grads, start = {}, 0
        for name, shape in layout:
            size = math.prod(shape)
            grads[name] = flat[start:start + size].view(shape)
            start += size
        ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b = weights

        def cast(g, like):
            return g.to(like.dtype)

        d_qkv_w = torch.cat([grads['wq'], grads['wk'], grads['wv']])
        d_qkv_b = torch.cat([grads['bq'], grads['bk'], grads['bv']])
        return (dx, cast(grads['ln1_w'], ln1_w), cast(grads['ln1_b'], ln1_b), cast(d_qkv_w, qkv_w),
                cast(d_qkv_b, qkv_b), cast(grads['proj_w'], proj_w), cast(grads['proj_b'], proj_b),
                cast(grads['ln2_w'], ln2_w), cast(grads['ln2_b'], ln2_b), cast(grads['fc1_w'], fc1_w),
                cast(grads['fc1_b'], fc1_b), cast(grads['fc2_w'], fc2_w), cast(grads['fc2_b'], fc2_b),
                None, None, None)


def _drop_scale(blk_drop_path, n, x):
    """Stochastic depth's per-frame scale of one residual branch ((N,) float32), or None.

    Drawn as timm's ``drop_path`` draws it (``bernoulli_(keep)`` of one value per frame, then
    ``/ keep``), so the random stream is consumed the same way as by the PyTorch blocks.
    """
    p = getattr(blk_drop_path, 'drop_prob', 0.0)
    if not blk_drop_path.training or p == 0.0:
        return None
    keep = 1.0 - p
    scale = x.new_empty((n, 1, 1), dtype=torch.float32).bernoulli_(keep)
    if keep > 0.0:
        scale.div_(keep)
    return scale.view(n)


def spatial_block(blk, x, draw_drop_path=True):
    """One timm spatial ``Block`` through the kernels: ``(N, J, c)`` -> ``(N, J, c)``, differentiable."""
    n = x.shape[0]
    s1 = _drop_scale(blk.drop_path1, n, x) if draw_drop_path else None
    s2 = _drop_scale(blk.drop_path2, n, x) if draw_drop_path else None
    if (s1 is None) != (s2 is None):              # both or neither (drop_path1/2 share a rate)
        s1 = s1 if s1 is not None else torch.ones(n, device=x.device)
        s2 = s2 if s2 is not None else torch.ones(n, device=x.device)
    attn, mlp = blk.attn, blk.mlp
    qkv_b = attn.qkv.bias if attn.qkv.bias is not None else x.new_zeros(attn.qkv.out_features,
                                                                       dtype=attn.qkv.weight.dtype)
    return SpatialBlockFunction.apply(
        x, blk.norm1.weight, blk.norm1.bias, attn.qkv.weight, qkv_b, attn.proj.weight, attn.proj.bias,
        blk.norm2.weight, blk.norm2.bias, mlp.fc1.weight, mlp.fc1.bias, mlp.fc2.weight, mlp.fc2.bias,
        s1, s2, (attn.num_heads, float(blk.norm1.eps), float(blk.norm2.eps)))


@torch.compiler.disable
def fused_spatial_blocks(model, x):
    """``model.Spatial_blocks`` applied to ``x`` ``(B*F, J, c)`` through the kernels (same result).

    Excluded from ``torch.compile`` graphs (a graph break): the kernels are already fused, and
    dynamo does not trace through the autograd function's launches.
    """
    for blk in model.Spatial_blocks:
        x = spatial_block(blk, x)
    return x
