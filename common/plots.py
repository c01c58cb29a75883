"""Pictures: training curves, per-action error charts, and the skeleton drawing used by the renderer.

Everything draws on `matplotlib.figure.Figure` objects with the Agg canvas (no pyplot, no window,
no global backend switch), and every file is written atomically (temp file + rename).

- `plot_training_curves(history, out_dir)` -> ``<out_dir>/loss_3d.png``: MPJPE (mm, log scale) per
  epoch for the training loss, the validation error and, when recorded, the training set in eval mode.
- `plot_per_action(results, out_path, ...)` -> a bar chart of Protocol #1 and #2 per action from a
  results JSON file (`common.report.write_results_json`), optionally beside the paper's numbers
  (`common.paper_results`); `average_note` says when the two averages cover different actions (then the chart's labels
  give both counts). Its program: ``tools/plot_results.py``.
- Skeleton helpers for `common.render.animation`: `bone_colors`, `Skeleton2DArtist`, `Skeleton3DArtist`
  (artists created once and moved every frame).
"""
import json
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_write

RIGHT_COLOR = '#d9432f'    # right limbs
LEFT_COLOR = '#2f6fd9'     # left limbs
CENTER_COLOR = '#3c3c3c'   # spine, head, root
PAPER_COLOR = '#9a9a9a'


def new_figure(width, height, dpi=100):
    """A Figure with an Agg canvas attached (pixels: width*dpi x height*dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi=None):
    """Write `fig` as PNG to `path` atomically (creates the folder)."""
    atomic_write(path, lambda f: fig.savefig(f, format='png', dpi=dpi or fig.dpi), suffix='.png')


# ----------------------------------------------------------------------------------- training curves

CURVES = (('train', 'train (loss, train mode)', '#1f77b4', '-'),
          ('train_eval', 'train (eval mode)', '#2ca02c', '--'),
          ('valid', 'validation', '#d62728', '-'))


def plot_training_curves(history, out_dir, filename='loss_3d.png', title=None):
    """Plot MPJPE per epoch (history values in metres, shown in mm) to ``<out_dir>/<filename>``.

    history: dict with 'train', 'valid', 'train_eval' -> lists of per-epoch values; empty or missing
    lists are left out. Returns the path written (None when there is nothing to plot).
    """
    series = [(label, np.asarray(history.get(key) or [], dtype=float) * 1000, color, style)
              for key, label, color, style in CURVES]
    series = [s for s in series if len(s[1])]
    if not series:
        return None
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for label, values, color, style in series:
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, style, color=color, label=label, marker='o' if len(values) < 30 else None,
                markersize=3)
    positive = np.concatenate([v[v > 0] for _, v, _, _ in series])
    if len(positive) and positive.max() / positive.min() > 3:
        from matplotlib import ticker
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter('%g'))
        if positive.max() / positive.min() < 20:   # within about a decade: label the minor ticks too
            ax.yaxis.set_minor_formatter(ticker.FormatStrFormatter('%g'))
        else:
            ax.yaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
    ax.set_xlabel('epoch')
    ax.set_ylabel('MPJPE (mm)')
    ax.set_title(title or 'PoseFormer training: 3D pose error per epoch', fontsize=10 if title else None)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    longest = max(len(v) for _, v, _, _ in series)
    if longest <= 20:
        ax.set_xticks(np.arange(1, longest + 1))
    fig.tight_layout()
    path = Path(out_dir) / filename
    save_figure(fig, path)
    return path


# ------------------------------------------------------------------------------- per-action chart

def load_results_json(path):
    """A results file (as an evaluation writes it) as a dict; UserError when it is missing or is not one."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f'{path}: results file not found (an evaluation writes one when given a path for its '
                        'JSON results)')
    try:
        results = json.loads(path.read_text(encoding='utf-8'))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f'{path}: not a JSON results file ({exc})') from None
    if not isinstance(results, dict) or not isinstance(results.get('per_action'), dict) or not results['per_action']:
        raise UserError(f'{path}: no "per_action" errors in this file; give the results file of an evaluation on '
                        'a dataset with 3D ground truth')
    return results


