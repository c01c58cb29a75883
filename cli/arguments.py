"""run_poseformer.py's flags: the official PoseFormer flags (same names, short forms, defaults) plus ours,
and the translation of parsed flags into the library's typed configurations.

`parse_args(argv)` parses and validates; every invalid combination raises `UserError` naming the flag
and the fix. The ``*_config`` functions are the only place where flags meet the library: the library
never sees an argparse namespace, and errors it raises name a setting (an argparse dest), which
`FLAG_NAMES` turns back into the flag the user typed.
"""
import argparse
import shlex
import sys
import math

from cli.parser import ArgumentParser, flag_names
from common.data.sources import DATASETS
from common.errors import UserError
from common.render.sequence import check_viz_size

DEFAULT_SUBJECTS_TRAIN, DEFAULT_SUBJECTS_TEST = 'S1,S5,S6,S7,S8', 'S9,S11'
MAX_SEED = 2 ** 32 - 1           # numpy's RandomState (the official sampler) takes seeds 0 to 2**32 - 1
# Model flags (argparse dest -> ModelConfig field) that a checkpoint decides with --evaluate / -r: left out,
# they follow the checkpoint; given with another value than the checkpoint's, they are refused
# (`common.model.loading.resolve_model_config`). Their defaults without a checkpoint:
MODEL_FLAGS = {'number_of_frames': 'num_frame', 'embed_dim_ratio': 'embed_dim_ratio', 'depth': 'depth',
               'num_heads': 'num_heads', 'causal': 'causal'}
MODEL_DEFAULTS = {'number_of_frames': 81, 'embed_dim_ratio': 32, 'depth': 4, 'num_heads': 8, 'causal': False}
AUTO_RESUME = 'auto'      # -r auto: continue the run in -c if there is one (see run_poseformer.py)


