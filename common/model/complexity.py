"""Model size and compute: parameters and multiply-accumulates (MACs) per output frame.

MACs are counted by PyTorch's ``torch.utils.flop_counter.FlopCounterMode`` while the model runs
(MACs = FLOPs / 2). It counts exactly the products of the documented definition: ``nn.Linear``
``in * out`` per token (``addmm`` / ``mm``), ``nn.Conv1d`` ``in / groups * out * kernel`` per
output position, and attention's two matmuls ``q @ k^T`` and ``attn @ v`` (``2 * N * N * dim``
for N tokens); norms, softmax, GELU, bias and residual additions and dropout are not counted.

FlopCounterMode falls short in one place, measured with torch 2.14: on the CPU,
``F.scaled_dot_product_attention`` (timm's fused attention) runs as
``aten._scaled_dot_product_flash_attention_for_cpu``, which has no formula in torch's table, so
the attention matmuls were missing (11,301,600 instead of 11,556,192 MACs for the quick-start
model). `count_macs` adds that formula; the CUDA attention kernels and the explicit
``softmax(q @ k^T) @ v`` path (``bmm``) are counted by torch itself.
"""
import torch
from torch.utils.flop_counter import FlopCounterMode

from common.distributed import unwrap_model

__all__ = ["count_parameters", "count_macs", "macs_per_output_frame", "stage_macs"]


def _attention_flops(query_shape, key_shape, value_shape, *_args, **_kwargs):
    """FLOPs of ``softmax(q @ k^T) @ v`` for q ``(B, H, Nq, D)``, k ``(B, H, Nk, D)``, v ``(B, H, Nk, Dv)``."""
    batch, heads, n_query, dim = query_shape
    n_key, dim_v = key_shape[-2], value_shape[-1]
    return 2 * batch * heads * n_query * n_key * (dim + dim_v)


_CPU_ATTENTION = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
_MISSING_FORMULAS = {_CPU_ATTENTION: _attention_flops} if _CPU_ATTENTION is not None else {}


def count_parameters(model, trainable_only=False):
    """Number of parameter elements (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(fn):
    """Multiply-accumulates of the matrix products, convolutions and attention that ``fn()`` runs
    (under ``torch.no_grad``, autocast off); see the module doc for what counts.

    Autocast is switched off because under CUDA bf16 autocast torch counts its flash-attention
    kernels differently (measured: +4.5 % for the quick-start model, torch 2.11 on an H200); in
    fp32 the CPU and the CUDA counts are equal.
    """
    with torch.no_grad(), torch.autocast("cuda", enabled=False), torch.autocast("cpu", enabled=False), \
            FlopCounterMode(display=False, custom_mapping=_MISSING_FORMULAS) as counter:
        fn()
    return counter.get_total_flops() // 2


def _zeros(net, *shape):
    param = next(net.parameters())
    return torch.zeros(*shape, dtype=param.dtype, device=param.device)


def _in_eval_mode(net, fn):
    was_training = net.training
    try:
        net.eval()
        return count_macs(fn)
    finally:
        net.train(was_training)


def macs_per_output_frame(model):
    """MACs to predict one output frame from one window of F input frames.

    The whole window is counted, i.e. the spatial stage for all F frames (no reuse of per-frame
    features across windows, as a per-window model evaluates).

    Args:
        model: a PoseTransformer (possibly DDP/DataParallel-wrapped); F is its ``num_frame``.

    Returns:
        int. The model's train/eval mode is left as it was.
    """
    net = unwrap_model(model)
    window = _zeros(net, 1, net.num_frame, net.num_joints, net.in_chans)   # (B=1, F, J, C_in)
    return _in_eval_mode(net, lambda: net(window))


def stage_macs(model):
    """(spatial stage MACs for one frame, temporal stage MACs for one window) of a PoseTransformer.

    ``num_frame * spatial + temporal == macs_per_output_frame(model)``; evaluation that embeds
    each frame once needs ``spatial + temporal`` per output frame.
    """
    net = unwrap_model(model)
    frame = _zeros(net, 1, 1, net.num_joints, net.in_chans)                                  # (1, 1, J, C_in)
    features = _zeros(net, 1, net.num_frame, net.num_joints * net.embed_dim_ratio)          # (1, F, J*c)
    return (_in_eval_mode(net, lambda: net.forward_spatial(frame)),
            _in_eval_mode(net, lambda: net.forward_temporal(features)))
