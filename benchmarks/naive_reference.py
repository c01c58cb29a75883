"""Naive, "official-style" PoseFormer evaluation and training, the baseline of the benchmarks.

Written from a description of how the original release works (not copied from it), so that the
benchmarks compare our product code with what the reference implementation does:

* model: the same architecture and parameter names as ``common.model.poseformer.PoseTransformer``
  (a product ``state_dict`` loads with ``strict=True``), but attention is explicit
  (``softmax(q @ k^T * scale) @ v``, the attention matrix materialised) and ``forward`` always runs
  the full model: the spatial transformer is recomputed for every frame of every window.
* evaluation: per video, edge-pad by ``(F-1)/2`` frames, cut all N windows in a Python loop,
  ``np.stack`` them, run the whole video as ONE batch, and for flip TTA run the model again on a
  mirrored copy of the windows, mirror its output back and average.
  ``torch.cuda.empty_cache()`` is called where the original does (a no-op on CPU).
* training: a per-sample generator (each example's window sliced from its padded sequence in
  Python, mirrored per sample if its flag is set, then stacked), the explicit-attention model,
  AdamW(weight_decay=0.1), MPJPE loss, ``torch.cuda.empty_cache()`` after every step.

Shapes: ``(B, F, J, C)`` = batch, frames, joints, channels.
"""
import numpy as np
import torch
from torch import nn

__all__ = ['NaivePoseFormer', 'naive_predict_video', 'naive_training_batch', 'naive_train_step', 'mirror']


class ExplicitAttention(nn.Module):
    """Multi-head self-attention with the attention matrix computed explicitly (no fused kernel)."""

    def __init__(self, dim, num_heads, qkv_bias=True, attn_drop=0., proj_drop=0.):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        batch, tokens, dim = x.shape
        # (B, N, 3*D) -> (3, B, heads, N, head_dim)
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale          # (B, heads, N, N)
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)
        x = (attn @ v).transpose(1, 2).reshape(batch, tokens, dim)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, drop=0.):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class DropPath(nn.Module):
    """Stochastic depth: in training, zero a sample's residual branch with probability p (rescaled)."""

    def __init__(self, p=0.):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0. or not self.training:
            return x
        keep = 1 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class NaiveBlock(nn.Module):
    """Pre-norm transformer block; parameter names as timm's Block (norm1, attn.*, norm2, mlp.*)."""

    def __init__(self, dim, num_heads, mlp_ratio, qkv_bias, drop, attn_drop, drop_path):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = ExplicitAttention(dim, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class NaivePoseFormer(nn.Module):
    """PoseFormer with explicit attention and a monolithic forward; product parameter names."""

    def __init__(self, num_frame=9, num_joints=17, in_chans=2, embed_dim_ratio=32, depth=4, num_heads=8,
                 mlp_ratio=2., qkv_bias=True, drop_rate=0., attn_drop_rate=0., drop_path_rate=0.2, **_ignored):
        super().__init__()
        c, width = embed_dim_ratio, embed_dim_ratio * num_joints
        self.num_frame, self.num_joints, self.embed_dim_ratio = num_frame, num_joints, c
        self.Spatial_patch_to_embedding = nn.Linear(in_chans, c)
        self.Spatial_pos_embed = nn.Parameter(torch.zeros(1, num_joints, c))
        self.Temporal_pos_embed = nn.Parameter(torch.zeros(1, num_frame, width))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = [float(r) for r in torch.linspace(0, drop_path_rate, depth)]
        self.Spatial_blocks = nn.ModuleList(
            [NaiveBlock(c, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, rates[i]) for i in range(depth)])
        self.blocks = nn.ModuleList(
            [NaiveBlock(width, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, rates[i])
             for i in range(depth)])
        self.Spatial_norm = nn.LayerNorm(c, eps=1e-6)
        self.Temporal_norm = nn.LayerNorm(width, eps=1e-6)
        self.weighted_mean = nn.Conv1d(num_frame, 1, kernel_size=1)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, num_joints * 3))

    def forward(self, x):
        batch, frames, joints, _ = x.shape
        # As the original: to (B, C, F, J), then every frame's joints become a token sequence.
        x = x.permute(0, 3, 1, 2)
        x = x.permute(0, 2, 3, 1).reshape(batch * frames, joints, -1)   # (B*F, J, C)
        x = self.pos_drop(self.Spatial_patch_to_embedding(x) + self.Spatial_pos_embed)
        for blk in self.Spatial_blocks:
            x = blk(x)
        x = self.Spatial_norm(x)
        x = x.reshape(batch, frames, -1)                                  # (B, F, J*c)
        x = self.pos_drop(x + self.Temporal_pos_embed)
        for blk in self.blocks:
            x = blk(x)
        x = self.Temporal_norm(x)
        x = self.weighted_mean(x).view(batch, 1, -1)                      # (B, 1, J*c)
        return self.head(x).view(batch, 1, joints, -1)                    # (B, 1, J, 3)


