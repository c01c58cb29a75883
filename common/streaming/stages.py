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

from common.model.loading import model_from_checkpoint  # noqa: F401  (its home is common.model.loading)


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
