"""PoseFormer command line: train, evaluate and render (official flags; see README.md).

    python run_poseformer.py -k cpn_ft_h36m_dbb -f 81                       # train
    python run_poseformer.py -k cpn_ft_h36m_dbb -c checkpoint --evaluate detected81f.bin
    torchrun --nproc_per_node 2 run_poseformer.py ...                       # several GPUs / processes

`main(argv)` is importable and returns the exit status; user errors print ``error: ...`` and
return 2 without a traceback.
"""
import functools
import os
import sys
from pathlib import Path

from common.errors import UserError

ROOT_DIR = Path(__file__).resolve().parent


def main(argv=None):
    try:
        from cli.arguments import parse_args
        args = parse_args(argv)
        return run(args)
    except UserError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('interrupted: checkpoints written so far are complete (writes are atomic)', file=sys.stderr)
        return 130


def run(args):
    import torch

    from common.io.checkpoint import load_checkpoint
    from common.data.sources import load_bundle
    from common.evaluation import EvalOptions, evaluate
    from common.report import format_report, write_results_json
    from common.model.poseformer import count_parameters, macs_per_output_frame
    from common.progress import progress_wanted
    from common.training import (new_state, setup_distributed, state_from_checkpoint, teardown_distributed,
                                 train)

    from common.malloc_tuning import tune_malloc
    tune_malloc()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    context = setup_distributed(device)
    if context.world_size > 1 and device.type == 'cuda':
        device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', 0)))
        torch.cuda.set_device(device)
    log = functools.partial(print, flush=True) if context.is_main else (lambda *a, **k: None)
    progress = progress_wanted(args.progress)
    try:
        evaluate_only = bool(args.evaluate)
        if args.dataset == 'custom' and not evaluate_only:
            raise UserError('-d custom has no 3D ground truth to train on: pass --evaluate CHECKPOINT '
                            '(e.g. a released checkpoint or one trained on Human3.6M) and --render/--viz-export')
        checkpoint_file = args.evaluate or args.resume
        checkpoint = load_checkpoint(resolve_checkpoint_path(args.checkpoint, checkpoint_file)) if checkpoint_file else None

        bundle = load_bundle(args, need_train=not evaluate_only)
        log(f'Dataset {bundle.name}: {len(bundle.train)} training and {len(bundle.test)} test sequences '
            f'({sum(len(s.poses_2d) for s in bundle.train)} / {sum(len(s.poses_2d) for s in bundle.test)} frames)')
        model = build_model(args, checkpoint, bundle.num_joints, checkpoint_file).to(device)
        log(f'PoseTransformer: {model.num_frame} frames, {count_parameters(model):,} parameters, '
            f'{macs_per_output_frame(model) / 1e9:.3f} GMACs per output frame')
        symmetry = bundle.symmetry
        if args.amp and device.type != 'cuda':
            log('note: --amp only acts on CUDA; this run stays in fp32')
        if args.compile:
            # Compile the two stages separately: training calls both through forward, evaluation
            # calls them one by one. Weights and state_dict keys are unchanged.
            model.forward_spatial = torch.compile(model.forward_spatial)
            model.forward_temporal = torch.compile(model.forward_temporal)

        if not evaluate_only:
            torch.manual_seed(args.seed)
            optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.1)
            state = state_from_checkpoint(checkpoint, optimizer, args.seed) if checkpoint else new_state(args)
            if checkpoint:
                log(f'Resuming from {checkpoint_file} at epoch {state.epoch} (lr {state.lr:g})')
            train_model = model
            if context.world_size > 1:
                from torch.nn.parallel import DistributedDataParallel
                train_model = DistributedDataParallel(model, device_ids=[device] if device.type == 'cuda' else None)
            on_epoch_end = None
            if args.export_training_curves:
                from common.plots import plot_training_curves
                on_epoch_end = lambda st: plot_training_curves(st.history, args.checkpoint)  # noqa: E731
            os.makedirs(args.checkpoint, exist_ok=True)
            log(f'Training for {args.epochs} epochs on {device} (batch {args.batch_size}, lr {args.learning_rate}, '
                f'lrd {args.lr_decay}, augmentation {args.data_augmentation})')
            train(args, train_model, optimizer, bundle, state, device, context, symmetry, log=log, progress=progress,
                  on_epoch_end=on_epoch_end)

        if not context.is_main:
            return 0
        result = None
        rendering = args.render or args.viz_export
        # As the official script: rendering predicts just the chosen sequence instead of
        # evaluating the whole test set first.
        if not rendering and any(seq.poses_3d is not None for seq in bundle.test):
            log('Evaluating...')
            options = EvalOptions(tta=args.test_time_augmentation, batch_size=args.eval_batch_size, device=device,
                                  amp=args.amp, progress=progress, by_subject=args.by_subject)
            result = evaluate(model, bundle.test, symmetry, bundle.protocol, options, config=run_config(args, model))
            log(format_report(result, tta=args.test_time_augmentation))
            if args.results_json:
                write_results_json(args.results_json, result)
                log(f'Results written to {args.results_json}')
        if rendering:
            from common.render.animation import render_from_args
            render_from_args(args, model, bundle, symmetry, device, result)
        return 0
    finally:
        teardown_distributed(context)


def resolve_device(name):
    import torch
    if name == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda: no CUDA device is available here; use --device cpu (or auto)')
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(name)


def resolve_checkpoint_path(checkpoint_dir, name):
    """Official behaviour: the file name is inside -c; a path that exists as given is accepted too."""
    inside = Path(checkpoint_dir) / name
    if inside.exists() or not Path(name).exists():
        return inside
    return Path(name)


def build_model(args, checkpoint, num_joints, checkpoint_file):
    """The PoseTransformer for this run: configuration from the checkpoint when there is one."""
    from common.io.checkpoint import infer_model_config, load_model_weights, strip_module_prefix
    from common.model.poseformer import PoseTransformer
    config = dict(num_frame=args.number_of_frames or 81, num_joints=num_joints, in_chans=2,
                  embed_dim_ratio=args.embed_dim_ratio, depth=args.depth, num_heads=args.num_heads,
                  mlp_ratio=2., qkv_bias=True, qk_scale=None, drop_rate=args.dropout,
                  drop_path_rate=args.drop_path)
    if checkpoint is not None:
        state_dict = strip_module_prefix(checkpoint['model_pos'])
        stored = checkpoint.get('config')
        if not stored:
            # Release files carry weights only: the head count cannot be read from them, so
            # --num-heads (default 8, as released) stays in force.
            stored = {k: v for k, v in infer_model_config(state_dict).items() if k != 'num_heads'}
        for key in ('num_joints', 'in_chans', 'embed_dim_ratio', 'depth', 'num_heads', 'mlp_ratio', 'qkv_bias'):
            if key in stored:
                config[key] = stored[key]
        # -f given and different from the checkpoint: build what was asked, so that loading reports it.
        if args.number_of_frames is None:
            config['num_frame'] = stored['num_frame']
    import torch
    torch.manual_seed(args.seed)
    model = PoseTransformer(**config)
    if checkpoint is not None:
        load_model_weights(model, state_dict, checkpoint_file, frames_flag_given=args.number_of_frames is not None)
    return model


def run_config(args, model):
    config = {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None), list))}
    config['model'] = dict(model.config)
    return config


if __name__ == '__main__':
    sys.exit(main())
