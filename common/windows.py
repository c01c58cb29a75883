"""Windows of frames: the one place where model inputs are cut out of sequences.

Window geometry (`window_padding`): a model of F frames predicts one frame of each window, its
*target*. The centred PoseFormer's target is the middle frame: the window of frame ``i`` is
``i - (F-1)/2 .. i + (F-1)/2``. A causal model's target is the last frame: the window of frame
``i`` is ``i - (F-1) .. i``, so it never looks ahead (VideoPose3D's causal setting). Every sequence is
edge-padded by as many frames as the windows reach past its ends (first/last frame repeated), so
every frame has a window. Training, evaluation and streaming all take the geometry from here.

Windows are never built one by one in Python: sequences are padded and concatenated once, and a
batch of windows is one gather with index arithmetic.

Flip augmentation mirrors a pose horizontally: x negated and left/right joints swapped.
"""
import numpy as np
import torch

from common.data.types import zero_root


def window_padding(num_frames, causal=False):
    """(frames before the target, frames after it) in a window of `num_frames` frames.

    Centred: ``((F-1)//2, (F-1)//2)``; causal: ``(F-1, 0)``. Also the edge padding a sequence
    needs at its start and end so that every frame is the target of one window.
    """
    if causal:
        return num_frames - 1, 0
    half = (num_frames - 1) // 2
    return half, half


def pad_edges(poses, before, after=None):
    """(N, J, C) -> (N + before + after, J, C), repeating the first frame `before` times and the last
    `after` times (``after`` defaults to ``before``)."""
    after = before if after is None else after
    return np.pad(poses, ((before, after), (0, 0), (0, 0)), mode='edge')


def flip_pose(poses, left, right):
    """Mirror poses (..., J, C) with x in channel 0: negate x, swap the left and right joints.

    Works for numpy arrays and torch tensors; returns a new array.
    """
    flipped = poses.clone() if isinstance(poses, torch.Tensor) else poses.copy()
    flipped[..., 0] *= -1
    flipped[..., left + right, :] = flipped[..., right + left, :]
    return flipped


def rank_share(begin, end, rank, world_size):
    """The [begin, end) slice of positions that `rank` takes of one global batch.

    The same split as ``np.array_split(range(begin, end), world_size)[rank]``: the first
    ``n % world_size`` ranks take one example more.
    """
    size, extra = divmod(end - begin, world_size)
    start = begin + rank * size + min(rank, extra)
    return start, start + size + (rank < extra)


