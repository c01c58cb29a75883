"""The paper beside our numbers: per-action tables of Protocol #1 / #2, paper / ours / ours - paper.

Pure functions on results JSON dicts (`common.report.results_payload`) and the paper's entries
(`common.paper_results`), so they can be tested without running a model. `tools/reproduce.py` runs the
evaluations and writes ``reproduction.md`` (`format_document`) and ``reproduction.json``.
"""
from common.paper_results import find_paper_result

# The paper's action order (Table 1).
H36M_ACTIONS = ('Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Photo', 'Posing', 'Purchases',
                'Sitting', 'SittingDown', 'Smoking', 'Waiting', 'WalkDog', 'Walking', 'WalkTogether')
COMPARED_METRICS = (('mpjpe', 'P1', 'Protocol #1 (MPJPE)'), ('p_mpjpe', 'P2', 'Protocol #2 (P-MPJPE)'))
SYNTHETIC_LABEL = 'embedded synthetic dataset — NOT comparable to the paper'
MISSING = '—'


def paper_entries(keypoints, frames, dataset='h36m'):
    """{metric: the paper's entry or None} for the compared metrics."""
    return {metric: find_paper_result(dataset, keypoints, frames, metric) for metric, _, _ in COMPARED_METRICS}


def _difference(ours, paper):
    return None if ours is None or paper is None else float(ours) - float(paper)


def _cell(ours, paper):
    return {'paper': paper, 'ours': ours, 'difference': _difference(ours, paper)}


def compare(results, paper):
    """The comparison table behind one configuration, as plain data.

    results: a results JSON dict; paper: {metric: entry or None} (`paper_entries`).
    Returns {'rows': [{'action', 'frames', metric: {'paper', 'ours', 'difference'}}] (the 15
    Human3.6M actions in the paper's order, then any other action of ours), 'average' (our
    action-wise mean vs the paper's average), 'frame_weighted' (ours only: the paper reports
    none), 'actions_evaluated', 'actions_missing'}. Values in mm; difference = ours - paper;
    None where a number does not exist.
    """
    per_action = results.get('per_action') or {}
    actions = list(H36M_ACTIONS) + [a for a in per_action if a not in H36M_ACTIONS]
    rows = []
    for action in actions:
        ours = per_action.get(action) or {}
        row = {'action': action, 'frames': ours.get('frames')}
        for metric, _, _ in COMPARED_METRICS:
            entry = paper.get(metric)
            theirs = (entry.get('per_action') or {}).get(action) if entry else None
            row[metric] = _cell(ours.get(metric), theirs)
        rows.append(row)
    average = {'frames': sum(r['frames'] or 0 for r in rows)}
    frame_weighted = {'frames': average['frames']}
    for metric, _, _ in COMPARED_METRICS:
        entry = paper.get(metric)
        average[metric] = _cell((results.get('action_wise_average') or {}).get(metric),
                                entry['value'] if entry else None)
        frame_weighted[metric] = _cell((results.get('frame_weighted_average') or {}).get(metric), None)
    return {'rows': rows, 'average': average, 'frame_weighted': frame_weighted,
            'actions_evaluated': [a for a in actions if a in per_action],
            'actions_missing': [a for a in H36M_ACTIONS if a not in per_action]}


def _fmt(value, signed=False):
    if value is None:
        return MISSING
    return f'{value:+.1f}' if signed else f'{value:.1f}'


def _table_row(label, frames, cells):
    out = [label, MISSING if frames is None else str(frames)]
    for metric, _, _ in COMPARED_METRICS:
        cell = cells[metric]
        out += [_fmt(cell['paper']), _fmt(cell['ours']), _fmt(cell['difference'], signed=True)]
    return '| ' + ' | '.join(out) + ' |'