def paper_reference(results, dataset=None, keypoints=None, frames=None):
    """The paper's entries {'mpjpe': entry, 'p_mpjpe': entry} matching the run's configuration.

    dataset / keypoints / frames default to the results' config (``dataset``, ``keypoints``, the model's frames).
    Metrics the paper does not report for that configuration are absent.
    """
    from common.paper_results import find_paper_result
    config = results.get('config') or {}
    dataset = dataset or config.get('dataset', 'h36m')
    keypoints = keypoints or config.get('keypoints')
    frames = frames or (config.get('model') or {}).get('num_frame') or config.get('number_of_frames')
    if not keypoints or not frames:
        return {}
    found = {}
    for metric in ('mpjpe', 'p_mpjpe'):
        entry = find_paper_result(dataset, keypoints, frames, metric)
        if entry is not None:
            found[metric] = entry
    return found


def paper_average_actions(entry):
    """The actions the paper's average `entry` is the mean of (its own table, or the table of that
    dataset's action-wise averages), or None when the paper's number is not a mean over actions."""
    from common.paper_results import load_paper_results
    if entry.get('per_action'):
        return list(entry['per_action'])
    if entry.get('aggregation') != 'action-wise mean':
        return None
    for other in load_paper_results():
        if (other['dataset'], other.get('aggregation')) == (entry['dataset'], entry['aggregation']) and \
                other.get('per_action'):
            return list(other['per_action'])
    return None


def average_note(results, paper):
    """A sentence when this run's action-wise average and the paper's (`paper_reference`) cover
    different actions, so are not comparable; None when they cover the same (or there is no paper)."""
    entry = next(iter((paper or {}).values()), None)
    theirs = paper_average_actions(entry) if entry else None
    ours = sorted(results['per_action'], key=str.lower)
    if theirs is None or set(ours) == set(theirs):
        return None
    return (f"this run's average is the mean of {len(ours)} action{'s' if len(ours) != 1 else ''} "
            f"({', '.join(ours)}), the paper's of {len(theirs)}: the two averages are not comparable")


