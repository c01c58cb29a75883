"""Windows of frames: the one place where model inputs are cut out of sequences.

A window for frame ``i`` of a sequence is the ``F = 2 * pad + 1`` frames centred on ``i``; the
sequence is edge-padded by ``pad`` frames at both ends (first/last frame repeated), so every frame
has a window. Windows are never built one by one in Python: sequences are padded and
concatenated once, and a batch of windows is one gather with index arithmetic.

Flip augmentation mirrors a pose horizontally: x negated and left/right joints swapped.
"""
import numpy as np
import torch


def pad_edges(poses, pad):
    """(N, J, C) -> (N + 2 * pad, J, C), repeating the first and last frames."""
    return np.pad(poses, ((pad, pad), (0, 0), (0, 0)), mode='edge')


def flip_pose(poses, left, right):
    """Mirror poses (..., J, C) with x in channel 0: negate x, swap the left and right joints.

    Works for numpy arrays and torch tensors; returns a new array.
    """
    flipped = poses.clone() if isinstance(poses, torch.Tensor) else poses.copy()
    flipped[..., 0] *= -1
    flipped[..., left + right, :] = flipped[..., right + left, :]
    return flipped


class TrainingWindows:
    """All (sequence, centre frame[, flipped]) training examples of a list of sequences.

    ``inputs``: padded 2D of every sequence concatenated, (T_padded, J, 2) float32;
    ``targets``: 3D of every sequence concatenated, (T, J, 3) float32 metres.
    Example k is (input window start, target index, flip flag); with augmentation every window is
    present twice, once mirrored, as in the reference implementation.
    """

    def __init__(self, sequences, num_frames, kps_left, kps_right, joints_left, joints_right, augment=True):
        self.pad = (num_frames - 1) // 2
        self.num_frames = num_frames
        self.kps_left, self.kps_right = list(kps_left), list(kps_right)
        self.joints_left, self.joints_right = list(joints_left), list(joints_right)
        inputs, targets, starts, target_index = [], [], [], []
        input_offset = target_offset = 0
        for seq in sequences:
            n = len(seq.poses_2d)
            assert seq.poses_3d is not None and len(seq.poses_3d) == n, 'training needs 3D for every 2D frame'
            inputs.append(pad_edges(seq.poses_2d, self.pad))
            targets.append(seq.poses_3d)
            # Frame i's window starts at padded index i, i.e. input_offset + i in the concatenation.
            starts.append(input_offset + np.arange(n))
            target_index.append(target_offset + np.arange(n))
            input_offset += n + 2 * self.pad
            target_offset += n
        self.inputs = np.concatenate(inputs).astype(np.float32)
        self.targets = np.concatenate(targets).astype(np.float32)
        starts, target_index = np.concatenate(starts), np.concatenate(target_index)
        flips = np.zeros(len(starts), dtype=bool)
        if augment:
            starts, target_index = np.tile(starts, 2), np.tile(target_index, 2)
            flips = np.concatenate([flips, ~flips])
        self.starts, self.target_index, self.flips = starts, target_index, flips
        self._offsets = np.arange(num_frames)

    def __len__(self):
        return len(self.starts)

    def num_batches(self, batch_size):
        return (len(self) + batch_size - 1) // batch_size

    def epoch_order(self, rng):
        """The shuffled example order of one epoch, drawn from `rng` (a numpy Generator)."""
        return rng.permutation(len(self))

    def batch(self, example_ids):
        """Gather examples -> inputs (B, F, J, 2) and targets (B, 1, J, 3) as torch tensors."""
        windows = self.starts[example_ids, None] + self._offsets            # (B, F)
        inputs = self.inputs[windows]                                         # (B, F, J, 2)
        targets = self.targets[self.target_index[example_ids]][:, None]       # (B, 1, J, 3)
        flip = self.flips[example_ids]
        if flip.any():
            inputs[flip] = flip_pose(inputs[flip], self.kps_left, self.kps_right)
            targets[flip] = flip_pose(targets[flip], self.joints_left, self.joints_right)
        return torch.from_numpy(inputs), torch.from_numpy(targets)

    def batches(self, order, batch_size, rank=0, world_size=1):
        """Yield (inputs, targets, global batch size) for `order`; with several ranks each takes a disjoint share.

        `batch_size` is the global batch: with world_size ranks, rank r takes its slice of every
        global batch, so together the ranks see exactly the single-process batches.
        """
        for begin in range(0, len(order), batch_size):
            global_batch = order[begin:begin + batch_size]
            share = np.array_split(global_batch, world_size)[rank]
            if len(share):
                yield (*self.batch(share), len(global_batch))