def build_parser():
    parser = ArgumentParser(prog='run_poseformer.py', preferred=OFFICIAL_DESTS,
                     description='PoseFormer: train and evaluate 2D-to-3D pose lifting (Zheng et al., ICCV 2021).')

    general = parser.add_argument_group('General (official)')
    general.add_argument('-d', '--dataset', default='h36m', metavar='NAME',
                         help=f'dataset: {", ".join(DATASETS)} (default h36m; "synthetic" is the embedded dataset '
                              'generated on first use)')
    general.add_argument('-k', '--keypoints', default='cpn_ft_h36m_dbb', metavar='NAME',
                         help='2D detections: reads <data-dir>/data_2d_<dataset>_<NAME>.npz (default cpn_ft_h36m_dbb)')
    general.add_argument('-str', '--subjects-train', default=None, metavar='LIST',
                         help=f'training subjects separated by commas (default {DEFAULT_SUBJECTS_TRAIN}; '
                              '-d 3dhp: all of its training subjects)')
    general.add_argument('-ste', '--subjects-test', default=None, metavar='LIST',
                         help=f'test subjects separated by commas (default {DEFAULT_SUBJECTS_TEST}; '
                              '-d 3dhp: all of its test subjects)')
    general.add_argument('-a', '--actions', default='*', metavar='LIST',
                         help='actions to train/test on, separated by commas (prefix match), or * for all')
    general.add_argument('-c', '--checkpoint', default='checkpoint', metavar='PATH', help='checkpoint directory')
    general.add_argument('--checkpoint-frequency', default=40, type=int, metavar='N',
                         help='create a checkpoint every N epochs')
    general.add_argument('--overwrite', action='store_true',
                         help='(ours) replace the training checkpoints of an earlier run in -c (otherwise such a '
                              'folder is refused unless -r resumes from it)')
    general.add_argument('-r', '--resume', default='', metavar='FILENAME',
                         help='checkpoint to resume (file name inside -c, or a path); auto (ours): continue from '
                              'last_epoch.bin in -c when there is one (a run with other settings is refused), '
                              'else start afresh: one command for a first start, a restart and a requeue')
    general.add_argument('--evaluate', default='', metavar='FILENAME',
                         help='checkpoint to evaluate (file name inside -c, or a path)')
    general.add_argument('--render', action='store_true', help='render a video of one sequence (see --viz-*)')
    general.add_argument('--by-subject', action='store_true', help='break the evaluation down by subject')
    general.add_argument('--export-training-curves', action='store_true',
                         help='save training curves as PNG images in the checkpoint directory')

    model = parser.add_argument_group('Model and training (official)')
    model.add_argument('-s', '--stride', default=1, type=int, metavar='N',
                       help='chunk size to use during training (PoseFormer predicts one frame: must be 1)')
    model.add_argument('-e', '--epochs', default=200, type=int, metavar='N', help='number of training epochs')
    model.add_argument('-b', '--batch-size', default=512, type=int, metavar='N',
                       help='batch size in terms of predicted frames')
    model.add_argument('-drop', '--dropout', default=0., type=float, metavar='P',
                       help='accepted, no effect: the official code never passes it to the model (see --model-dropout)')
    model.add_argument('-lr', '--learning-rate', default=0.0001, type=float, metavar='LR', help='initial learning rate')
    model.add_argument('-lrd', '--lr-decay', default=0.99, type=float, metavar='LR',
                       help='learning rate decay per epoch')
    model.add_argument('-no-da', '--no-data-augmentation', dest='data_augmentation', action='store_false',
                       help='disable train-time flipping')
    model.add_argument('-no-tta', '--no-tta', '--no-test-time-augmentation', dest='test_time_augmentation',
                       action='store_false', help='disable test-time flipping')
    model.add_argument('--causal', action='store_true', default=None,
                       help='(as VideoPose3D) predict the last frame of each window: no look-ahead, zero streaming '
                            "latency; with --evaluate/-r: the checkpoint's")
    model.add_argument('-f', '-frame', '--number-of-frames', dest='number_of_frames', default=None, type=int,
                       metavar='N', help='input frames per window, odd (default 81; with --evaluate/-r: the '
                                         "checkpoint's)")

    experimental = parser.add_argument_group('Experimental (official)')
    experimental.add_argument('--subset', default=1, type=float, metavar='FRACTION',
                              help='reduce dataset size by fraction')
    experimental.add_argument('--downsample', default=1, type=int, metavar='FACTOR',
                              help='downsample frame rate by factor')
    experimental.add_argument('--no-eval', action='store_true',
                              help='disable epoch evaluation while training (small speed-up)')

    viz = parser.add_argument_group('Visualization (official)')
    viz.add_argument('--viz-subject', metavar='STR', help='subject to render')
    viz.add_argument('--viz-action', metavar='STR', help='action to render')
    viz.add_argument('--viz-camera', type=int, default=0, metavar='N', help='camera to render')
    viz.add_argument('--viz-video', metavar='PATH', help='path to input video')
    viz.add_argument('--viz-skip', type=int, default=0, metavar='N', help='skip first N frames of input video')
    viz.add_argument('--viz-output', metavar='PATH', help='output file name (.gif or .mp4)')
    viz.add_argument('--viz-export', metavar='PATH', help='output file name for coordinates (.npy)')
    viz.add_argument('--viz-bitrate', type=int, default=3000, metavar='N', help='bitrate for mp4 videos')
    viz.add_argument('--viz-no-ground-truth', action='store_true', help='do not show ground-truth poses')
    viz.add_argument('--viz-limit', type=int, default=-1, metavar='N', help='only render first N frames')
    viz.add_argument('--viz-downsample', type=int, default=1, metavar='N', help='downsample FPS by a factor N')
    viz.add_argument('--viz-size', type=int, default=5, metavar='N', help='image size')

    ours = parser.add_argument_group('Additions of this implementation')
    ours.add_argument('--data-dir', default='data', metavar='PATH', help='folder of the .npz data files (default data)')
    ours.add_argument('--device', default='auto', choices=('auto', 'cpu', 'cuda'),
                      help='where to run (default auto: CUDA when available)')
    ours.add_argument('--seed', default=1234, type=int,
                      help=f'seed of the training sampler and the model init, 0 to {MAX_SEED}')
    ours.add_argument('--eval-batch-size', default=256, type=int, metavar='N',
                      help='windows per evaluation batch (memory stays flat in video length)')
    ours.add_argument('--results-json', metavar='PATH', help='write every evaluation number and the configuration here')
    ours.add_argument('--eval-train', action='store_true',
                      help='also report 3d_eval, the error on the training set in eval mode, each epoch')
    ours.add_argument('--embed-dim-ratio', default=None, type=int, metavar='C',
                      help="spatial embedding size c (default 32; with --evaluate/-r: the checkpoint's)")
    ours.add_argument('--depth', default=None, type=int, metavar='L',
                      help="transformer blocks per stage (default 4; with --evaluate/-r: the checkpoint's)")
    ours.add_argument('--num-heads', default=None, type=int, metavar='H',
                      help="attention heads (default 8; with --evaluate/-r: the checkpoint's; released files do not "
                           'record it: then this value, 8 unless given)')
    ours.add_argument('--drop-path', default=0.1, type=float, metavar='P', help='stochastic depth rate (default 0.1)')
    ours.add_argument('--model-dropout', default=0., type=float, metavar='P',
                      help='dropout after the position embeddings, attention projections and MLPs (default 0, '
                           'as the official model, whatever -drop says)')
    ours.add_argument('--amp', action='store_true',
                      help='bf16 autocast (fp32 is the default, for fidelity): on CUDA both stages, in training and '
                           'evaluation; on the CPU the temporal stage in training only (evaluation stays fp32); '
                           'changes the results on both')
    ours.add_argument('--no-tf32', dest='tf32', action='store_false',
                      help='on CUDA, full fp32 matmuls instead of TF32 (TF32 is the default there, as PyTorch 1.7 '
                           'on the paper\'s GPUs)')
    ours.add_argument('--deterministic', action='store_true',
                      help='deterministic algorithms (bitwise-repeatable runs and resumes on CUDA; slower)')
    ours.add_argument('--compile', action='store_true', help='torch.compile the model (slow start, faster steps)')
    ours.add_argument('--tensorboard', metavar='DIR',
                      help='also log to TensorBoard in DIR: per-epoch train / valid MPJPE, lr, samples/s and the '
                           'final per-action table (needs the optional package: pip install tensorboard)')
    ours.add_argument('--threads', default=0, type=int, metavar='N', help='CPU threads for torch (default: all cores)')
    ours.add_argument('--progress', choices=('auto', 'on', 'off'), default='auto',
                      help='progress bars (auto: only on a terminal and when CI is not set)')
    ours.add_argument('--synthetic-seed', default=0, type=int,
                      help='seed of the embedded synthetic dataset (-d synthetic)')

    # Flags of the official argument list that PoseFormer never reads (VideoPose3D's semi-supervised
    # and convolutional options): accepted so that official command lines run, reported as unused.
    for flags, kwargs in UNUSED_OFFICIAL_FLAGS:
        parser.add_argument(*flags, help=argparse.SUPPRESS, **kwargs)
    return parser


