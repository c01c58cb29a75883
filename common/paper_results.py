"""The numbers the PoseFormer paper reports, as data a reproduction script can compare against.

The facts live in ``common/resources/paper_results.json``; this module only reads them. One entry per
(dataset, keypoints, frames, metric):

- ``dataset``: the dataset setting (``h36m``, ``3dhp``);
- ``keypoints``: the keypoints setting (``cpn_ft_h36m_dbb``, ``gt``); ``cpn`` is accepted as a short name;
- ``frames``: receptive field (the model's frames);
- ``metric``: ``mpjpe`` (Protocol #1, mm), ``p_mpjpe`` (Protocol #2, mm), ``pck`` / ``auc`` (%);
  ``p1`` / ``p2`` are accepted as aliases.

Each entry also carries ``value``, ``unit``, ``protocol``, ``aggregation`` (e.g. ``action-wise mean``:
the mean of the 15 per-action errors, which is what the paper's Human3.6M averages are) and, where the
paper gives them, ``per_action`` numbers.

    >>> paper_value('h36m', 'cpn_ft_h36m_dbb', 81, 'mpjpe')
    44.3
"""
import json
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().parent / 'resources' / 'paper_results.json'

_KEYPOINT_ALIASES = {'cpn': 'cpn_ft_h36m_dbb'}
_METRIC_ALIASES = {'p1': 'mpjpe', 'p2': 'p_mpjpe'}


def load_paper_results(path=RESULTS_FILE):
    """All entries (list of dicts) from the results file."""
    with open(path, encoding='utf-8') as f:
        return json.load(f)['results']


def _normalise(dataset, keypoints, frames, metric):
    keypoints = str(keypoints).lower()
    metric = str(metric).lower()
    return (str(dataset).lower(), _KEYPOINT_ALIASES.get(keypoints, keypoints), int(frames),
            _METRIC_ALIASES.get(metric, metric))


def find_paper_result(dataset, keypoints, frames, metric, path=RESULTS_FILE):
    """The entry for this configuration, or None when the paper reports no such number."""
    wanted = _normalise(dataset, keypoints, frames, metric)
    for entry in load_paper_results(path):
        if _normalise(entry['dataset'], entry['keypoints'], entry['frames'], entry['metric']) == wanted:
            return entry
    return None


def paper_result(dataset, keypoints, frames, metric, path=RESULTS_FILE):
    """Like `find_paper_result` but raises KeyError (listing what exists) when there is no entry."""
    entry = find_paper_result(dataset, keypoints, frames, metric, path)
    if entry is None:
        known = ', '.join(f"({e['dataset']}, {e['keypoints']}, {e['frames']}, {e['metric']})"
                          for e in load_paper_results(path))
        raise KeyError(f'the paper reports no {metric} for dataset={dataset} keypoints={keypoints} '
                       f'frames={frames}; known: {known}')
    return entry


def paper_value(dataset, keypoints, frames, metric, path=RESULTS_FILE):
    """The reported number (float) for this configuration; KeyError if the paper has none."""
    return float(paper_result(dataset, keypoints, frames, metric, path)['value'])
