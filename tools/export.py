"""Export a PoseFormer checkpoint to ONNX (dynamic batch), with its two stages for streaming if asked.

    python tools/export.py checkpoint/gt81f.bin --onnx export/gt81f.onnx
    python tools/export.py checkpoint/gt81f.bin --onnx export/gt81f.onnx --stages

The first writes the whole model, ``keypoints_2d`` (batch, F, J, 2) -> ``pose_3d`` (batch, 1, J, 3)
metres; ``--stages`` also writes ``gt81f.spatial.onnx`` and ``gt81f.temporal.onnx`` beside it, which
the streaming lifter runs on onnxruntime (``tools/stream_demo.py --onnx export/gt81f.onnx``). When
onnxruntime is installed, the exported model is checked against PyTorch on a random batch. See
`common.streaming.onnx_model` for the file layout.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.errors import UserError  # noqa: E402

TOLERANCE_M = 1e-5


def build_parser():
    parser = ArgumentParser(prog='tools/export.py', description='Export a PoseFormer checkpoint to ONNX.')
    parser.add_argument('checkpoint', help='checkpoint file (a released one or one written by training)')
    parser.add_argument('--onnx', required=True, metavar='PATH', help='ONNX file to write (the whole model)')
    parser.add_argument('--stages', action='store_true',
                        help='also write the spatial and temporal stages beside it (<name>.spatial.onnx, '
                             '<name>.temporal.onnx), for the streaming lifter')
    parser.add_argument('--num-heads', type=int, default=None, metavar='H',
                        help="attention heads of a released file, which does not record them (default 8, as "
                             "released); files written by training record theirs")
    return parser


def export(args):
    from cli.checkpoint_notes import head_count_note, layout_notes
    from common.io.checkpoint import load_checkpoint
    from common.streaming import export_onnx, model_from_checkpoint, onnx_difference
    if args.num_heads is not None and args.num_heads < 1:
        raise UserError(f'{args.num_heads}: must be at least 1', setting='num_heads')
    checkpoint = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(args.checkpoint, checkpoint=checkpoint, num_heads=args.num_heads)
    config = model.config
    print(f'{args.checkpoint}: {config["num_frame"]} frames, {config["num_joints"]} joints, '
          f'embedding {config["embed_dim_ratio"]}, depth {config["depth"]}, {config["num_heads"]} heads')
    for note in layout_notes(checkpoint, args.checkpoint) + [head_count_note(checkpoint, args.checkpoint,
                                                                             config['num_heads'])]:
        if note:
            print(note, flush=True)
    for path in export_onnx(model, args.onnx, stages=args.stages, layouts=checkpoint.get('layouts')):
        print(f'wrote {path} ({path.stat().st_size / 1e6:.1f} MB)')
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('onnxruntime is not installed: the exported model was not run (pip install onnxruntime to check it)')
        return 0
    difference = onnx_difference(model, args.onnx)
    verdict = 'same output' if difference <= TOLERANCE_M else 'DIFFERENT output'
    print(f'onnxruntime vs PyTorch on a random batch: largest difference {difference:.1e} m ({verdict})')
    return 0 if difference <= TOLERANCE_M else 1


def main(argv=None):
    parser = build_parser()
    return run_program(lambda: export(parser.parse_args(argv)), flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