UNUSED_OFFICIAL_FLAGS = (
    (('-sun', '--subjects-unlabeled'), dict(dest='subjects_unlabeled', default='', metavar='LIST')),
    (('--warmup',), dict(dest='warmup', default=1, type=int, metavar='N')),
    (('--dense',), dict(dest='dense', action='store_true')),
    (('--disable-optimizations',), dict(dest='disable_optimizations', action='store_true')),
    (('--linear-projection',), dict(dest='linear_projection', action='store_true')),
    (('--no-bone-length',), dict(dest='bone_length_term', action='store_false')),
    (('--no-proj',), dict(dest='no_proj', action='store_true')),
)
# The official program's flags (argparse dests): they win an ambiguous abbreviation, as in the
# official program, where `--eval x.bin` means --evaluate and `--num 27` --number-of-frames.
OFFICIAL_DESTS = frozenset({
    'dataset', 'keypoints', 'subjects_train', 'subjects_test', 'subjects_unlabeled', 'actions', 'checkpoint',
    'checkpoint_frequency', 'resume', 'evaluate', 'render', 'by_subject', 'export_training_curves', 'stride',
    'epochs', 'batch_size', 'dropout', 'learning_rate', 'lr_decay', 'data_augmentation', 'number_of_frames',
    'subset', 'downsample', 'warmup', 'no_eval', 'dense', 'disable_optimizations', 'linear_projection',
    'bone_length_term', 'no_proj', 'viz_subject', 'viz_action', 'viz_camera', 'viz_video', 'viz_skip',
    'viz_output', 'viz_export', 'viz_bitrate', 'viz_no_ground_truth', 'viz_limit', 'viz_downsample', 'viz_size'})


def unused_flags_given(args):
    """The official flags without effect that this command line set (for a note), e.g. ['-drop 0.2']."""
    given = [flags[0] for flags, kwargs in UNUSED_OFFICIAL_FLAGS
             if getattr(args, kwargs['dest']) != PARSER.get_default(kwargs['dest'])]
    if args.dropout:
        given.insert(0, f'-drop {args.dropout:g}')
    return given


