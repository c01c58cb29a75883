"""Online lifting: push one 2D frame, get the 3D pose of the frame whose window just became complete.

Offline (`common.evaluation.predict_sequence`) frame ``i`` of an N-frame sequence is predicted from
the window of F frames ``i - L .. i + R`` of the edge-padded sequence (the first frame repeated L
times before it, the last frame R times after it; `common.windows.window_padding`). For the
centred PoseFormer ``L = R = (F-1)/2``; a causal model (target = last frame of its window) has
``L = F-1, R = 0`` and so no latency. ``R`` is read from the backend (`frames_after_target`), so
both kinds fit.

The lifter reproduces the offline numbers online, with one spatial and one temporal call per
frame:

* ``push(frame i)``: the spatial stage embeds that one frame into features ``(J*c,)``, appended to
  a ring buffer of the last F frame features (the first frame's features are appended ``L + 1``
  times: they stand in for the left padding). Once the buffer holds F features, its content is
  exactly the window of target frame ``i - R``: the temporal stage runs once and that pose is
  returned. The latency is therefore R frames (`latency_frames`); before that, ``push`` returns
  None.
* ``flush()`` at the end of the stream appends the last frame's features R more times (the right
  edge padding) and returns the poses of the frames still waiting. The lifter is then ready for a
  new stream.

With flip test-time augmentation the mirrored frame goes through the stages beside the plain one
(batch of 2) and the mirrored prediction is mirrored back and averaged in, as offline.
"""
import numpy as np
import torch

from common.data.camera import normalize_screen_coordinates
from common.windows import flip_pose
from common.streaming.stages import TorchStages