class TrainingWindows:
    """All (sequence, target frame[, flipped]) training examples, resident on one device.

    Built once: the edge-padded 2D of every sequence concatenated (padding by `window_padding`,
    so ``causal`` windows end at their target), ``inputs`` (T_padded, J, 2) float32, and the
    root-relative 3D of every sequence concatenated, ``targets`` (T, J, 3) float32 metres (root
    slot zeroed, see `common.data.types.zero_root`). With augmentation the mirrored copies
    (`flip_pose`) are appended, so the arrays are twice as long and a flipped example simply
    points into the second half: every batch is then two gathers, whatever its mix of flips, and
    gives the same numbers as mirroring each example after gathering it.

    Example k is (input window start, target index): the first half of the examples are the plain
    windows in sequence order, the second half (with augmentation) their mirrored twins (example
    k + K/2 mirrors example k). Indices live on the device too, so a batch costs no host
    round-trip: with ``device='cuda'`` the whole training set (about 1.1 GB for Human3.6M with
    augmentation) sits in GPU memory.

    The epoch order (`epoch_order`) shuffles the examples as the official chunked generator
    (VideoPose3D's ``ChunkedGenerator`` with chunks of one frame) shuffles its pair list, in which
    each sequence lists its plain windows and then their mirrored twins (`pair_order`): with the
    same seed, a run draws the official run's examples in the official order.
    """

    def __init__(self, sequences, num_frames, kps_left, kps_right, joints_left, joints_right, augment=True,
                 root=0, device='cpu', causal=False):
        self.before, self.after = window_padding(num_frames, causal)
        self.num_frames = num_frames
        self.device = torch.device(device)
        inputs, targets, starts, target_index = [], [], [], []
        input_offset = target_offset = 0
        for seq in sequences:
            n = len(seq.poses_2d)
            assert seq.poses_3d is not None and len(seq.poses_3d) == n, 'training needs 3D for every 2D frame'
            inputs.append(pad_edges(seq.poses_2d, self.before, self.after))
            targets.append(seq.poses_3d)
            # Frame i's window starts at padded index i, i.e. input_offset + i in the concatenation.
            starts.append(input_offset + np.arange(n))
            target_index.append(target_offset + np.arange(n))
            input_offset += n + self.before + self.after
            target_offset += n
        inputs = np.concatenate(inputs).astype(np.float32)                         # (T_padded, J, 2)
        targets = np.concatenate(targets).astype(np.float32)                       # (T, J, 3) metres
        starts, target_index = np.concatenate(starts), np.concatenate(target_index)
        self.pair_order = _official_pair_order([len(seq.poses_2d) for seq in sequences], augment)
        if augment:
            # Mirrored copies after the originals; example k + n is example k mirrored.
            inputs = np.concatenate([inputs, flip_pose(inputs, list(kps_left), list(kps_right))])
            targets = np.concatenate([targets, flip_pose(targets, list(joints_left), list(joints_right))])
            starts = np.concatenate([starts, starts + input_offset])
            target_index = np.concatenate([target_index, target_index + target_offset])
        targets = zero_root(targets, root)     # after mirroring, exactly as zeroing each batch's targets
        self.inputs = torch.from_numpy(inputs).to(self.device)
        self.targets = torch.from_numpy(targets).to(self.device)
        self.starts = torch.from_numpy(starts).to(self.device)                 # (K,) int64
        self.target_index = torch.from_numpy(target_index).to(self.device)     # (K,) int64
        self._offsets = torch.arange(num_frames, device=self.device)

    def __len__(self):
        return len(self.starts)

    def num_batches(self, batch_size):
        return (len(self) + batch_size - 1) // batch_size

    def epoch_order(self, rng):
        """The shuffled example ids of one epoch (numpy int64), drawn from `rng` on the host.

        `rng` is a numpy RandomState or Generator: the order, and so the run, does not depend
        on the device. The official generator's ``rng.permutation(pairs)`` with the same RandomState
        yields the same examples in the same order.
        """
        return self.pair_order[rng.permutation(len(self))]

    def batch(self, example_ids):
        """Gather examples (int64 tensor on the device) -> inputs (B, F, J, 2), targets (B, 1, J, 3)."""
        windows = self.starts[example_ids, None] + self._offsets            # (B, F)
        inputs = self.inputs[windows]                                         # (B, F, J, 2)
        targets = self.targets[self.target_index[example_ids]][:, None]      # (B, 1, J, 3) metres
        return inputs, targets

    def batches(self, order, batch_size, rank=0, world_size=1):
        """Yield (inputs, targets, global batch size) for `order`; with several ranks each takes a disjoint share.

        `batch_size` is the global batch: with world_size ranks, rank r takes its slice of every
        global batch, so together the ranks see exactly the single-process batches. The order is
        copied to the device once; each batch is then gathered there without a host sync.
        """
        order = torch.as_tensor(np.asarray(order, dtype=np.int64)).to(self.device)
        for begin in range(0, len(order), batch_size):
            end = min(begin + batch_size, len(order))
            share_begin, share_end = rank_share(begin, end, rank, world_size)
            if share_end > share_begin:
                yield (*self.batch(order[share_begin:share_end]), end - begin)


def _official_pair_order(lengths, augment):
    """Example ids (int64) in the official pair list's order: per sequence, its plain windows,
    then (with `augment`) their mirrored twins, which are the examples ``sum(lengths)`` further on."""
    total = sum(lengths)
    ends = np.cumsum(lengths)
    plain = [np.arange(end - n, end) for n, end in zip(lengths, ends)]
    per_sequence = [np.concatenate([ids, ids + total]) if augment else ids for ids in plain]
    return np.concatenate(per_sequence or [np.empty(0)]).astype(np.int64)