def parse_args(argv=None):
    args = PARSER.parse_args(argv)
    validate(args)
    # The command line as given (kept in training checkpoints: `provenance`).
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def validate(args):
    # Remember which model flags were given (with a checkpoint the others follow it), then fill in the defaults
    # (-f stays None when not given: the frame count of a checkpoint is not known yet).
    args.model_given = frozenset(field for dest, field in MODEL_FLAGS.items() if getattr(args, dest) is not None)
    for dest, default in MODEL_DEFAULTS.items():
        if dest != 'number_of_frames' and getattr(args, dest) is None:
            setattr(args, dest, default)
    exporting = bool(args.viz_export and args.viz_subject)      # our addition: export without --render
    if not 0 <= args.seed <= MAX_SEED:
        raise UserError(f'--seed {args.seed}: give a whole number from 0 to {MAX_SEED} (the range numpy\'s random '
                        'generator accepts)')
    if args.dataset not in DATASETS:
        raise UserError(f'-d {args.dataset}: unknown dataset; choose one of {", ".join(DATASETS)}')
    if args.resume and args.evaluate:
        raise UserError('-r/--resume and --evaluate cannot be used together: resume trains, --evaluate only evaluates')
    if args.resume == AUTO_RESUME and args.overwrite:
        raise UserError('-r auto and --overwrite cannot be used together: auto continues the run whose checkpoints '
                        'are in -c, --overwrite replaces them')
    if args.export_training_curves and args.no_eval:
        raise UserError('--export-training-curves needs the per-epoch evaluation: drop --no-eval')
    if args.number_of_frames is not None and (args.number_of_frames < 1 or args.number_of_frames % 2 == 0):
        raise UserError(f'-f {args.number_of_frames}: the number of frames must be a positive odd number '
                        '(the model predicts the centre frame), e.g. 27 or 81')
    if args.stride != 1:
        raise UserError(f'-s {args.stride}: PoseFormer predicts one frame per window, so the chunk size must be 1')
    for flag, value, low in (('-e', args.epochs, 1), ('-b', args.batch_size, 1),
                             ('--checkpoint-frequency', args.checkpoint_frequency, 1),
                             ('--eval-batch-size', args.eval_batch_size, 1), ('--downsample', args.downsample, 1),
                             ('--viz-downsample', args.viz_downsample, 1), ('--depth', args.depth, 1),
                             ('--embed-dim-ratio', args.embed_dim_ratio, 1), ('--num-heads', args.num_heads, 1)):
        if value < low:
            raise UserError(f'{flag} {value}: must be at least {low}')
    if not 0 < args.subset <= 1:
        raise UserError(f'--subset {args.subset}: must be a fraction in (0, 1]')
    for flag, value in (('-drop', args.dropout), ('--drop-path', args.drop_path), ('--model-dropout', args.model_dropout)):
        if not 0 <= value < 1:
            raise UserError(f'{flag} {value}: a probability in [0, 1) is needed')
    if not (math.isfinite(args.learning_rate) and args.learning_rate > 0):
        raise UserError(f'-lr {args.learning_rate}: the learning rate must be a positive number, e.g. 0.0001')
    if not (math.isfinite(args.lr_decay) and 0 < args.lr_decay <= 1):
        raise UserError(f'-lrd {args.lr_decay}: the decay multiplies the learning rate after every epoch; '
                        'give a number in (0, 1], e.g. 0.99 (1: no decay)')
    check_viz_size(args.viz_size)
    for flag, value, low in (('--viz-bitrate', args.viz_bitrate, 1), ('--viz-skip', args.viz_skip, 0),
                             ('--viz-camera', args.viz_camera, 0), ('--threads', args.threads, 0)):
        if value < low:
            raise UserError(f'{flag} {value}: must be at least {low}')
    if args.dataset == 'custom' and args.evaluate and not (args.render or exporting):
        raise UserError('-d custom has no 3D ground truth, so --evaluate alone has nothing to score: add '
                        '--viz-export OUT.npy (the lifted 3D poses) and/or --render --viz-output OUT.mp4, with '
                        '--viz-subject VIDEO --viz-action custom')
    if (args.render or exporting) and not (args.viz_subject and args.viz_action):
        raise UserError('--render / --viz-export name one sequence with --viz-subject and --viz-action '
                        '(e.g. --viz-subject S9 --viz-action Eating; -d custom: the video name and "custom")')
    if args.render and not (args.viz_output or args.viz_export):
        raise UserError('--render needs --viz-output (.gif or .mp4) and/or --viz-export (.npy)')
    if args.viz_output and not (args.render or args.viz_export):
        raise UserError(f'--viz-output {args.viz_output}: add --render to write it')
    if args.viz_output and not args.viz_output.lower().endswith(('.gif', '.mp4')):
        raise UserError(f'--viz-output {args.viz_output}: the file name must end in .gif or .mp4')
    if args.embed_dim_ratio % args.num_heads:
        raise UserError(f'--num-heads {args.num_heads} must divide --embed-dim-ratio {args.embed_dim_ratio} '
                        '(each head gets an equal share of the spatial embedding)')
    # Remember which subject lists were chosen (a source has its own default), then show the defaults.
    args.subjects_given = {'subjects_train': args.subjects_train is not None,
                           'subjects_test': args.subjects_test is not None}
    if args.subjects_train is None:
        args.subjects_train = DEFAULT_SUBJECTS_TRAIN
    if args.subjects_test is None:
        args.subjects_test = DEFAULT_SUBJECTS_TEST
    return args


