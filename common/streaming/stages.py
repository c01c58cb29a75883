"""Backends of the streaming lifter: the two PoseFormer stages behind two numpy calls.

A backend has

* ``spatial(keypoints)``: ``(B, F, J, 2)`` float32 normalised 2D -> ``(B, F, J*c)`` float32
  per-frame features (every frame on its own; F is free);
* ``temporal(features)``: ``(B, F, J*c)`` with F = ``num_frame`` -> ``(B, 1, J, 3)`` float32, the
  pose of the window's target frame in metres (camera frame, root-relative);
* ``num_frame`` (F), ``num_joints`` (J) and ``frames_after_target`` (R: how many frames of the
  window follow the target, (F-1)/2 for the centred model, 0 for a causal one; a
  ``PoseTransformer``'s attribute of that name, from `common.windows.window_padding`).

`TorchStages` runs a ``PoseTransformer``; `common.streaming.onnx_model.OnnxStages` runs the
exported stage files on onnxruntime.
"""
import numpy as np
import torch


class TorchStages:
    """A ``PoseTransformer``'s ``forward_spatial`` / ``forward_temporal`` with numpy in and out.

    The model is moved to ``device`` and put in eval mode; calls run without autograd.
    """

    def __init__(self, model, device='cpu'):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.num_frame = model.num_frame
        self.num_joints = model.num_joints
        self.frames_after_target = model.frames_after_target

    @torch.inference_mode()
    def spatial(self, keypoints):
        """``(B, F, J, 2)`` -> ``(B, F, J*c)``."""
        return self._numpy(self.model.forward_spatial(self._tensor(keypoints)))

    @torch.inference_mode()
    def temporal(self, features):
        """``(B, F, J*c)`` -> ``(B, 1, J, 3)``."""
        return self._numpy(self.model.forward_temporal(self._tensor(features)))

    def _tensor(self, array):
        return torch.from_numpy(np.asarray(array, dtype=np.float32)).to(self.device)

    @staticmethod
    def _numpy(tensor):
        return tensor.float().cpu().numpy()


def model_from_checkpoint(path, device='cpu', checkpoint=None, num_heads=None):
    """The ``PoseTransformer`` saved in checkpoint ``path``, with its weights, in eval mode on ``device``.

    The architecture is the checkpoint's (`common.model.loading.model_for_run`: its stored settings,
    or for a released file those its weights show, with ``num_heads`` heads, 8 by default; for our
    files a ``num_heads`` other than the stored one is refused). ``checkpoint``: the file already
    loaded by ``common.io.checkpoint.load_checkpoint`` (then it is not read again).
    Raises UserError for a missing, unreadable or non-PoseFormer file.
    """
    from common.io.checkpoint import load_checkpoint
    from common.model.config import ModelConfig
    from common.model.loading import model_for_run
    if checkpoint is None:
        checkpoint = load_checkpoint(path)
    # the width is the checkpoint's in any case: the request only has to be a valid configuration
    requested = ModelConfig() if num_heads is None else ModelConfig(embed_dim_ratio=num_heads, num_heads=num_heads)
    model = model_for_run(requested, checkpoint, path, frames_given=False, seed=0,
                          given=() if num_heads is None else ('num_heads',))
    return model.to(device).eval()
