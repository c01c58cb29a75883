"""The spatial stage through fused Triton kernels: one kernel per block, forward and backward.

`PoseTransformer` stays the definition (same parameters, same checkpoints); this module runs its
spatial stage with the kernels of `common.model.fused_spatial_kernels` instead of timm's
``Block`` modules. Per block, the forward kernel reads the ``(N, J, c)`` residual stream once and
writes it once (N = B*F frames), keeping a tile of frames' tokens on chip through LayerNorm ->
qkv -> attention -> projection -> residual -> LayerNorm -> MLP (exact erf GELU) -> residual; the
backward kernel recomputes the block from its saved input. The first block's kernel also does
the joint embedding (``Linear(C_in -> c)`` + ``Spatial_pos_embed``) from the raw keypoints, the
last one's ``Spatial_norm``, so the stage reads the keypoints and writes its features once, plus
one ``(N, J, c)`` tensor between consecutive blocks.

Selection (`PoseTransformer.spatial_kernel`, ``'pytorch'`` by default until a GPU run has
validated the kernels): ``'auto'`` uses the kernels on CUDA
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
           'fused_spatial_stage', 'spatial_block']

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
    norm, emb = model.Spatial_norm, model.Spatial_patch_to_embedding
    if type(norm) is not nn.LayerNorm or norm.weight is None or norm.bias is None:
        return 'Spatial_norm is not an affine nn.LayerNorm'
    if type(emb) is not nn.Linear or emb.bias is None or model.in_chans > 16:
        return 'Spatial_patch_to_embedding is not a Linear with bias from at most 16 channels'
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
    tf32 = x.device.type == 'cuda' and _tf32_matmuls()
    return dot, 'tf32' if tf32 else 'ieee'


def _tf32_matmuls():
    """Whether PyTorch's float32 CUDA matmuls use TF32 now (legacy flag, or the newer fp32_precision)."""
    try:
        return bool(torch.backends.cuda.matmul.allow_tf32)
    except RuntimeError:            # the legacy and the new API were mixed: the new one decides
        return getattr(torch.backends.cuda.matmul, 'fp32_precision', 'ieee') == 'tf32'


def _programs(n_tiles, device):
    """Programs of the backward kernel: each sums its tiles' weight gradients in registers."""
    if device.type == 'cuda':
        return max(1, min(n_tiles, 4 * torch.cuda.get_device_properties(device).multi_processor_count))
    return max(1, min(n_tiles, 2))          # the interpreter: still more than one program


def _grad_layout(c, hid, cin=None, j=None, final_norm=False):
    """(name, shape) of the weight gradients in a backward program's row, in the kernel's order.

    ``cin``/``j`` given: the block embeds the raw input (the stage's first block); ``final_norm``:
    it ends with the stage's norm (the last block).
    """
    layout = (('ln1_w', (c,)), ('ln1_b', (c,)), ('wq', (c, c)), ('wk', (c, c)), ('wv', (c, c)),
              ('bq', (c,)), ('bk', (c,)), ('bv', (c,)), ('proj_w', (c, c)), ('proj_b', (c,)),
              ('ln2_w', (c,)), ('ln2_b', (c,)), ('fc1_w', (hid, c)), ('fc1_b', (hid,)),
              ('fc2_w', (c, hid)), ('fc2_b', (c,)))
    if cin is not None:
        layout += (('emb_w', (c, cin)), ('emb_b', (c,)), ('pos', (j, c)))
    if final_norm:
        layout += (('norm_w', (c,)), ('norm_b', (c,)))
    return layout


_BLOCK_WEIGHTS = ('ln1_w', 'ln1_b', 'qkv_w', 'qkv_b', 'proj_w', 'proj_b', 'ln2_w', 'ln2_b',
                  'fc1_w', 'fc1_b', 'fc2_w', 'fc2_b')


