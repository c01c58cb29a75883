"""Reports of an `EvaluationResult`: the official text blocks and the results JSON file.

Text: per action, the official block (``----Walking----``, the test-time augmentation line, one line
per metric), then the action-wise averages (the paper's headline numbers: the mean over actions of
each action's frame-weighted error) and the frame-weighted averages over all test frames, labelled
as such; with ``by_subject`` the same per subject (its averages over all that subject's frames).
Errors in mm; PCK / AUC in %.

Numbers: the official script prints per-action errors at full float precision and rounds its
averages to 0.1 mm (MPJVE 0.01 mm); every number here has `DECIMALS` decimals, enough to compare
runs at 0.01 mm and steady against float summation order. A metric without a value (MPJVE when
every sequence of an action has one frame) prints ``n/a`` and is ``null`` in the JSON. MPJAE, the
acceleration error (mm/frame^2; HMMR's and VIBE's "Accel"), is not in the official script; it follows
the velocity error.
"""
import json
from collections import OrderedDict

import numpy as np

from common.io.atomic import atomic_write_text

LABELS = OrderedDict([
    ('mpjpe', 'Protocol #1 Error (MPJPE)'),
    ('p_mpjpe', 'Protocol #2 Error (P-MPJPE)'),
    ('n_mpjpe', 'Protocol #3 Error (N-MPJPE)'),
    ('mpjve', 'Velocity Error (MPJVE)'),
    ('mpjae', 'Acceleration Error (MPJAE)'),
    ('pck', 'PCK (150 mm)'),                     # MPI-INF-3DHP
    ('auc', 'AUC (0-150 mm)'),
])
UNITS = {'pck': '%', 'auc': '%'}
DECIMALS = 4          # of every printed number: 0.0001 mm
AVERAGE_LABELS = OrderedDict([
    ('mpjpe', 'Protocol #1   (MPJPE)'),
    ('p_mpjpe', 'Protocol #2 (P-MPJPE)'),
    ('n_mpjpe', 'Protocol #3 (N-MPJPE)'),
    ('mpjve', 'Velocity      (MPJVE)'),
    ('mpjae', 'Acceleration  (MPJAE)'),
    ('pck', 'PCK (150 mm)         '),
    ('auc', 'AUC (0-150 mm)       '),
])


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
                    lines.append(f'{label}: {format_value(metric, row[metric])}')
            lines.append('----------')
        for metric, label in AVERAGE_LABELS.items():
            if metric in action_wise:
                lines.append(f'{label} action-wise average: {format_value(metric, action_wise[metric])}')
        for metric, label in AVERAGE_LABELS.items():
            if metric in frame_weighted:
                lines.append(f'{label} frame-weighted average (all {subject + " " if subject else "test "}frames): '
                             f'{format_value(metric, frame_weighted[metric])}')
    return '\n'.join(lines)


def format_value(metric, value):
    """'47.0123 mm' (`DECIMALS` decimals, the metric's unit), or 'n/a' for None."""
    if value is None:
        return 'n/a'
    return f'{value:.{DECIMALS}f} {UNITS.get(metric, "mm")}'


def write_results_json(path, result):
    """Every number of `result` (mm; None -> null) and the run's configuration, as JSON (written atomically)."""
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