def mirror(poses, left, right):
    """Mirrored copy of (..., J, C) poses (numpy or torch): negate x, swap left/right joints."""
    out = poses.clone() if isinstance(poses, torch.Tensor) else poses.copy()
    out[..., 0] *= -1
    out[..., left + right, :] = out[..., right + left, :]
    return out


@torch.no_grad()
def naive_predict_video(model, poses_2d, kps_left, kps_right, joints_left, joints_right, tta=True, device='cpu'):
    """Every frame of one video, the original way: all windows as one batch, flip TTA by a second pass.

    poses_2d: (N, J, 2) float32; `model` on `device`. Returns (N, J, 3) float32 (host).
    """
    frames = model.num_frame
    pad = (frames - 1) // 2
    padded = np.pad(poses_2d, ((pad, pad), (0, 0), (0, 0)), mode='edge')
    windows = []
    for i in range(len(poses_2d)):
        windows.append(padded[i:i + frames])
    windows = np.stack(windows).astype(np.float32)                        # (N, F, J, 2)
    inputs = torch.from_numpy(windows).to(device)
    predicted = model(inputs)                                             # (N, 1, J, 3)
    if tta:
        inputs_flip = torch.from_numpy(mirror(windows, kps_left, kps_right)).to(device)
        predicted_flip = mirror(model(inputs_flip), joints_left, joints_right)
        predicted = torch.mean(torch.cat((predicted, predicted_flip), dim=1), dim=1, keepdim=True)
        del inputs_flip, predicted_flip
    out = predicted[:, 0].cpu().numpy().copy()
    del inputs, predicted
    torch.cuda.empty_cache()   # as the original; a no-op without CUDA
    return out


def naive_training_batch(padded_2d, poses_3d, pairs, frames, kps_left, kps_right, joints_left, joints_right):
    """One training batch built sample by sample in Python.

    padded_2d: list of edge-padded 2D sequences (N_s + F - 1, J, 2); poses_3d: list of (N_s, J, 3);
    pairs: (B, 3) int rows (sequence, centre frame, flip). Returns numpy (B, F, J, 2), (B, 1, J, 3).
    """
    inputs, targets = [], []
    for seq, centre, flip in pairs:
        window = padded_2d[seq][centre:centre + frames].copy()          # padded index centre = window start
        target = poses_3d[seq][centre:centre + 1].copy()
        if flip:
            window[:, :, 0] *= -1
            window[:, kps_left + kps_right] = window[:, kps_right + kps_left]
            target[:, :, 0] *= -1
            target[:, joints_left + joints_right] = target[:, joints_right + joints_left]
        inputs.append(window)
        targets.append(target)
    return np.stack(inputs), np.stack(targets)


def naive_train_step(model, optimizer, batch_2d, batch_3d, loss_fn, device='cpu'):
    """One optimisation step as the original loop does it (`model` on `device`); returns the loss (float)."""
    inputs_2d = torch.from_numpy(batch_2d.astype('float32')).to(device)
    inputs_3d = torch.from_numpy(batch_3d.astype('float32')).to(device)
    inputs_3d[:, :, 0] = 0
    optimizer.zero_grad()
    predicted = model(inputs_2d)
    loss = loss_fn(predicted, inputs_3d)
    loss_value = inputs_3d.shape[0] * inputs_3d.shape[1] * loss.item()
    loss.backward()
    optimizer.step()
    del inputs_2d, inputs_3d, loss, predicted
    torch.cuda.empty_cache()   # as the original; a no-op without CUDA
    return loss_value / batch_3d.shape[0]
