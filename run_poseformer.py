"""PoseFormer command line: train, evaluate and render (official flags; see README.md).

    python run_poseformer.py -k cpn_ft_h36m_dbb -f 81                       # train
    python run_poseformer.py -k cpn_ft_h36m_dbb -c checkpoint --evaluate detected81f.bin
    torchrun --nproc_per_node 2 run_poseformer.py ...                       # several GPUs / processes
    torchrun ... run_poseformer.py ... -c ckpt -r auto                      # restartable (README: cluster)

`main(argv)` is importable and returns the exit status; user errors print ``error: ...`` and
return 2 without a traceback. This file wires flags (`cli.arguments`) to the library (`common`):
data -> model -> training -> evaluation -> report / render.
"""
import contextlib
import functools
import sys
import time
from pathlib import Path

from cli.entry import run_program
from common.errors import UserError

ROOT_DIR = Path(__file__).resolve().parent


def main(argv=None):
    from cli.arguments import FLAG_NAMES, parse_args
    phase, parsed, started = RunPhase(), [], time.time()

    def body():
        parsed.append(parse_args(argv))
        return run(parsed[0], phase)
    return run_program(body, FLAG_NAMES, interrupted_note=phase.interrupted_note,
                       out_of_memory_hint=lambda: memory_hint(parsed[0] if parsed else None, started))


class RunPhase:
    """How far a run got, so that an interrupt says only what is true then (see `interrupted_note`)."""

    def __init__(self):
        self.name = 'start'            # start | evaluate-only | train | after-train
        self.folder = None             # the CheckpointFolder being trained into

    def interrupted_note(self):
        atomic = 'files written so far are complete (writes are atomic)'
        if self.name == 'evaluate-only':
            return f'--evaluate writes no checkpoint; {atomic}'
        if self.name == 'train':
            last = self.folder.latest()
            if last is not None:
                return (f'checkpoints written so far are complete (writes are atomic); -r {last.name} (or the '
                        f'same command with -r auto) continues from the last finished epoch ({last})')
            return 'no epoch had finished, so no checkpoint was written'
        if self.name == 'after-train':
            return ('training had finished and its checkpoints are complete; the final evaluation was cut short '
                    f'({atomic})')
        return f'stopped before training began: no checkpoint was written; {atomic}'


def run(args, phase=None):
    """The run of the parsed flags `args`, in phases: start the process(es), choose and hold the checkpoint,
    load the data, build the model, train, then (main process) evaluate and render. Returns the exit status."""
    from common.distributed import teardown_distributed
    from common.io.checkpoint_folder import CheckpointFolder

    phase = phase or RunPhase()
    check_outputs(args)
    context = start_processes(args)
    log = functools.partial(print, flush=True) if context.is_main else (lambda *a, **k: None)
    note_unused_flags(args, log)
    held = contextlib.ExitStack()          # the checkpoint folder's lock while training, the experiment log
    try:
        if args.evaluate:
            phase.name = 'evaluate-only'
        experiment_log = open_experiment_log(args, context, held)
        folder = CheckpointFolder(args.checkpoint)
        checkpoint_file, checkpoint = choose_checkpoint(args, folder, context, held, log)
        bundle = load_data(args, log)
        model = build_model(args, bundle, checkpoint, checkpoint_file, context.device, log)
        if not args.evaluate:
            train_model(args, folder, bundle, model, checkpoint, checkpoint_file, context, phase, experiment_log,
                        log)
            phase.name = 'after-train'
        teardown_distributed(context, together=True)     # every rank leaves now; the main process evaluates alone
        if context.is_main:
            evaluate_and_render(args, bundle, model, checkpoint, context.device, experiment_log, log)
        return 0
    finally:
        held.close()
        teardown_distributed(context)


def start_processes(args):
    """Threads, numerics and (under torchrun) the process group; returns the `DistributedContext`."""
    import torch

    from common.distributed import setup_distributed
    from common.malloc_tuning import tune_malloc
    from common.numerics import prepare_numerics
    tune_malloc()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    prepare_numerics(args.deterministic)          # before the first CUDA matmul
    return setup_distributed(resolve_device(args.device))


def note_unused_flags(args, log):
    from cli import arguments as cli_args
    unused = cli_args.unused_flags_given(args)
    if unused:
        log(f'note: {", ".join(unused)}: accepted as by the official code, which does not use '
            f'{"it" if len(unused) == 1 else "them"} either (no effect)')


def open_experiment_log(args, context, held):
    """The run's `ExperimentLog` (TensorBoard on the main process when asked for), closed by `held`."""
    from common.experiment_log import NullLog, open_tensorboard_log
    if not (args.tensorboard and context.is_main):
        return NullLog()
    experiment_log = open_tensorboard_log(args.tensorboard)
    held.callback(experiment_log.close)
    return experiment_log


