"""The one evaluation routine: per-epoch validation, `--evaluate`, reproduction and rendering use it.

Prediction: every frame of a sequence is predicted from its centred window of F frames (the
sequence edge-padded by (F-1)/2). The spatial stage of PoseFormer sees one frame at a time, so
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
import json
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from common.data.types import EvaluationProtocol
from common.windows import flip_pose, pad_edges
from common.metrics import mean_velocity_error, mpjpe_per_frame, n_mpjpe_per_frame, p_mpjpe_per_frame
from common.metrics_3dhp import AUC_THRESHOLDS_MM, PCK_THRESHOLD_MM, joint_errors
from common.progress import progress_bar

METRICS = OrderedDict([
    ('mpjpe', 'Protocol #1 Error (MPJPE)'),
    ('p_mpjpe', 'Protocol #2 Error (P-MPJPE)'),
    ('n_mpjpe', 'Protocol #3 Error (N-MPJPE)'),
    ('mpjve', 'Velocity Error (MPJVE)'),
])
EXTRA_METRICS = OrderedDict([('pck', 'PCK (150 mm)'), ('auc', 'AUC (0-150 mm)')])   # MPI-INF-3DHP
LABELS = OrderedDict(list(METRICS.items()) + list(EXTRA_METRICS.items()))
UNITS = {'pck': '%', 'auc': '%'}
AVERAGE_LABELS = OrderedDict([
    ('mpjpe', 'Protocol #1   (MPJPE)'),
    ('p_mpjpe', 'Protocol #2 (P-MPJPE)'),
    ('n_mpjpe', 'Protocol #3 (N-MPJPE)'),
    ('mpjve', 'Velocity      (MPJVE)'),
    ('pck', 'PCK (150 mm)         '),
    ('auc', 'AUC (0-150 mm)       '),
])


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


@torch.no_grad()
def predict_sequence(model, poses_2d, symmetry, tta=True, batch_size=256, device='cpu'):
    """Predict every frame of one sequence.

    poses_2d: (N, J, 2) normalised 2D. Returns (N, J, 3) float32 camera-frame poses in metres
    (root-relative; the root slot is whatever the model outputs).
    model: an unwrapped PoseTransformer in eval mode (uses forward_spatial / forward_temporal).
    """
    num_frames = model.num_frame
    pad = (num_frames - 1) // 2
    n = len(poses_2d)
    padded = torch.from_numpy(pad_edges(np.asarray(poses_2d, dtype=np.float32), pad))   # (N + 2 pad, J, 2)
    variants = [padded]
    if tta:
        variants.append(flip_pose(padded, symmetry.kps_left, symmetry.kps_right))
    out = np.empty((n, model.num_joints, 3), dtype=np.float32)
    for begin in range(0, n, batch_size):
        end = min(n, begin + batch_size)
        # Windows of frames begin..end-1 cover padded frames begin .. end-1+2*pad.
        predictions = []
        for frames in variants:
            chunk = frames[begin:end + 2 * pad].to(device)[None]                # (1, n_b + 2 pad, J, 2)
            feats = model.forward_spatial(chunk)[0]                             # (n_b + 2 pad, J*c)
            windows = feats.unfold(0, num_frames, 1).transpose(1, 2)            # (n_b, F, J*c) view
            predictions.append(model.forward_temporal(windows.contiguous()))   # (n_b, 1, J, 3)
        pred = predictions[0]
        if tta:
            flipped_back = flip_pose(predictions[1], symmetry.joints_left, symmetry.joints_right)
            pred = (pred + flipped_back) / 2
        out[begin:end] = pred[:, 0].float().cpu().numpy()
    return out


def _pck_per_frame(predicted, target):
    """Percentage of joints within 150 mm, per frame (its mean over frames is the 3DHP PCK)."""
    errors_mm = joint_errors(predicted, target) * MM_PER_M
    return (errors_mm < PCK_THRESHOLD_MM).mean(axis=-1) * 100


def _auc_per_frame(predicted, target):
    """Mean PCK over the thresholds 0, 5, ..., 150 mm, per frame."""
    errors_mm = joint_errors(predicted, target) * MM_PER_M
    return np.mean([(errors_mm < t).mean(axis=-1) for t in AUC_THRESHOLDS_MM], axis=0) * 100


MM_PER_M = 1000
# metric -> function (predicted, target) in metres -> per-frame values in report units (mm or %).
PER_FRAME_METRICS = {
    'mpjpe': lambda p, t: mpjpe_per_frame(p, t) * MM_PER_M,
    'p_mpjpe': lambda p, t: p_mpjpe_per_frame(p, t) * MM_PER_M,
    'n_mpjpe': lambda p, t: n_mpjpe_per_frame(p, t) * MM_PER_M,
    'pck': _pck_per_frame,
    'auc': _auc_per_frame,
}


def sequence_errors(predicted, target, root=0, metrics=tuple(METRICS), valid=None, zero_predicted_root=False):
    """Errors of one sequence: dict metric -> per-frame array (mm; PCK/AUC in %).

    target: (N, J, 3) metres, root slot holding the trajectory (zeroed here). predicted: (N, J, 3).
    MPJVE is one number per sequence (velocities need neighbouring frames); it is repeated per
    frame so that every metric is weighted by frames in the same way. `valid` (bool (N,)) keeps
    only the frames to score (MPI-INF-3DHP marks frames without a usable annotation).
    `zero_predicted_root` also centres the prediction on its root (the MPI-INF-3DHP protocol).
    """
    target = target.copy()
    target[:, root] = 0
    if zero_predicted_root:
        predicted = predicted.copy()
        predicted[:, root] = 0
    errors = {name: PER_FRAME_METRICS[name](predicted, target) for name in metrics if name != 'mpjve'}
    if 'mpjve' in metrics:
        velocity = mean_velocity_error(predicted, target) * MM_PER_M if len(target) > 1 else 0.0
        errors['mpjve'] = np.full(len(target), velocity)
    if valid is not None:
        errors = {name: values[valid] for name, values in errors.items()}
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
    metrics = options.metrics or tuple(METRICS) + tuple(protocol.extra_metrics)
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
    """Frame-weighted errors per action group, their mean over actions, and over all frames."""
    groups = OrderedDict()
    for seq, errors in scored:
        groups.setdefault(action_group(seq.action), []).append(errors)
    if not groups:
        return OrderedDict(), {}, {}
    metrics = list(groups[next(iter(groups))][0])
    per_action = OrderedDict()
    for action, items in groups.items():
        per_action[action] = {m: float(np.mean(np.concatenate([e[m] for e in items]))) for m in metrics}
        per_action[action]['frames'] = int(sum(len(e[metrics[0]]) for e in items))
    action_wise = {m: float(np.mean([row[m] for row in per_action.values()])) for m in metrics}
    every_frame = [e for items in groups.values() for e in items]
    frame_weighted = {m: float(np.mean(np.concatenate([e[m] for e in every_frame]))) for m in metrics}
    return per_action, action_wise, frame_weighted


def format_report(result, tta=True):
    """The official per-action blocks and action-wise averages, plus the frame-weighted averages."""
    lines = []
    sections = [('', result.per_action, result.action_wise, result.frame_weighted)]
    for subject, res in result.per_subject.items():
        sections.append((subject, res['per_action'], res['action_wise'], res['frame_weighted']))
    for subject, per_action, action_wise, frame_weighted in sections:
        if subject:
            lines.append(f'==== Subject {subject} ====')
        for action, row in per_action.items():
            lines.append(f'----{action}----')
            lines.append(f'Test time augmentation: {tta}')
            for metric, label in LABELS.items():
                if metric in row:
                    lines.append(f'{label}: {row[metric]:.1f} {UNITS.get(metric, "mm")}')
            lines.append('----------')
        for metric, label in AVERAGE_LABELS.items():
            if metric in action_wise:
                lines.append(f'{label} action-wise average: {action_wise[metric]:.1f} {UNITS.get(metric, "mm")}')
        for metric, label in AVERAGE_LABELS.items():
            if metric in frame_weighted:
                lines.append(f'{label} frame-weighted average (all test frames): {frame_weighted[metric]:.1f} '
                             f'{UNITS.get(metric, "mm")}')
    return '\n'.join(lines)


def write_results_json(path, result):
    """Every number of `result` (mm) and the run's configuration, as JSON (written atomically)."""
    from common.io.atomic import atomic_write_text
    payload = {
        'units': 'mm',
        'aggregation': {'action_wise': 'mean over actions of frame-weighted per-action errors (as the paper)',
                        'frame_weighted': 'mean over all test frames'},
        'per_action': result.per_action,
        'action_wise_average': result.action_wise,
        'frame_weighted_average': result.frame_weighted,
        'per_subject': result.per_subject,
        'config': result.config,
    }
    atomic_write_text(path, json.dumps(payload, indent=2, default=_json_default))


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)