def format_comparison(item):
    """Markdown for one configuration (`item`: an entry of reproduction.json's 'configurations')."""
    synthetic = item['synthetic']
    table = item['table']
    paper_k, frames = item['paper_keypoints'], item['frames']
    dataset = SYNTHETIC_LABEL[0].upper() + SYNTHETIC_LABEL[1:] if synthetic else 'Human3.6M'
    lines = [f"## {dataset}: 2D keypoints `{item['keypoints']}`, {frames} frames, checkpoint `{item['checkpoint']}`",
             '']
    if synthetic:
        lines += [f'**{SYNTHETIC_LABEL.capitalize()}.** The "paper" columns are the paper\'s Human3.6M numbers for '
                  f'`{paper_k}` / {frames} frames, shown for reference only; the differences say nothing about '
                  'the paper.', '']
    config = item.get('run_config') or {}
    facts = [f"test subjects {config.get('subjects_test', '?')}",
             f"flip test-time augmentation {'on' if config.get('test_time_augmentation', True) else 'off'}"]
    if config.get('downsample', 1) != 1:
        facts.append(f"test videos downsampled {config['downsample']}x")
    paper_note = []
    for metric, short, label in COMPARED_METRICS:
        entry = item['paper'].get(metric)
        if entry is None:
            paper_note.append(f'the paper reports no {label} for `{paper_k}` / {frames} frames')
        elif not entry.get('per_action'):
            paper_note.append(f'the paper gives {label} for `{paper_k}` / {frames} frames as an average only')
    paper_text = '; '.join(paper_note)
    lines += [f"Errors in mm; {', '.join(facts)}. Per action: frame-weighted mean over that action's test frames "
              '(actions grouped by the name before the first space). "ours − paper" is our number minus the '
              "paper's." + (f' {paper_text[0].upper()}{paper_text[1:]}.' if paper_text else ''), '']
    header = ['Action', 'Frames']
    for _, short, _ in COMPARED_METRICS:
        paper_head = f'{short} paper (H36M, reference only)' if synthetic else f'{short} paper'
        header += [paper_head, f'{short} ours', f'{short} ours − paper']
    lines.append('| ' + ' | '.join(header) + ' |')
    lines.append('|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|')
    for row in table['rows']:
        lines.append(_table_row(row['action'], row['frames'], row))
    n_actions = len(table['actions_evaluated'])
    lines.append(_table_row(f'**Average** (action-wise mean, as the paper; {n_actions} actions)',
                            table['average']['frames'], table['average']))
    lines.append(_table_row('All test frames (frame-weighted average; not in the paper)',
                            table['frame_weighted']['frames'], table['frame_weighted']))
    lines.append('')
    if table['actions_missing']:
        lines += [f"Not evaluated (absent from the test data): {', '.join(table['actions_missing'])}. The "
                  f'action-wise average covers {n_actions} actions, so it is not the 15-action average the paper '
                  'reports.', '']
    return '\n'.join(lines)


def format_document(report):
    """The whole reproduction.md from reproduction.json's dict."""
    synthetic = report['mode'] == 'synthetic'
    lines = ['# PoseFormer reproduction' + (f' — {SYNTHETIC_LABEL}' if synthetic else ''), '',
             f"Generated {report['generated_at']} by `{report['command']}`.", '']
    if synthetic:
        lines += [f'Mode: synthetic. {report.get("mode_reason", "")} These numbers check that the pipeline '
                  'works; they are NOT comparable to the paper, whose numbers are shown for reference only.'.strip(),
                  '']
    else:
        lines += ['Mode: Human3.6M. The paper\'s averages are '
                  'action-wise means (the mean of the 15 per-action errors); ours is computed the same way and '
                  'shown beside the frame-weighted average over all test frames, labelled as such.', '']
    for note in report.get('notes', []):
        lines.append(f'- {note}')
    if report.get('notes'):
        lines.append('')
    for item in report['configurations']:
        lines.append(format_comparison(item))
    return '\n'.join(lines).rstrip() + '\n'