def plot_per_action(results, out_path, paper=None, title=None):
    """Bar chart of Protocol #1 (MPJPE) and #2 (P-MPJPE) per action and their action-wise average.

    results: a results JSON dict; paper: {'mpjpe': entry, 'p_mpjpe': entry} from
    `paper_reference` (or None). The paper's per-action bars appear where the paper gives them, its
    average always; when the averages cover different actions (`average_note`) the average's label
    gives both counts. Returns `out_path`.
    """
    per_action = results['per_action']
    actions = sorted(per_action, key=str.lower)   # the paper's table order for Human3.6M
    average = results.get('action_wise_average') or {}
    metrics = [(m, label) for m, label in (('mpjpe', 'Protocol #1: MPJPE (mm)'),
                                           ('p_mpjpe', 'Protocol #2: P-MPJPE (mm)'))
               if all(m in per_action[a] for a in actions)]
    if not metrics:
        raise UserError('the results file has neither "mpjpe" nor "p_mpjpe" per action')
    paper = paper or {}
    average_label = 'Average'
    if average_note(results, paper):
        theirs = paper_average_actions(next(iter(paper.values())))
        average_label = f'Average\n(ours: {len(actions)}, paper: {len(theirs)} actions)'
    labels = actions + [average_label]
    x = np.arange(len(labels))
    fig = new_figure(max(8.0, 0.6 * len(labels) + 2), 3.2 * len(metrics))
    for row, (metric, ylabel) in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, row + 1)
        ours = [per_action[a][metric] for a in actions] + [average.get(metric, np.nan)]
        entry = paper.get(metric)
        theirs = None
        if entry is not None:
            table = entry.get('per_action') or {}
            theirs = [table.get(a, np.nan) for a in actions] + [entry['value']]
        width = 0.4 if theirs is not None else 0.7
        offset = width / 2 if theirs is not None else 0
        bars = ax.bar(x - offset, ours, width, color=LEFT_COLOR, label='this run')
        ax.bar_label(bars, fmt='%.1f', fontsize=6, padding=1)
        if theirs is not None:
            paper_bars = ax.bar(x + offset, theirs, width, color=PAPER_COLOR,
                                label=f"paper ({entry['keypoints']}, {entry['frames']} frames)")
            ax.bar_label(paper_bars, fmt='%.1f', fontsize=6, padding=1)
        ax.set_ylabel(ylabel)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45 if len(labels) > 6 else 0, ha='right' if len(labels) > 6 else 'center',
                           fontsize=8)
        ax.axvline(len(actions) - 0.5, color='#bbbbbb', linewidth=0.8)
        ax.grid(True, axis='y', alpha=0.3)
        ax.set_axisbelow(True)
        ax.margins(y=0.12)
        ax.legend(fontsize=8, loc='lower left', bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.suptitle(title or _default_title(results))
    fig.tight_layout()
    save_figure(fig, out_path, dpi=120)
    return out_path


def _default_title(results):
    config = results.get('config') or {}
    parts = [config.get('dataset'), config.get('keypoints')]
    frames = (config.get('model') or {}).get('num_frame')
    if frames:
        parts.append(f'{frames} frames')
    described = ', '.join(str(p) for p in parts if p)
    return 'Per-action error (action-wise average at right)' + (f': {described}' if described else '')


# ------------------------------------------------------------------------------- skeleton drawing

def bone_colors(parents, left, right):
    """Colour of the bone ending at each joint (None for the root): by the side of the child joint."""
    left, right = set(left), set(right)
    return [None if p < 0 else RIGHT_COLOR if j in right else LEFT_COLOR if j in left else CENTER_COLOR
            for j, p in enumerate(parents)]


def _colors(parents, left, right, color):
    return bone_colors(parents, left, right) if color is None else [color] * len(parents)


class Skeleton2DArtist:
    """Bones and joints of one 2D pose on an image axes; `update(points)` moves them, (J, 2) pixels.
    Bones coloured by side (`bone_colors`), or all in `color` (e.g. one colour per person)."""

    def __init__(self, ax, parents, left, right, linewidth=2.0, markersize=3.0, color=None):
        self.parents = list(parents)
        colors = _colors(self.parents, left, right, color)
        self.bones = [(j, p, ax.plot([], [], color=colors[j], linewidth=linewidth, solid_capstyle='round')[0])
                      for j, p in enumerate(self.parents) if p >= 0]
        self.joints = ax.plot([], [], 'o', color='white', markeredgecolor='black', markeredgewidth=0.5,
                              markersize=markersize, linestyle='none')[0]

    def update(self, points):
        for j, p, line in self.bones:
            line.set_data([points[p, 0], points[j, 0]], [points[p, 1], points[j, 1]])
        self.joints.set_data(points[:, 0], points[:, 1])


class Skeleton3DArtist:
    """Bones of one 3D pose on a 3D axes (z up); `update(pose)` moves them, (J, 3). Colours as `Skeleton2DArtist`."""

    def __init__(self, ax, parents, left, right, linewidth=2.5, color=None):
        self.parents = list(parents)
        colors = _colors(self.parents, left, right, color)
        self.bones = [(j, p, ax.plot([0, 0], [0, 0], [0, 0], color=colors[j], linewidth=linewidth)[0])
                      for j, p in enumerate(self.parents) if p >= 0]

    def update(self, pose):
        for j, p, line in self.bones:
            line.set_data_3d([pose[p, 0], pose[j, 0]], [pose[p, 1], pose[j, 1]], [pose[p, 2], pose[j, 2]])


def setup_3d_axes(ax, span, azimuth, elevation=15.0, title=None, fontsize=9):
    """A cube of side `span` centred on the vertical axis, floor at z=0, viewed from `azimuth`."""
    ax.view_init(elev=elevation, azim=azimuth)
    ax.set_xlim3d(-span / 2, span / 2)
    ax.set_ylim3d(-span / 2, span / 2)
    ax.set_zlim3d(0, span)
    ax.set_box_aspect((1, 1, 1), zoom=1.1)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=fontsize)
