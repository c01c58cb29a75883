"""Reproduce the paper's Human3.6M numbers with one command: evaluate, compare, write the report.

    python tools/reproduce.py                                   # released checkpoints in checkpoint/, data in data/
    python tools/reproduce.py --config cpn_ft_h36m_dbb:27:my27f.bin -c checkpoint/run1
    python tools/reproduce.py --synthetic                       # embedded dataset: trains a tiny model (~1-2 min)

Two modes:

- **Human3.6M** (default when ``<data-dir>/data_3d_h36m.npz`` exists): for each configuration
  ``KEYPOINTS:FRAMES:CHECKPOINT`` (default ``cpn_ft_h36m_dbb:81:detected81f.bin`` and
  ``gt:81:gt81f.bin``, the released models) it runs the one evaluation routine through
  ``run_poseformer.main([... '--evaluate', CHECKPOINT, '--results-json', ...])`` and compares the
  numbers with the paper's (`common.paper_comparison`). Configurations whose checkpoint or 2D file is
  missing are skipped with a note; if none can run, that is an error.
- **Synthetic** (``--synthetic``, or automatically when there is no Human3.6M 3D file): the same
  pipeline on the embedded dataset. Without ``--config`` a tiny PoseFormer is first trained through
  ``run_poseformer.main`` (into ``-c`` when given, else ``<out>/synthetic_checkpoint``) (about a minute on a laptop CPU). Every table is labelled "embedded synthetic
  dataset — NOT comparable to the paper"; the paper's Human3.6M numbers are still shown, for reference.

Outputs in ``--out`` (default ``reproduction/``): ``results_<keypoints>_<frames>f.json`` per
configuration (the ``--results-json`` of the run), ``reproduction.md`` (one markdown table per
configuration: 15 actions + the action-wise average, paper / ours / ours − paper for Protocol #1
and #2, and the frame-weighted average labelled as such) and ``reproduction.json`` (every number
behind the tables: our full results, the paper's entries and the differences).
"""
import datetime
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.io.atomic import atomic_write_text  # noqa: E402
from common.paper_comparison import SYNTHETIC_LABEL, compare, format_document, paper_entries  # noqa: E402

DEFAULT_CONFIGS = ('cpn_ft_h36m_dbb:81:detected81f.bin', 'gt:81:gt81f.bin')
DEFAULT_CHECKPOINT_DIR = 'checkpoint'
# Which of the paper's Human3.6M rows a synthetic run is shown beside (for reference only).
SYNTHETIC_PAPER_KEYPOINTS = {'detected': 'cpn_ft_h36m_dbb', 'gt': 'gt'}
SYNTHETIC_DOWNSAMPLE = 10
# The tiny PoseFormer trained in synthetic mode when no checkpoint is given (about a minute on 2 CPU cores).
SYNTHETIC_KEYPOINTS, SYNTHETIC_FRAMES, SYNTHETIC_EPOCHS = 'detected', 9, 2
SYNTHETIC_TRAIN_ARGS = ('--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-e', str(SYNTHETIC_EPOCHS),
                        '--checkpoint-frequency', str(SYNTHETIC_EPOCHS), '--no-eval', '--subset', '0.2',
                        '-b', '256', '-lr', '0.001', '-lrd', '0.95', '--downsample', str(SYNTHETIC_DOWNSAMPLE))


@dataclass(frozen=True)
class Configuration:
    """One row of the reproduction: 2D keypoints (-k), receptive field (-f) and checkpoint file."""
    keypoints: str
    frames: int
    checkpoint: str

    @property
    def name(self):
        return f'{self.keypoints}:{self.frames}:{self.checkpoint}'


def parse_configuration(text):
    """``KEYPOINTS:FRAMES:CHECKPOINT`` -> Configuration (the checkpoint may contain ':')."""
    parts = str(text).split(':', 2)
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise UserError(f'--config {text}: expected KEYPOINTS:FRAMES:CHECKPOINT, '
                        'e.g. cpn_ft_h36m_dbb:81:detected81f.bin')
    try:
        frames = int(parts[1])
    except ValueError:
        raise UserError(f'--config {text}: FRAMES must be a number, e.g. 81') from None
    if frames < 1 or frames % 2 == 0:
        raise UserError(f'--config {text}: FRAMES must be a positive odd number (9, 27, 81, ...)')
    return Configuration(parts[0], frames, parts[2])