def choose_checkpoint(args, folder, context, held, log):
    """The checkpoint the run starts from: (its name as given or chosen, the loaded dict), ('', None) for none.

    A training holds `folder` from here on (rank 0: lock, refusal of an earlier run's checkpoints). With
    ``-r auto`` rank 0 chooses the resume point under the lock and the other ranks follow it.
    """
    from cli import arguments as cli_args
    from common.distributed import broadcast_from_main
    from common.io.checkpoint import load_checkpoint
    auto_resume = args.resume == cli_args.AUTO_RESUME
    checkpoint_file = args.evaluate or (args.resume if not auto_resume else
                                        folder.resume_point(args.resume, auto=True) if context.is_main else '')
    if not args.evaluate and context.is_main:
        # One training per folder; an earlier run's checkpoints are kept unless resumed or --overwrite.
        held.enter_context(folder.claim(resume_from=folder.resolve(checkpoint_file) if checkpoint_file else None,
                                        overwrite=args.overwrite))
    checkpoint = None
    if checkpoint_file and context.is_main:
        checkpoint = load_checkpoint(folder.resolve(checkpoint_file))
    if auto_resume:
        checkpoint_file = broadcast_from_main(checkpoint_file, context)
        log(f'-r auto: resuming from {folder.file(checkpoint_file)}' if checkpoint_file else
            f'-r auto: no {folder.last.name} in {args.checkpoint}: starting a fresh run')
    if checkpoint_file and checkpoint is None:
        checkpoint = load_checkpoint(folder.resolve(checkpoint_file))
    return checkpoint_file, checkpoint


def load_data(args, log):
    """The run's `DataBundle` (rendering with --evaluate: only the rendered sequence)."""
    from cli import arguments as cli_args
    from common.data.sources import load_bundle
    if args.evaluate and args.render:
        from common.render.sequence import load_render_bundle
        bundle = load_render_bundle(cli_args.data_config(args, need_train=False), cli_args.render_config(args))
    else:
        bundle = load_bundle(cli_args.data_config(args, need_train=not args.evaluate))
    log(f'Dataset {bundle.name}: {len(bundle.train)} training and {len(bundle.test)} test sequences '
        f'({sum(len(s.poses_2d) for s in bundle.train)} / {sum(len(s.poses_2d) for s in bundle.test)} frames)')
    return bundle


def build_model(args, bundle, checkpoint, checkpoint_file, device, log):
    """The run's PoseTransformer on `device`: the flags' model, or the checkpoint's (weights loaded); data of
    another layout than the checkpoint's is refused."""
    from cli import arguments as cli_args
    from cli.checkpoint_notes import head_count_note, layout_notes
    from common.model.complexity import count_parameters, macs_per_output_frame
    from common.model.loading import model_for_run
    notes = layout_notes(checkpoint, checkpoint_file, bundle)         # refuses data of another layout
    model = model_for_run(cli_args.model_request(args, bundle.num_joints), checkpoint, checkpoint_file,
                          frames_given=args.number_of_frames is not None, seed=args.seed, given=args.model_given)
    model = model.to(device).choose_attention(device)
    for note in notes + [head_count_note(checkpoint, checkpoint_file, model.config.num_heads)]:
        if note:
            log(note)
    log(f'PoseTransformer: {model.num_frame} frames, {count_parameters(model):,} parameters, '
        f'{macs_per_output_frame(model) / 1e9:.4g} GMACs per output frame')
    if args.amp and device.type != 'cuda':
        log('note: on the CPU --amp runs training\'s temporal stage in bf16; evaluation stays fp32')
    return model


def train_model(args, folder, bundle, model, checkpoint, checkpoint_file, context, phase, experiment_log, log):
    """Train `model` from the checkpoint's state (or afresh) to -e epochs; -r auto first checks that the
    checkpoint's run had this command's settings."""
    import torch

    from cli import arguments as cli_args
    from common.progress import progress_wanted
    from common.training import check_epochs_left, make_optimizer, new_state, state_from_checkpoint, train
    device, progress = context.device, progress_wanted(args.progress)
    config = cli_args.train_config(args, device, cli_args.data_config(args), model.config, progress)
    auto_resume = args.resume == cli_args.AUTO_RESUME
    if auto_resume and checkpoint is not None and context.is_main:
        folder.check_same_run(checkpoint, config.settings)
    torch.manual_seed(args.seed)
    optimizer = make_optimizer(model, args.learning_rate, device)
    state = state_from_checkpoint(checkpoint, optimizer, args.seed, context) if checkpoint else new_state(config)
    finished = auto_resume and state.epoch == config.epochs     # e.g. requeued during the final evaluation
    if not finished:
        check_epochs_left(state, config)
    if checkpoint:
        log(f'Resuming from {checkpoint_file} at epoch {state.epoch} (lr {state.lr:g})')
    on_epoch_end = None
    if args.export_training_curves:
        from common.plots import plot_training_curves
        on_epoch_end = lambda st: plot_training_curves(st.history, args.checkpoint)  # noqa: E731
    both = sorted({s.subject for s in bundle.train} & {s.subject for s in bundle.test})
    if both:
        what = 'is both a training and a test subject' if len(both) == 1 else 'are both training and test subjects'
        log(f'note: {", ".join(both)} {what} (-str / -ste): the test errors include frames the model trained on')
    if finished:
        log(f'-r auto: the run in {args.checkpoint} has trained all {args.epochs} epochs; evaluating it')
        return
    processes = '1 process' if context.world_size == 1 else f'{context.world_size} processes (torchrun)'
    log(f'Training epochs {state.epoch + 1} to {args.epochs} on {device} ({processes}, '
        f'batch {args.batch_size}, lr {state.lr:g}, lrd {args.lr_decay}, augmentation {args.data_augmentation})')
    log('Each epoch line: [epoch] time <minutes> lr <learning rate> 3d_train <training MPJPE, mm>'
        + (' 3d_eval <training-set MPJPE in eval mode, mm>' if args.eval_train and not args.no_eval else '')
        + ('' if args.no_eval else ' 3d_valid <test MPJPE with flip TTA, mm>'))
    phase.name, phase.folder = 'train', folder
    train(model, optimizer, bundle, state, config, device, context, log=log, progress=progress,
          on_epoch_end=on_epoch_end, experiment_log=experiment_log)


