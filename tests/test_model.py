"""Tests for common/model/: the official parameter layout, attention, the per-frame split, the
model configuration and the complexity counters."""

import pytest
import torch

from cli.arguments import parse_args
from common.model.complexity import count_parameters, macs_per_output_frame
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer


def tiny(**kw):
    args = dict(num_frame=3, num_joints=5, embed_dim_ratio=8, depth=2, num_heads=2,
                drop_path_rate=0.0)
    args.update(kw)
    return PoseTransformer(**args)


def expected_keys(depth=4):
    """The official release's state_dict names (without the DataParallel 'module.' prefix)."""
    block = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
             "attn.proj.weight", "attn.proj.bias", "norm2.weight", "norm2.bias",
             "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"]
    keys = ["Spatial_pos_embed", "Temporal_pos_embed",
            "Spatial_patch_to_embedding.weight", "Spatial_patch_to_embedding.bias"]
    for stack in ("Spatial_blocks", "blocks"):
        keys += [f"{stack}.{i}.{name}" for i in range(depth) for name in block]
    keys += ["Spatial_norm.weight", "Spatial_norm.bias", "Temporal_norm.weight",
             "Temporal_norm.bias", "weighted_mean.weight", "weighted_mean.bias",
             "head.0.weight", "head.0.bias", "head.1.weight", "head.1.bias"]
    return keys


@pytest.mark.parametrize("frames,count", [(9, 9_563_645), (27, 9_573_455), (81, 9_602_885)])
def test_parameter_count_matches_release(frames, count):
    assert count_parameters(PoseTransformer(num_frame=frames)) == count


def test_state_dict_names_and_shapes_match_release():
    sd = PoseTransformer(num_frame=81).state_dict()
    assert sorted(sd) == sorted(expected_keys())
    shapes = {
        "Spatial_patch_to_embedding.weight": (32, 2),
        "Spatial_pos_embed": (1, 17, 32),
        "Temporal_pos_embed": (1, 81, 544),
        "Spatial_blocks.0.attn.qkv.weight": (96, 32),
        "Spatial_blocks.0.mlp.fc1.weight": (64, 32),
        "blocks.0.attn.qkv.weight": (1632, 544),
        "blocks.0.attn.proj.bias": (544,),
        "blocks.3.mlp.fc1.weight": (1088, 544),
        "blocks.3.mlp.fc2.bias": (544,),
        "Spatial_norm.weight": (32,),
        "Temporal_norm.bias": (544,),
        "weighted_mean.weight": (1, 81, 1),
        "weighted_mean.bias": (1,),
        "head.0.weight": (544,),
        "head.1.weight": (51, 544),
        "head.1.bias": (51,),
    }
    for name, shape in shapes.items():
        assert tuple(sd[name].shape) == shape, name


def test_norm_eps_and_zero_position_embeddings():
    m = tiny()
    assert m.Spatial_norm.eps == 1e-6 and m.Temporal_norm.eps == 1e-6
    assert m.blocks[0].norm1.eps == 1e-6 and m.Spatial_blocks[1].norm2.eps == 1e-6
    assert m.head[0].eps == 1e-5
    assert torch.count_nonzero(m.Spatial_pos_embed) == 0
    assert torch.count_nonzero(m.Temporal_pos_embed) == 0


def test_drop_path_rates_linear_in_both_stacks():
    m = PoseTransformer(num_frame=3, depth=3, drop_path_rate=0.2)
    for stack in (m.Spatial_blocks, m.blocks):
        assert isinstance(stack[0].drop_path1, torch.nn.Identity)  # rate 0
        assert stack[1].drop_path1.drop_prob == pytest.approx(0.1)
        assert stack[2].drop_path2.drop_prob == pytest.approx(0.2)


def test_qk_scale_rejected():
    with pytest.raises(ValueError, match="qk_scale"):
        PoseTransformer(num_frame=3, qk_scale=0.5)


def test_output_shape_and_config_round_trip():
    m = tiny().eval()
    x = torch.randn(4, 3, 5, 2)
    assert m(x).shape == (4, 1, 5, 3)
    cfg = m.config
    assert cfg.num_frame == 3 and cfg["embed_dim_ratio"] == 8 and cfg["depth"] == 2
    assert all(isinstance(v, (int, float, bool, type(None))) for v in cfg.values())
    rebuilt = PoseTransformer(**cfg)
    rebuilt.load_state_dict(m.state_dict())  # same structure
    rebuilt.eval()
    torch.testing.assert_close(rebuilt(x), m(x))


