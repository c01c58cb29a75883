"""The one evaluation routine: per-epoch validation, evaluating a checkpoint, reproduction and rendering use it.

Prediction: every frame of a sequence is predicted from its window of F frames: centred (the
sequence edge-padded by (F-1)/2 at both ends) or, for a causal model, ending at the frame (padded
by F-1 at the start). The spatial stage of PoseFormer sees one frame at a time, so
its features are computed once per frame and shared by the F windows containing that frame; the
temporal stage then runs on windows of cached features. Windows are processed in batches of
`batch_size`, so memory stays flat in the video length. With flip test-time augmentation the
prediction of the mirrored input is mirrored back and averaged with the plain one.

Metrics (reported in mm): Protocol #1 MPJPE, #2 P-MPJPE (after rigid alignment with scale),
#3 N-MPJPE (after scale alignment) and MPJVE (velocity error). The target's root joint is zeroed
before comparison, the prediction's is not (as the reference). Within an action, errors are
weighted by frames; the paper's headline number is the mean over actions ("action-wise average"),
the frame-weighted mean over all test frames is reported as well, labelled as such.
"""
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from common.data.types import EvaluationProtocol, zero_root
from common.metrics import MM_PER_M, PER_FRAME_METRICS, mean_acceleration_error, mean_velocity_error
from common.progress import progress_bar
from common.windows import flip_pose, pad_edges, window_padding

# The Human3.6M metrics every protocol reports; a protocol may add more (`EvaluationProtocol.extra_metrics`).
STANDARD_METRICS = ('mpjpe', 'p_mpjpe', 'n_mpjpe', 'mpjve', 'mpjae')
# per-sequence metrics: name -> (the function of the whole sequence, the frames it needs at least)
SEQUENCE_METRICS = {'mpjve': (mean_velocity_error, 2), 'mpjae': (mean_acceleration_error, 3)}


@dataclass(frozen=True)
class EvalOptions:
    """How to run an evaluation (not what to score: that is the data source's `EvaluationProtocol`).

    ``metrics``: None scores the protocol's full set (the Human3.6M metrics plus its extras);
    per-epoch validation passes ``('mpjpe',)``. ``amp``: bf16 autocast on CUDA (metrics in fp32).
    """
    tta: bool = True
    batch_size: int = 256
    device: object = 'cpu'
    amp: bool = False
    progress: bool = False
    by_subject: bool = False
    metrics: tuple = None


@torch.inference_mode()
def predict_sequence(model, poses_2d, symmetry, tta=True, batch_size=256, device='cpu', progress=False):
    """Predict every frame of one sequence.

    poses_2d: (N, J, 2) normalised 2D. Returns (N, J, 3) float32 camera-frame poses in metres
    (root-relative; the root slot is whatever the model outputs).
    model: an unwrapped PoseTransformer in eval mode (uses forward_spatial / forward_temporal).

    Frame i is the target of its window (centred, or ending at i for a causal model: the
    sequence is edge-padded by `common.windows.window_padding`). Chunks of `batch_size` windows:
    the spatial stage runs once per padded frame (the last F-1 frames' features of a chunk are
    carried over to the next, whose windows need them), the temporal stage on the windows of the
    chunk, a strided view of the features. `progress`: a bar counting the frames (`common.progress`).
    """
    num_frames = model.num_frame
    before, after = window_padding(num_frames, model.causal)
    context = num_frames - 1                  # frames a chunk's windows reach beyond its targets
    n = len(poses_2d)
    padded = torch.from_numpy(pad_edges(np.asarray(poses_2d, dtype=np.float32), before, after))  # (N + F-1, J, 2)
    variants = [padded]
    if tta:
        variants.append(flip_pose(padded, symmetry.kps_left, symmetry.kps_right))
    carried = [None] * len(variants)          # per variant: features of the next chunk's first F-1 frames
    out = np.empty((n, model.num_joints, 3), dtype=np.float32)
    bar = progress_bar(None, enabled=progress, total=n, desc='lift', unit='frame')
    for begin in range(0, n, batch_size):
        end = min(n, begin + batch_size)
        # Windows of frames begin..end-1 cover padded frames begin .. end-1+F-1.
        predictions = []
        for v, frames in enumerate(variants):
            first = begin if carried[v] is None else begin + context
            feats = model.forward_spatial(frames[first:end + context].to(device)[None])[0]   # (frames, J*c)
            if carried[v] is not None:
                feats = torch.cat([carried[v], feats])                          # (n_b + F-1, J*c)
            carried[v] = feats[len(feats) - context:]
            windows = feats.unfold(0, num_frames, 1).transpose(1, 2)            # (n_b, F, J*c) view
            predictions.append(model.forward_temporal(windows))                # (n_b, 1, J, 3)
        pred = predictions[0]
        if tta:
            flipped_back = flip_pose(predictions[1], symmetry.joints_left, symmetry.joints_right)
            pred = (pred + flipped_back) / 2
        out[begin:end] = pred[:, 0].float().cpu().numpy()
        bar.update(end - begin)
    bar.close()
    return out