def evaluate_and_render(args, bundle, model, checkpoint, device, experiment_log, log):
    """Main process: evaluate the test set (or, with --render, just the chosen sequence), report, render /
    export."""
    import torch

    from cli import arguments as cli_args
    from common.evaluation import evaluate
    from common.progress import progress_wanted
    from common.report import format_report, write_results_json
    if args.compile:
        # Evaluation calls the two stages one by one: compile them now (training compiled its own step).
        model.forward_spatial = torch.compile(model.forward_spatial)
        model.forward_temporal = torch.compile(model.forward_temporal)
    options = cli_args.eval_options(args, device, progress_wanted(args.progress))
    # As the official script: --render predicts just the chosen sequence instead of evaluating the
    # whole test set; without --render the test set is evaluated (and, our addition, the sequence
    # named by --viz-subject/--viz-action is exported when --viz-export is given).
    if not args.render and any(seq.poses_3d is not None for seq in bundle.test):
        log('Evaluating...')
        result = evaluate(model, bundle.test, bundle.symmetry, bundle.protocol, options,
                          config=run_config(args, model))
        log(format_report(result, tta=args.test_time_augmentation))
        step = int(checkpoint.get('epoch', 0)) if args.evaluate else args.epochs
        experiment_log.log_evaluation(result, step=step)
        if args.results_json:
            write_results_json(args.results_json, result)
            log(f'Results written to {args.results_json}')
    if args.viz_export and not args.render and not args.viz_subject:
        log('note: --viz-export without --render exports nothing unless --viz-subject and --viz-action name '
            'a sequence (the official program exports only with --render)')
    elif args.render or args.viz_export:
        from common.render.sequence import load_render_bundle, render_from_config
        render_cfg = cli_args.render_config(args)
        rendering_only = args.evaluate and args.render      # then the bundle is the rendered sequence already
        render_bundle = bundle if rendering_only else load_render_bundle(
            cli_args.data_config(args, need_train=False), render_cfg)
        render_from_config(render_cfg, model, render_bundle, device, options, log=log)


def check_outputs(args):
    """Every output file of the run can be written: checked before any work (a run must not fail at its end).

    The checkpoint folder is checked when training claims it (`common.io.run_lock`), also before any work.
    """
    from common.io.writable import check_output_file
    from common.render.sequence import export_path
    for setting in ('results_json', 'viz_output'):
        if getattr(args, setting):
            check_output_file(getattr(args, setting), setting)
    if args.viz_export:
        check_output_file(export_path(args.viz_export), 'viz_export')
    if args.tensorboard:
        from common.experiment_log import require_tensorboard
        from common.io.writable import check_output_folder
        require_tensorboard()
        check_output_folder(args.tensorboard, 'tensorboard')


def memory_hint(args, started):
    """After running out of memory: which settings to lower, and which checkpoint was kept.

    `started`: when the run began (time.time()), so that an earlier run's checkpoint is not taken for this one's.
    """
    from common.io.checkpoint_folder import CheckpointFolder
    if args is not None and args.evaluate:
        return 'lower --eval-batch-size (evaluation windows per batch)'
    hint = ('lower -b (training batch), --eval-batch-size (evaluation windows per batch) or -f (frames per window, '
            'a new model only)')
    if args is None:
        return hint
    folder = CheckpointFolder(args.checkpoint)
    last = folder.latest() if args.resume else folder.written_since(started)
    if last is not None:
        return f'{hint}; the last checkpoint, {last}, is kept: resume from it with -r {last.name}'
    return f'{hint}; this run had written no checkpoint yet'


def resolve_device(name):
    import torch
    if name == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda: no CUDA device is available here; use --device cpu (or auto)')
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(name)


def run_config(args, model):
    """The run's flags and model configuration as plain data (kept in --results-json)."""
    config = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None), list))}
    config['model'] = dict(model.config)
    return config


if __name__ == '__main__':
    sys.exit(main())