def test_wrong_frame_count_is_a_clear_error():
    m = tiny().eval()
    with pytest.raises(ValueError, match="expected features"):
        m(torch.randn(1, 4, 5, 2))


def test_fused_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    m = tiny()
    for blk in (m.Spatial_blocks[0], m.blocks[1]):
        attn = blk.attn
        assert attn.fused_attn  # timm uses F.scaled_dot_product_attention here
        dim = attn.qkv.in_features
        heads = attn.num_heads
        hd = dim // heads
        x = torch.randn(3, 7, dim)
        qkv = x @ attn.qkv.weight.T + attn.qkv.bias           # (B, N, 3*dim)
        q, k, v = qkv.reshape(3, 7, 3, heads, hd).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-2, -1) * hd ** -0.5, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(3, 7, dim)
        out = out @ attn.proj.weight.T + attn.proj.bias
        with torch.no_grad():
            torch.testing.assert_close(attn(x), out, atol=1e-5, rtol=1e-5)


def test_backward_reaches_every_parameter():
    torch.manual_seed(0)
    m = tiny().train()
    # zero-initialised embeddings still receive a gradient; make the input non-trivial
    m(torch.randn(2, 3, 5, 2)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.count_nonzero(p.grad) > 0, name


def test_eval_mode_is_deterministic():
    m = tiny(drop_rate=0.3, attn_drop_rate=0.3, drop_path_rate=0.3).eval()
    x = torch.randn(2, 3, 5, 2)
    torch.testing.assert_close(m(x), m(x), atol=0, rtol=0)


def test_forward_is_temporal_of_spatial():
    m = tiny().eval()
    x = torch.randn(2, 3, 5, 2)
    feats = m.forward_spatial(x)
    assert feats.shape == (2, 3, 5 * 8)
    torch.testing.assert_close(m(x), m.forward_temporal(feats), atol=0, rtol=0)


def test_spatial_stage_is_per_frame_and_joint_major():
    m = tiny().eval()
    x = torch.randn(1, 6, 5, 2)  # the spatial stage accepts any number of frames
    base = m.forward_spatial(x)
    y = x.clone()
    y[0, 2] += 1.0
    changed = (m.forward_spatial(y) - base).abs().amax(dim=2)[0]
    assert changed[2] > 0
    assert torch.count_nonzero(changed[[0, 1, 3, 4, 5]]) == 0
    # a single frame alone gives the same features as inside a longer sequence
    torch.testing.assert_close(m.forward_spatial(x[:, 4:5]), base[:, 4:5])
    # joint-major flattening: joint j occupies channels j*c:(j+1)*c
    with torch.no_grad():
        tokens = m.Spatial_patch_to_embedding(x[0, 0]) + m.Spatial_pos_embed[0]
        for blk in m.Spatial_blocks:
            tokens = blk(tokens[None])[0]
        tokens = m.Spatial_norm(tokens)  # (J, c)
    torch.testing.assert_close(base[0, 0].reshape(5, 8), tokens)


def test_mac_counter_matches_hand_count():
    m = PoseTransformer(num_frame=3, num_joints=3, in_chans=2, embed_dim_ratio=4, depth=1,
                        num_heads=2, mlp_ratio=2.0)
    f, j, c = 3, 3, 4
    w = j * c
    spatial_tokens = f * j
    spatial = spatial_tokens * (2 * c          # joint embedding
                                + c * 3 * c    # qkv
                                + c * c        # proj
                                + c * 2 * c    # fc1
                                + 2 * c * c)   # fc2
    spatial += f * 2 * j * j * c               # q@k^T and attn@v, per frame
    temporal = f * (w * 3 * w + w * w + w * 2 * w + 2 * w * w) + 2 * f * f * w
    pooling = f * 1 * w                        # Conv1d F->1 over J*c positions
    head = w * j * 3
    assert macs_per_output_frame(m) == spatial + temporal + pooling + head
    assert m.training  # the counter leaves the mode alone


def test_mac_counter_grows_with_frames():
    assert macs_per_output_frame(PoseTransformer(num_frame=27)) > \
        macs_per_output_frame(PoseTransformer(num_frame=9))


def test_config_is_stored_as_the_plain_dict_checkpoints_hold():
    cfg = ModelConfig(num_frame=27, num_heads=4)
    stored = dict(cfg)
    assert list(stored) == ["num_frame", "num_joints", "in_chans", "embed_dim_ratio", "depth", "num_heads",
                            "mlp_ratio", "qkv_bias", "qk_scale", "drop_rate", "attn_drop_rate", "drop_path_rate"]
    assert stored == cfg.to_dict() and stored["qk_scale"] is None and stored["num_heads"] == 4
    assert ModelConfig.from_dict(stored) == cfg
    assert PoseTransformer(**cfg).config == cfg
    assert ModelConfig.from_dict({"num_frame": 9.0, "depth": 2}) == ModelConfig(num_frame=9, depth=2)
    with pytest.raises(ValueError, match="heads_count"):
        ModelConfig.from_dict({"heads_count": 4})
    with pytest.raises(ValueError, match="qk_scale"):
        ModelConfig.from_dict({"qk_scale": 0.1})
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(embed_dim_ratio=32, num_heads=5)


def test_config_defaults_are_a_default_run():
    args = parse_args([])
    assert ModelConfig() == ModelConfig(num_frame=81, embed_dim_ratio=args.embed_dim_ratio, depth=args.depth,
                                        num_heads=args.num_heads, drop_rate=args.dropout,
                                        drop_path_rate=args.drop_path)
    assert args.number_of_frames is None          # "not given": a run then builds 81 frames


def test_mac_counter_counts_fused_and_explicit_attention_alike():
    m = tiny(num_frame=5)
    fused = macs_per_output_frame(m)
    for blk in list(m.Spatial_blocks) + list(m.blocks):
        blk.attn.fused_attn = False               # softmax(q @ k^T) @ v written out: plain matmuls
    assert macs_per_output_frame(m) == fused


def test_quick_start_model_complexity_as_printed():
    model = PoseTransformer(num_frame=9, embed_dim_ratio=16, depth=2)
    assert f"{count_parameters(model):,} parameters, {macs_per_output_frame(model) / 1e9:.3f} GMACs" == \
        "1,211,997 parameters, 0.012 GMACs"
    assert macs_per_output_frame(model) == 11_556_192     # what the forward-hook counter gave


def test_explicit_spatial_attention_on_cuda_computes_the_same_as_the_fused_kernel():
    torch.manual_seed(0)
    model = PoseTransformer(num_frame=9, embed_dim_ratio=16, depth=2, num_heads=4, drop_path_rate=0.0).eval()
    assert all(blk.attn.fused_attn for blk in model.Spatial_blocks)      # heads of 4 channels: fused on the CPU
    x = torch.randn(3, 9, 17, 2)
    fused = model(x)
    model.choose_attention('cuda')                    # only flips a flag: needs no GPU
    assert all(not blk.attn.fused_attn for blk in model.Spatial_blocks)
    assert all(blk.attn.fused_attn for blk in model.blocks)
    torch.testing.assert_close(model(x), fused, rtol=0, atol=1e-6)
    model.choose_attention('cpu')
    assert all(blk.attn.fused_attn for blk in model.Spatial_blocks)


def test_two_channel_heads_use_explicit_spatial_attention_on_the_cpu_with_the_same_result():
    torch.manual_seed(0)
    model = PoseTransformer(num_frame=9, embed_dim_ratio=16, depth=2, num_heads=8, drop_path_rate=0.0).eval()
    assert all(not blk.attn.fused_attn for blk in model.Spatial_blocks)  # the quick start's heads: 16 / 8 = 2
    assert all(blk.attn.fused_attn for blk in model.blocks)
    x = torch.randn(3, 9, 17, 2)
    explicit = model(x)
    for blk in model.Spatial_blocks:
        blk.attn.fused_attn = True
    torch.testing.assert_close(model(x), explicit, rtol=0, atol=1e-6)
    model.choose_attention('cuda')
    assert all(not blk.attn.fused_attn for blk in model.Spatial_blocks)