"""The fused spatial stage (Triton kernels) against the PyTorch spatial stage: forward and gradients.

Without CUDA the kernels run in Triton's CPU interpreter (``TRITON_INTERPRET=1``, set before
triton is first imported: tests/conftest.py); with CUDA they run
compiled on the GPU. The interpreter is told the real NVIDIA minimum ``tl.dot`` sizes (K >= 8 for
float32 operands, K >= 16 for 16-bit ones), which it does not check by itself, so a kernel that
would not compile on a GPU for that reason fails here too.
"""
import importlib

import pytest
import torch

from common.model import fused_spatial
from common.model.poseformer import PoseTransformer

triton = pytest.importorskip('triton', reason='triton is not importable: the fused spatial stage cannot run')

CUDA = torch.cuda.is_available()
DEVICE = torch.device('cuda' if CUDA else 'cpu')


def _nvidia_min_dot_size(lhs_type, rhs_type):
    """NVIDIA's (triton.backends.nvidia.compiler.min_dot_size) lower bounds (M, N, K) of tl.dot."""
    return (1, 1, 8) if lhs_type.scalar.primitive_bitwidth == 32 else (1, 1, 16)


@pytest.fixture(scope='module', autouse=True)
def kernels():
    """The kernel module; without a GPU, under the interpreter told NVIDIA's tl.dot limits."""
    if CUDA:
        yield fused_spatial.kernels()
        return
    from triton.runtime import interpreter
    if not (fused_spatial.interpreted()
            and isinstance(triton.language.standard.sum, interpreter.InterpretedFunction)):
        pytest.skip('no GPU, and triton was imported before TRITON_INTERPRET=1 was set (tests/conftest.py '
                    'sets it; run with TRITON_INTERPRET=1)')
    saved_min = interpreter.interpreter_builder.codegen_fns['min_dot_size']
    interpreter.interpreter_builder.codegen_fns['min_dot_size'] = _nvidia_min_dot_size
    if fused_spatial._kernels is not None and not isinstance(fused_spatial._kernels.spatial_block_fwd,
                                                             interpreter.InterpretedFunction):
        fused_spatial._kernels = importlib.reload(fused_spatial._kernels)
    try:
        yield fused_spatial.kernels()
    finally:
        interpreter.interpreter_builder.codegen_fns['min_dot_size'] = saved_min


def _model(c, heads, depth, seed=0, **kwargs):
    """A small PoseTransformer with every parameter perturbed (LayerNorm weights not 1, biases not 0, ...)."""
    torch.manual_seed(seed)
    model = PoseTransformer(num_frame=5, embed_dim_ratio=c, depth=depth, num_heads=heads,
                            drop_path_rate=kwargs.pop('drop_path_rate', 0.0), **kwargs)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model.to(DEVICE)


def _run(model, x, kernel, grad_out):
    """forward_spatial with `kernel`; returns the output, the input's gradient and the parameters' gradients."""
    model.spatial_kernel = kernel
    model.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    out = model.forward_spatial(x)
    (out * grad_out).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), x.grad, grads


def _compare(model, batch, frames, seed=1, train=False):
    model.train(train)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, frames, model.num_joints, model.in_chans, generator=gen).to(DEVICE)
    c = model.embed_dim_ratio
    grad_out = (torch.randn(batch, frames, model.num_joints * c, generator=gen) / (batch * frames) ** 0.5).to(DEVICE)
    torch.manual_seed(seed)
    ref, ref_dx, ref_grads = _run(model, x, 'pytorch', grad_out)
    torch.manual_seed(seed)                 # the same stochastic-depth draws
    out, dx, grads = _run(model, x, 'triton', grad_out)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(dx, ref_dx, atol=1e-5, rtol=1e-5)
    spatial = {n for n in ref_grads if n.startswith('Spatial_')}
    assert spatial and set(grads) >= spatial
    assert {'Spatial_patch_to_embedding.weight', 'Spatial_pos_embed', 'Spatial_norm.weight'} <= spatial
    assert any(n.startswith('Spatial_blocks.') for n in spatial)
    for name in sorted(spatial):
        torch.testing.assert_close(grads[name], ref_grads[name], atol=1e-5, rtol=1e-5, msg=lambda m: f'{name}: {m}')
    return ref, out