def build_parser():
    p = ArgumentParser(prog='tools/reproduce.py',
                description="Evaluate checkpoints with run_poseformer.py and compare with the PoseFormer paper's "
                            'Human3.6M numbers (writes reproduction.md and reproduction.json).')
    p.add_argument('--data-dir', default='data', metavar='PATH', help='folder of the .npz files (default data)')
    p.add_argument('-c', '--checkpoint', metavar='DIR',
                   help='checkpoint folder; CHECKPOINT names are looked up there first (default checkpoint); '
                        'synthetic mode without --config trains into it (default <out>/synthetic_checkpoint)')
    p.add_argument('--out', default='reproduction', metavar='DIR', help='output folder (default reproduction)')
    p.add_argument('--config', action='append', metavar='KEYPOINTS:FRAMES:CHECKPOINT',
                   help='a configuration to evaluate; repeat for several (default: '
                        + ' and '.join(DEFAULT_CONFIGS) + '; synthetic mode: train a tiny model)')
    p.add_argument('--synthetic', action='store_true',
                   help='use the embedded synthetic dataset (automatic when <data-dir>/data_3d_h36m.npz is missing)')
    p.add_argument('--extra-args', default='', metavar='"ARGS"',
                   help='more run_poseformer.py flags for every run, e.g. "--device cpu --eval-batch-size 128"')
    return p


def _checkpoint_path(checkpoint_dir, name):
    from common.io.checkpoint_folder import CheckpointFolder
    return CheckpointFolder(checkpoint_dir).resolve(name)


def _call(run_main, argv, what):
    """Run ``run_poseformer.main(argv)``; a failure becomes a UserError naming `what`."""
    print(f'$ python run_poseformer.py {shlex.join(argv)}', flush=True)
    rc = run_main(argv)
    if rc != 0:
        raise UserError(f'{what} failed (run_poseformer.py exit status {rc}; its message is above)')


def _train_synthetic(options, extra, run_main, log):
    """Train the tiny synthetic PoseFormer; returns the Configuration of its checkpoint."""
    ckpt_dir = Path(options.checkpoint) if options.checkpoint else Path(options.out) / 'synthetic_checkpoint'
    argv = ['-d', 'synthetic', '--data-dir', options.data_dir, '-k', SYNTHETIC_KEYPOINTS,
            '-f', str(SYNTHETIC_FRAMES), *SYNTHETIC_TRAIN_ARGS, '-c', str(ckpt_dir), *extra]
    log(f'Synthetic mode without --config: training a tiny PoseFormer ({SYNTHETIC_FRAMES} frames, '
        f'{SYNTHETIC_EPOCHS} epochs) into {ckpt_dir}')
    _call(run_main, argv, 'training the tiny synthetic model')
    checkpoint = ckpt_dir / f'epoch_{SYNTHETIC_EPOCHS}.bin'
    if not checkpoint.is_file():
        raise UserError(f'training finished but {checkpoint} was not written')
    return Configuration(SYNTHETIC_KEYPOINTS, SYNTHETIC_FRAMES, str(checkpoint))