PARSER = build_parser()
FLAG_NAMES = flag_names(PARSER)      # setting (argparse dest) -> the flag, for error messages


# ------------------------------------------------------------------ flags -> the library's configurations

def _names(text):
    return tuple(name for name in text.split(',') if name)


def data_config(args, need_train=True):
    """The `DataConfig` of the parsed flags."""
    from common.data.sources import DataConfig
    return DataConfig(
        dataset=args.dataset, keypoints=args.keypoints, data_dir=args.data_dir,
        subjects_train=_names(args.subjects_train) if args.subjects_given['subjects_train'] else None,
        # As the official program: rendering looks for the rendered subject among the test subjects.
        subjects_test=((args.viz_subject,) if args.render else
                       _names(args.subjects_test) if args.subjects_given['subjects_test'] else None),
        actions=None if args.actions == '*' else _names(args.actions), subset=args.subset,
        downsample=args.downsample, synthetic_seed=args.synthetic_seed, need_train=need_train,
        only_subject=args.viz_subject)


def model_request(args, num_joints):
    """The `ModelConfig` the flags ask for (a checkpoint may overrule it: `common.model.loading`)."""
    from common.model.config import ModelConfig
    return ModelConfig(num_frame=args.number_of_frames or MODEL_DEFAULTS['number_of_frames'], num_joints=num_joints,
                       embed_dim_ratio=args.embed_dim_ratio, depth=args.depth, num_heads=args.num_heads,
                       drop_rate=args.model_dropout, drop_path_rate=args.drop_path, causal=args.causal)


def eval_options(args, device, progress=False):
    """The `EvalOptions` of the parsed flags."""
    from common.evaluation import EvalOptions
    return EvalOptions(tta=args.test_time_augmentation, batch_size=args.eval_batch_size, device=device,
                       amp=args.amp, progress=progress, by_subject=args.by_subject)


def train_config(args, device, data, model_config, progress=False):
    """The `TrainConfig` of the parsed flags; its recorded ``settings`` are those of the typed configurations
    (`common.io.checkpoint_folder.run_settings`) of `data` (the run's `DataConfig`), `model_config` (the
    `ModelConfig` of the model trained) and itself."""
    from dataclasses import replace

    from common.io.checkpoint_folder import run_settings
    from common.training import TrainConfig
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                       lr_decay=args.lr_decay, augment=args.data_augmentation, checkpoint_dir=args.checkpoint,
                       checkpoint_frequency=args.checkpoint_frequency, validate=not args.no_eval,
                       eval_train=args.eval_train, seed=args.seed, amp=args.amp, tf32=args.tf32,
                       deterministic=args.deterministic, compile=args.compile,
                       validation=eval_options(args, device, progress), provenance=provenance(args))
    return replace(config, settings=run_settings(data, model_config, config))


def provenance(args):
    """How a training run's checkpoints were made, as plain data: the command, the seed and the data
    (for the embedded dataset its generator version and seed, which fix its content)."""
    data = {'dataset': args.dataset, 'keypoints': args.keypoints}
    if args.dataset == 'synthetic':
        from common.data.synthetic.dataset import GENERATOR_VERSION
        data.update(synthetic_version=GENERATOR_VERSION, synthetic_seed=args.synthetic_seed)
    return {'command': shlex.join(['python', 'run_poseformer.py', *getattr(args, 'argv', [])]),
            'seed': args.seed, 'data': data}


def render_config(args):
    """The `RenderConfig` of the parsed flags (its fields are the --viz-* settings)."""
    from dataclasses import fields

    from common.render.sequence import RenderConfig
    return RenderConfig(**{f.name: getattr(args, f.name) for f in fields(RenderConfig)})