class SpatialBlockFunction(torch.autograd.Function):
    """One spatial block through the Triton kernels, optionally with the stage's embedding and norm.

    Inputs: x, then the block's tensors ln1_w, ln1_b, qkv_w (3c, c), qkv_b (3c,) (zeros when the
    model has no qkv bias), proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b, then the
    stochastic-depth scales s1, s2 ((N,) float32, or None), then emb_w (c, C_in), emb_b (c,),
    pos (J, c) (all None, or given for the stage's first block: x is then the raw input
    ``(N, J, C_in)``), norm_w, norm_b (None, or the stage's norm for the last block), then the
    settings tuple (heads, eps1, eps2, eps3). ``(N, J, c or C_in) -> (N, J, c)``. Saves only x
    (and the small tensors); backward recomputes the block.
    """

    @staticmethod
    def forward(ctx, x, ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b,
                fc2_w, fc2_b, s1, s2, emb_w, emb_b, pos, norm_w, norm_b, settings):
        heads, eps1, eps2, eps3 = settings
        x = x.contiguous()
        n, j, cin = x.shape
        c, hid = ln1_w.shape[0], fc1_w.shape[0]
        embed, final_norm = emb_w is not None, norm_w is not None
        weights = [t.contiguous() for t in (ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b,
                                            fc1_w, fc1_b, fc2_w, fc2_b)]
        extra = [t.contiguous() if t is not None else ln1_w for t in (emb_w, emb_b, pos, norm_w, norm_b)]
        dot_dtype, precision = _dot_settings(x)
        jp = max(16, 1 << (j - 1).bit_length())
        y = x.new_empty((n, j, c), dtype=ln1_w.dtype if embed else x.dtype)
        n_tiles = -(-n // BLOCK_FRAMES)
        has_dp = s1 is not None
        if n:
            kernels().spatial_block_fwd[(n_tiles,)](
                x, y, s1 if has_dp else x, s2 if has_dp else x, *weights, *extra,
                n, eps1, eps2, eps3, (c // heads) ** -0.5,
                J=j, JP=jp, C=c, HID=hid, HEADS=heads, BLOCK_F=BLOCK_FRAMES, HAS_DP=has_dp,
                EMBED=embed, CIN=cin, CINP=1 << (cin - 1).bit_length(), FINAL_NORM=final_norm,
                DOT_DTYPE=dot_dtype, PRECISION=precision, num_warps=FORWARD_WARPS)
        ctx.save_for_backward(x, s1, s2, *weights, *extra)
        ctx.settings = (heads, eps1, eps2, eps3, jp, c, hid, dot_dtype, precision, has_dp, embed, final_norm)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, s1, s2, *tensors = ctx.saved_tensors
        weights, extra = tensors[:12], tensors[12:]
        heads, eps1, eps2, eps3, jp, c, hid, dot_dtype, precision, has_dp, embed, final_norm = ctx.settings
        n, j, cin = x.shape
        dy = dy.contiguous()
        dx = torch.empty_like(x)
        n_tiles = -(-n // BLOCK_FRAMES)
        programs = _programs(n_tiles, x.device)
        layout = _grad_layout(c, hid, cin if embed else None, j, final_norm)
        total = sum(math.prod(shape) for _, shape in layout)
        partial = torch.empty(programs, total, dtype=torch.float32, device=x.device)  # every program writes its row
        if n:
            kernels().spatial_block_bwd[(programs,)](
                x, dy, dx, s1 if has_dp else x, s2 if has_dp else x, partial, *weights, *extra,
                n, n_tiles, total, eps1, eps2, eps3, (c // heads) ** -0.5,
                J=j, JP=jp, C=c, HID=hid, HEADS=heads, BLOCK_F=BLOCK_FRAMES, HAS_DP=has_dp,
                EMBED=embed, CIN=cin, CINP=1 << (cin - 1).bit_length(), FINAL_NORM=final_norm,
                DOT_DTYPE=dot_dtype, PRECISION=precision, num_warps=BACKWARD_WARPS)
        flat = partial.sum(0) if n else partial.zero_().sum(0)
        grads, start = {}, 0
        for name, shape in layout:
            size = math.prod(shape)
            grads[name] = flat[start:start + size].view(shape)
            start += size
        grads['qkv_w'] = torch.cat([grads.pop('wq'), grads.pop('wk'), grads.pop('wv')])
        grads['qkv_b'] = torch.cat([grads.pop('bq'), grads.pop('bk'), grads.pop('bv')])
        out = [grads[name].to(w.dtype) for name, w in zip(_BLOCK_WEIGHTS, weights)]
        out += [None, None]                                     # s1, s2
        for name, w in zip(('emb_w', 'emb_b', 'pos', 'norm_w', 'norm_b'), extra):
            out.append(grads[name].to(w.dtype) if name in grads else None)
        return (dx, *out, None)


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


def spatial_block(blk, x, embedding=None, final_norm=None):
    """One timm spatial ``Block`` through the kernels, differentiable: ``(N, J, c)`` -> ``(N, J, c)``.

    ``embedding``: (Linear(C_in -> c), pos (1, J, c)): x is the raw ``(N, J, C_in)`` input and the
    block starts with ``Linear(x) + pos``; ``final_norm``: a LayerNorm applied to the block's output.
    Stochastic depth's scales are drawn here, in timm's order (`_drop_scale`).
    """
    n = x.shape[0]
    s1 = _drop_scale(blk.drop_path1, n, x)
    s2 = _drop_scale(blk.drop_path2, n, x)
    if (s1 is None) != (s2 is None):              # both or neither (drop_path1/2 share a rate)
        s1 = s1 if s1 is not None else torch.ones(n, device=x.device)
        s2 = s2 if s2 is not None else torch.ones(n, device=x.device)
    attn, mlp = blk.attn, blk.mlp
    qkv_b = attn.qkv.bias if attn.qkv.bias is not None else attn.qkv.weight.new_zeros(attn.qkv.out_features)
    emb_w = emb_b = pos = norm_w = norm_b = None
    eps3 = 0.0
    if embedding is not None:
        linear, pos_embed = embedding
        emb_w, emb_b, pos = linear.weight, linear.bias, pos_embed[0]
    if final_norm is not None:
        norm_w, norm_b, eps3 = final_norm.weight, final_norm.bias, float(final_norm.eps)
    return SpatialBlockFunction.apply(
        x, blk.norm1.weight, blk.norm1.bias, attn.qkv.weight, qkv_b, attn.proj.weight, attn.proj.bias,
        blk.norm2.weight, blk.norm2.bias, mlp.fc1.weight, mlp.fc1.bias, mlp.fc2.weight, mlp.fc2.bias,
        s1, s2, emb_w, emb_b, pos, norm_w, norm_b,
        (attn.num_heads, float(blk.norm1.eps), float(blk.norm2.eps), eps3))


@torch.compiler.disable
def fused_spatial_stage(model, x):
    """The whole spatial stage of `model` through the kernels: raw ``(B*F, J, C_in)`` -> ``(B*F, J, c)``.

    ``Spatial_patch_to_embedding`` + ``Spatial_pos_embed`` run inside the first block's kernel and
    ``Spatial_norm`` inside the last one's (``pos_drop`` is the identity here: no dropout in
    training, see `unsupported_reason`). Same result as the PyTorch stage up to rounding.

    Excluded from ``torch.compile`` graphs (a graph break): the kernels are already fused, and
    dynamo does not trace through the autograd function's launches.
    """
    blocks = list(model.Spatial_blocks)
    for i, blk in enumerate(blocks):
        x = spatial_block(blk, x,
                          embedding=(model.Spatial_patch_to_embedding, model.Spatial_pos_embed) if i == 0 else None,
                          final_norm=model.Spatial_norm if i == len(blocks) - 1 else None)
    return x