def reproduce(options, run_main=None, log=None):
    """Run the reproduction described by parsed `options`; returns the reproduction.json dict."""
    if run_main is None:
        from run_poseformer import main as run_main
    log = log or (lambda *a: print(*a, flush=True))
    try:
        extra = shlex.split(options.extra_args)
    except ValueError as exc:
        raise UserError(f'--extra-args {options.extra_args}: {exc} (quote the flags as a shell would)') from None
    data_dir = Path(options.data_dir)
    out = Path(options.out)
    checkpoint_dir = options.checkpoint or DEFAULT_CHECKPOINT_DIR
    path_3d = data_dir / 'data_3d_h36m.npz'
    notes = []
    mode_reason = ''
    if options.synthetic:
        mode, mode_reason = 'synthetic', '--synthetic was given.'
    elif path_3d.is_file():
        mode = 'h36m'
    else:
        mode = 'synthetic'
        mode_reason = f'No Human3.6M 3D file at {path_3d}, so the embedded synthetic dataset is used.'
        log(f'note: {mode_reason} Its numbers are NOT comparable to the paper.')
    dataset = 'synthetic' if mode == 'synthetic' else 'h36m'

    configs = [parse_configuration(c) for c in (options.config or ([] if mode == 'synthetic' else DEFAULT_CONFIGS))]
    if mode == 'synthetic':
        for c in configs:
            if c.keypoints not in SYNTHETIC_PAPER_KEYPOINTS:
                raise UserError(f'--config {c.name}: the synthetic dataset has keypoints '
                                f"{' and '.join(SYNTHETIC_PAPER_KEYPOINTS)}, not {c.keypoints}")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if mode == 'synthetic' and not configs:
        configs = [_train_synthetic(options, extra, run_main, log)]
        notes.append(f'The checkpoint was trained by this command: `run_poseformer.py -d synthetic -k '
                     f'{SYNTHETIC_KEYPOINTS} -f {SYNTHETIC_FRAMES} {" ".join(SYNTHETIC_TRAIN_ARGS)}`.')

    runnable, skipped = [], []
    for c in configs:
        reason = None
        if mode == 'h36m' and not (data_dir / f'data_2d_h36m_{c.keypoints}.npz').is_file():
            reason = f'2D file {data_dir / f"data_2d_h36m_{c.keypoints}.npz"} not found'
        elif not _checkpoint_path(checkpoint_dir, c.checkpoint).is_file():
            reason = (f'checkpoint {c.checkpoint} not found (looked in {checkpoint_dir}/ and as a path; '
                      'see checkpoint/README.md)')
        if reason:
            log(f'note: skipping {c.name}: {reason}')
            skipped.append({'config': c.name, 'reason': reason})
            notes.append(f'Skipped `{c.name}`: {reason}.')
        else:
            runnable.append(c)
    if not runnable:
        raise UserError('no configuration can run: ' + '; '.join(f"{s['config']}: {s['reason']}" for s in skipped)
                        + '. Put the checkpoints in the -c folder and the data in --data-dir (see data/README.md), '
                          'or run with --synthetic')

    items = []
    for c in runnable:
        results_path = out / f'results_{c.keypoints}_{c.frames}f.json'
        argv = ['-d', dataset, '--data-dir', options.data_dir, '-k', c.keypoints, '-f', str(c.frames),
                '-c', checkpoint_dir, '--evaluate', c.checkpoint, '--results-json', str(results_path)]
        if mode == 'synthetic':
            argv += ['--downsample', str(SYNTHETIC_DOWNSAMPLE)]
        _call(run_main, argv + extra, f'evaluating {c.name}')
        results = json.loads(results_path.read_text(encoding='utf-8'))
        paper_keypoints = SYNTHETIC_PAPER_KEYPOINTS[c.keypoints] if mode == 'synthetic' else c.keypoints
        paper = paper_entries(paper_keypoints, c.frames)
        items.append({'keypoints': c.keypoints, 'frames': c.frames, 'checkpoint': c.checkpoint,
                      'synthetic': mode == 'synthetic', 'paper_keypoints': paper_keypoints,
                      'results_json': str(results_path), 'run_config': results.get('config', {}),
                      'paper': paper, 'table': compare(results, paper), 'results': results})
    report = {'mode': mode, 'comparable_to_paper': mode == 'h36m', 'mode_reason': mode_reason,
              'generated_at': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
              'command': 'python tools/reproduce.py ' + shlex.join(options.argv),
              'seconds': round(time.perf_counter() - started, 1), 'units': 'mm',
              'difference': 'ours - paper', 'notes': notes, 'skipped': skipped, 'configurations': items}
    markdown = format_document(report)
    atomic_write_text(out / 'reproduction.md', markdown)
    atomic_write_text(out / 'reproduction.json', json.dumps(report, indent=2))
    log(markdown)
    log(f'Written {out / "reproduction.md"} and {out / "reproduction.json"} ({report["seconds"]:.0f} s).')
    return report


def main(argv=None, run_main=None):
    """Command-line entry; returns the exit status (2 with ``error: ...`` for user errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def body():
        options = build_parser().parse_args(argv)
        options.argv = argv
        reproduce(options, run_main=run_main)
    return run_program(body)


if __name__ == '__main__':
    sys.exit(main())