class Lifter:
    """Streaming 2D -> 3D lifter around a PoseFormer (PyTorch) or a stages backend (e.g. ONNX).

    Args:
        model: a ``PoseTransformer`` (run by `TorchStages` on ``device``; put in eval mode), or a
            backend with ``spatial``, ``temporal``, ``num_frame``, ``num_joints`` and
            ``frames_after_target`` such as `common.streaming.OnnxStages`.
        symmetry: `common.data.types.Symmetry`; needed for ``tta``.
        tta: flip test-time augmentation (as ``EvalOptions.tta`` offline).
        image_size: ``(width, height)`` in pixels when pushed keypoints are pixels; None when they
            are already normalised screen coordinates (x in [-1, 1]).
        device: where a PyTorch model runs.

    Outputs are float32 ``(J, 3)`` poses: camera frame, metres, root-relative (the root slot is
    whatever the model outputs), equal to the offline prediction of the same frames.
    """

    def __init__(self, model, symmetry=None, tta=False, image_size=None, device='cpu'):
        self.stages = TorchStages(model, device) if isinstance(model, torch.nn.Module) else model
        if tta and symmetry is None:
            raise ValueError('Lifter: tta=True needs the symmetry (left/right keypoints and joints) to flip poses')
        if image_size is not None:
            if len(image_size) != 2 or not all(np.isfinite(s) and s > 0 for s in image_size):
                raise ValueError(f'Lifter: image_size must be (width, height) in pixels, both positive, '
                                 f'got {image_size!r}')
            image_size = (float(image_size[0]), float(image_size[1]))
        self.symmetry = symmetry
        self.tta = bool(tta)
        self.image_size = image_size
        self.num_frame = int(self.stages.num_frame)
        self.num_joints = int(self.stages.num_joints)
        self.latency_frames = int(self.stages.frames_after_target)       # R: frames after the target
        self.frames_before_target = self.num_frame - 1 - self.latency_frames   # L
        self.reset()

    def reset(self):
        """Forget the current stream (buffered frames are dropped, nothing is returned)."""
        self._ring = FeatureRing(self.num_frame)
        self._last_features = None
        self.frames_pushed = 0

    def push(self, keypoints_2d):
        """Add the next frame, ``(J, 2)``; return the pose ``(J, 3)`` that became ready, or None.

        Raises ValueError for anything but one finite real-valued ``(J, 2)`` frame.
        """
        frame = self._check_frame(keypoints_2d)                          # (J, 2) normalised
        variants = frame[None]                                           # (V, J, 2), V = 1 or 2
        if self.tta:
            variants = np.stack([frame, flip_pose(frame, self.symmetry.kps_left, self.symmetry.kps_right)])
        features = self.stages.spatial(variants[:, None])[:, 0]         # (V, 1, J, 2) -> (V, J*c)
        copies = 1 + self.frames_before_target if self.frames_pushed == 0 else 1
        self.frames_pushed += 1
        self._last_features = features
        return self._advance(features, copies)

    def flush(self):
        """End the stream: the poses ``(k, J, 3)`` of the last k = min(R, frames) frames, then reset."""
        poses = []
        if self.frames_pushed:
            for _ in range(self.latency_frames):
                pose = self._advance(self._last_features)
                if pose is not None:
                    poses.append(pose)
        self.reset()
        return np.stack(poses) if poses else np.empty((0, self.num_joints, 3), dtype=np.float32)

    def lift(self, frames_2d):
        """A whole sequence ``(N, J, 2)`` through the stream (push every frame, then flush): ``(N, J, 3)``."""
        poses = [pose for pose in map(self.push, frames_2d) if pose is not None]
        rest = self.flush()
        return np.concatenate([np.stack(poses), rest]) if poses else rest

    def _advance(self, features, copies=1):
        """Append ``features`` (V, J*c) ``copies`` times; run the temporal stage once the window is full."""
        for _ in range(copies):
            self._ring.append(features)
        return self._temporal() if self._ring.full else None

    def _temporal(self):
        window = np.ascontiguousarray(self._ring.window())                 # (V, F, J*c)
        poses = self.stages.temporal(window)[:, 0]                       # (V, 1, J, 3) -> (V, J, 3)
        pose = poses[0]
        if self.tta:
            pose = (pose + flip_pose(poses[1], self.symmetry.joints_left, self.symmetry.joints_right)) / 2
        return pose.astype(np.float32, copy=False)

    def _check_frame(self, keypoints_2d):
        """One frame as float32 (J, 2) normalised screen coordinates, or ValueError saying what is expected."""
        expected = f'one frame of 2D keypoints shaped ({self.num_joints}, 2) (joints, x/y)'
        try:
            frame = np.asarray(keypoints_2d)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f'Lifter.push: expected {expected}, got {type(keypoints_2d).__name__} ({exc})') from None
        if frame.dtype.kind not in 'iuf':
            raise ValueError(f'Lifter.push: expected {expected} of real numbers, got dtype {frame.dtype}')
        if frame.shape != (self.num_joints, 2):
            raise ValueError(f'Lifter.push: expected {expected}, got shape {frame.shape}')
        bad = ~np.isfinite(frame).all(axis=1)
        if bad.any():
            raise ValueError(f'Lifter.push: frame {self.frames_pushed} has NaN or infinite coordinates at joints '
                             f'{np.flatnonzero(bad).tolist()}; expected {expected} with finite values (fill '
                             f'missing detections, e.g. with the previous frame, before pushing)')
        frame = frame.astype(np.float32)
        if self.image_size is not None:
            frame = normalize_screen_coordinates(frame, *self.image_size).astype(np.float32)
        return frame


class FeatureRing:
    """The last ``length`` rows of per-frame features, readable as one chronological window.

    Rows are ``(V, W)`` arrays (V variants, W = J*c features). Each row is written twice, at slot
    ``s`` and ``s + length`` of a ``(V, 2 * length, W)`` array, so the ``length`` most recent rows
    are always the slice starting at the oldest one's slot: nothing moves when a row is added.
    """

    def __init__(self, length):
        self.length = int(length)
        self.count = 0              # rows appended so far
        self._rows = None

    @property
    def full(self):
        return self.count >= self.length

    def append(self, row):
        if self._rows is None:
            self._rows = np.empty((row.shape[0], 2 * self.length, row.shape[1]), dtype=row.dtype)
        slot = self.count % self.length
        self._rows[:, slot] = row
        self._rows[:, slot + self.length] = row
        self.count += 1

    def window(self):
        """The last ``length`` rows, oldest first: a ``(V, length, W)`` view (valid until the next append)."""
        oldest = self.count % self.length
        return self._rows[:, oldest:oldest + self.length]