def test_default_width_two_blocks_odd_batch():
    """c = 32, 8 heads (head dim 4), depth 2, 3 x 5 = 15 frames (not a multiple of the tile)."""
    _compare(_model(32, 8, 2), batch=3, frames=5)


def test_other_width_no_qkv_bias_one_block():
    """c = 16, 2 heads (head dim 8), depth 1, no qkv bias, one frame of one window."""
    model = _model(16, 2, 1, seed=3, qkv_bias=False)
    assert model.Spatial_blocks[0].attn.qkv.bias is None
    _compare(model, batch=1, frames=1, seed=4)


def test_training_with_stochastic_depth_draws_the_same_frames():
    """drop_path 0.5 in training: the fused stage drops the same frames as timm's DropPath (same seed)."""
    model = _model(16, 4, 2, seed=5, drop_path_rate=0.5)
    ref, out = _compare(model, batch=2, frames=5, seed=6, train=True)
    model.eval()
    model.spatial_kernel = 'pytorch'
    with torch.no_grad():
        x = torch.randn(2, 5, 17, 2, generator=torch.Generator().manual_seed(6)).to(DEVICE)
        assert not torch.allclose(model.forward_spatial(x), ref, atol=1e-3)  # frames were dropped


def test_whole_model_and_eval_mode():
    """The full model (spatial + temporal) in eval mode: same pose either way, no autograd."""
    model = _model(16, 4, 1, seed=7).eval()
    x = torch.randn(2, model.num_frame, 17, 2, generator=torch.Generator().manual_seed(8)).to(DEVICE)
    with torch.no_grad():
        model.spatial_kernel = 'pytorch'
        ref = model(x)
        model.spatial_kernel = 'triton'
        out = model(x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_selection():
    """'auto' picks the kernels only on CUDA; 'triton' refuses what they cannot run, naming why."""
    model = _model(16, 4, 1)
    x = torch.zeros(1, 2, 17, 2, device=DEVICE)
    emb = torch.zeros(2, 17, 16, device=DEVICE)
    assert model.spatial_kernel == 'pytorch'             # opt-in until validated on a GPU
    assert not fused_spatial.use_fused_spatial(model, emb)
    model.spatial_kernel = 'auto'
    assert fused_spatial.use_fused_spatial(model, emb) is CUDA
    model.spatial_kernel = 'pytorch'
    assert not fused_spatial.use_fused_spatial(model, emb)
    model.spatial_kernel = 'triton'
    assert fused_spatial.use_fused_spatial(model, emb)
    model.spatial_kernel = 'fast'
    with pytest.raises(ValueError, match='spatial_kernel'):
        model.forward_spatial(x)

    narrow = _model(8, 2, 1)                      # c = 8: below the GPU's tl.dot minimum for 16-bit operands
    assert 'embed_dim_ratio=8' in fused_spatial.unsupported_reason(narrow)
    narrow.spatial_kernel = 'triton'
    with pytest.raises(ValueError, match='embed_dim_ratio=8'):
        narrow.forward_spatial(x)
    narrow.spatial_kernel = 'auto'
    assert narrow.forward_spatial(x).shape == (1, 2, 17 * 8)   # falls back to PyTorch

    dropout = _model(16, 4, 1, drop_rate=0.1)
    assert 'dropout' in fused_spatial.unsupported_reason(dropout.train())
    assert fused_spatial.unsupported_reason(dropout.eval()) is None     # dropout is off in evaluation
    assert 'dtype' in fused_spatial.unsupported_reason(model, emb.double())


def test_half_precision_operands():
    """float16 model and input (16-bit tl.dot operands, K >= 16): as close to the fp32 stage as PyTorch's fp16.

    (bfloat16 takes the same path with another operand type; Triton's interpreter computes bfloat16
    ``tl.dot`` wrongly, so it is checked on a GPU only: benchmarks/cuda_check.sh.)
    """
    model = _model(16, 4, 2, seed=9).train()
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(2, 3, 17, 2, generator=gen).to(DEVICE)
    grad_out = (torch.randn(2, 3, 17 * 16, generator=gen) / 6 ** 0.5).to(DEVICE)
    ref, ref_dx, ref_grads = _run(model, x, 'pytorch', grad_out)
    model.half()
    out, dx, grads = _run(model, x.half(), 'triton', grad_out.half())
    assert out.dtype == dx.dtype == torch.float16
    torch.testing.assert_close(out.float(), ref, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(dx.float(), ref_dx, atol=1e-2, rtol=1e-2)
    for name, g in ref_grads.items():
        if name.startswith('Spatial_blocks.'):
            assert grads[name].dtype == torch.float16
            assert (grads[name].float() - g).abs().max() <= 1e-2 * g.abs().max(), name


def test_torch_compile_breaks_the_graph_only_around_the_kernels():
    """torch.compile (dynamo, eager backend) runs the model with the fused stage.

    Same result; the graph breaks only at the kernels.
    """
    import torch._dynamo
    model = _model(16, 4, 1, seed=11).eval()
    x = torch.randn(1, model.num_frame, 17, 2, generator=torch.Generator().manual_seed(12)).to(DEVICE)
    with torch.no_grad():
        model.spatial_kernel = 'pytorch'
        ref = model(x)
        model.spatial_kernel = 'triton'
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        out = torch.compile(model, backend='eager')(x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    breaks = torch._dynamo.utils.counters['graph_break']
    assert len(breaks) == 1 and 'fused_spatial_stage' in next(iter(breaks)), dict(breaks)  # one reason: the kernels
    torch._dynamo.reset()


@pytest.mark.parametrize('block_frames', [1, 4])
def test_other_tile_sizes(monkeypatch, block_frames):
    """Tiles of 1 and 4 frames (the GPU tuning knob; the default is 2): 5 frames, a partial last tile."""
    monkeypatch.setattr(fused_spatial, 'BLOCK_FRAMES', block_frames)
    _compare(_model(16, 4, 1, seed=13), batch=1, frames=5, seed=14)


def test_one_training_step_updates_the_weights_as_pytorch():
    """`common.training.TrainingStep` (loss, backward, optimizer step) with the fused stage: same weights.

    Plain SGD: Adam's first step is ~lr * sign(gradient), which follows rounding noise wherever a
    gradient is 0 in exact arithmetic (e.g. the attention's key bias), so it cannot be compared.
    """
    from common.training import TrainingStep
    gen = torch.Generator().manual_seed(15)
    inputs = torch.randn(2, 5, 17, 2, generator=gen).to(DEVICE)
    targets = torch.randn(2, 1, 17, 3, generator=gen).to(DEVICE)
    after = {}
    for kernel in ('pytorch', 'triton'):
        model = _model(16, 4, 2, seed=16, drop_path_rate=0.3).train()
        model.spatial_kernel = kernel
        step = TrainingStep(model, torch.optim.SGD(model.parameters(), lr=0.1), DEVICE)
        torch.manual_seed(17)
        loss = step(inputs, targets, 2)
        after[kernel] = (loss, {n: p.detach().clone() for n, p in model.named_parameters()})
    torch.testing.assert_close(after['triton'][0], after['pytorch'][0], atol=1e-6, rtol=1e-6)
    for name, ref in after['pytorch'][1].items():
        torch.testing.assert_close(after['triton'][1][name], ref, atol=1e-6, rtol=1e-5, msg=lambda m: f'{name}: {m}')
    before = dict(_model(16, 4, 2, seed=16).named_parameters())
    fc2 = 'Spatial_blocks.1.mlp.fc2.weight'
    assert not torch.allclose(before[fc2], after['triton'][1][fc2])          # the step did move the weights