def sequence_errors(predicted, target, root=0, metrics=STANDARD_METRICS, valid=None, zero_predicted_root=False):
    """Errors of one sequence: dict metric -> per-frame array (mm; PCK/AUC in %).

    target: (N, J, 3) metres, root slot holding the trajectory (zeroed here). predicted: (N, J, 3).
    MPJVE and MPJAE (acceleration error, mm/frame^2) are one number per sequence (velocities and
    accelerations need neighbouring frames); each is repeated per frame so that every metric is
    weighted by frames in the same way. A sequence of one frame has no velocity (of two, no
    acceleration): its array is empty, so it is left out of that metric's averages (the official
    code gets nan there; 0 would flatter the model). `valid` (bool (N,)) keeps only the frames to
    score (MPI-INF-3DHP marks frames without a usable annotation). `zero_predicted_root` also
    centres the prediction on its root (the MPI-INF-3DHP protocol).
    """
    target = zero_root(target, root)
    if zero_predicted_root:
        predicted = zero_root(predicted, root)
    errors = {name: PER_FRAME_METRICS[name](predicted, target) for name in metrics if name not in SEQUENCE_METRICS}
    if valid is not None:
        errors = {name: values[valid] for name, values in errors.items()}
    scored = len(target) if valid is None else int(np.count_nonzero(valid))
    for name in metrics:
        if name in SEQUENCE_METRICS:
            function, needed = SEQUENCE_METRICS[name]
            enough = len(target) >= needed
            value = function(predicted, target) * MM_PER_M if enough else np.nan
            errors[name] = np.full(scored if enough else 0, value)
    return errors


@dataclass
class EvaluationResult:
    """Predictions and errors of a set of sequences, with the aggregations of the official report."""
    predictions: list                       # (N, J, 3) per sequence, metres
    per_action: dict                        # action -> {metric: mm, 'frames': int}
    action_wise: dict                       # metric -> mean over actions (mm)
    frame_weighted: dict                    # metric -> mean over all frames (mm)
    per_subject: dict = field(default_factory=dict)  # subject -> {'per_action', 'action_wise', 'frame_weighted'}
    config: dict = field(default_factory=dict)


def evaluate(model, sequences, symmetry, protocol=EvaluationProtocol(), options=EvalOptions(), config=None):
    """Predict all `sequences` and aggregate the metrics of `protocol` (see the module docstring).

    Sequences without 3D ground truth are predicted but not scored. `config` (plain data) is kept in
    the result for reports.
    """
    metrics = options.metrics or STANDARD_METRICS + tuple(protocol.extra_metrics)
    was_training = model.training
    model.eval()
    predictions = []
    scored = []
    autocast = options.amp and torch.device(options.device).type == 'cuda'
    try:
        for seq in progress_bar(sequences, enabled=options.progress, desc='evaluate', unit='seq'):
            with torch.autocast('cuda', dtype=torch.bfloat16, enabled=autocast):
                pred = predict_sequence(model, seq.poses_2d, symmetry, tta=options.tta,
                                        batch_size=options.batch_size, device=options.device)
            predictions.append(pred)
            if seq.poses_3d is not None:
                scored.append((seq, sequence_errors(pred, seq.poses_3d, root=protocol.root, metrics=metrics,
                                                    valid=protocol.valid_mask(seq),
                                                    zero_predicted_root=protocol.zero_predicted_root)))
    finally:
        model.train(was_training)
    result = EvaluationResult(predictions, *_aggregate(scored), config=dict(config or {}))
    if options.by_subject:
        for subject in dict.fromkeys(seq.subject for seq, _ in scored):
            per_action, action_wise, frame_weighted = _aggregate([s for s in scored if s[0].subject == subject])
            result.per_subject[subject] = {'per_action': per_action, 'action_wise': action_wise,
                                           'frame_weighted': frame_weighted}
    return result


def action_group(action):
    """Actions are grouped by the name before the first space: 'Walking 1' -> 'Walking'."""
    return action.split(' ')[0]


def _aggregate(scored):
    """Frame-weighted errors per action group, their mean over actions, and over all frames.

    A metric with no frame to average (MPJVE of one-frame sequences only) is None: "n/a" in the
    report, null in the JSON; the mean over actions skips the actions where it is None.
    ``frames``: the frames scored in the action.
    """
    groups = OrderedDict()
    for seq, errors in scored:
        groups.setdefault(action_group(seq.action), []).append(errors)
    if not groups:
        return OrderedDict(), {}, {}
    metrics = list(groups[next(iter(groups))][0])
    per_action = OrderedDict()
    for action, items in groups.items():
        per_action[action] = {m: _mean_or_none(np.concatenate([e[m] for e in items])) for m in metrics}
        per_action[action]['frames'] = int(sum(max(len(v) for v in e.values()) for e in items))
    action_wise = {m: _mean_or_none([row[m] for row in per_action.values() if row[m] is not None]) for m in metrics}
    every_frame = [e for items in groups.values() for e in items]
    frame_weighted = {m: _mean_or_none(np.concatenate([e[m] for e in every_frame])) for m in metrics}
    return per_action, action_wise, frame_weighted


def _mean_or_none(values):
    """The mean of `values` as a float, None when there are none."""
    return float(np.mean(values)) if len(values) else None
