"""Replay a 2D keypoint sequence through the streaming lifter, as a live source would deliver it.

    python tools/stream_demo.py -c checkpoint/synthetic/best_epoch.bin -d synthetic -k detected \\
        --downsample 10 --subject S9 --action Walking --output stream.gif
    python tools/stream_demo.py --onnx export/model.onnx -d custom -k myvideos --fast

Frames are pushed one at a time into `common.streaming.Lifter` at the sequence's frame rate (or as
fast as possible with ``--fast``); a line per second of stream shows which frame came in and which
frame's 3D pose came out (the model answers (F-1)/2 frames late: its window needs those frames
after the target). At the end it prints the time one push takes (median, 99th percentile), the
frames/s the lifter sustains, the end-to-end delay from a frame's arrival to its 3D pose, and the
error against the ground truth when the sequence has one. ``--output`` then writes the streamed
poses as an animation (.gif / .mp4, `common.render`), 2D input beside the 3D view.

The model is a checkpoint (``-c``, run by PyTorch) or an export made with
``tools/export.py CHECKPOINT --onnx PATH --stages`` (``--onnx PATH``, run by onnxruntime). The data are
a sequence of the embedded dataset (``-d synthetic``, generated on first use) or of a custom 2D file
``<data-dir>/data_2d_custom_<k>.npz`` (``-d custom``, see data/README.md).
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.errors import UserError  # noqa: E402


def build_parser():
    parser = ArgumentParser(prog='tools/stream_demo.py',
                            description='Replay 2D keypoints through the streaming lifter.')
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument('-c', '--checkpoint', metavar='FILE', help='PoseFormer checkpoint (run by PyTorch)')
    model.add_argument('--onnx', metavar='PATH',
                       help='model exported with tools/export.py --stages (run by onnxruntime)')
    parser.add_argument('--num-heads', type=int, default=None, metavar='H',
                        help="with -c: attention heads of a released file, which does not record them (default 8, "
                             'as released); files written by training record theirs')
    parser.add_argument('-d', '--dataset', choices=('synthetic', 'custom'), default='synthetic',
                        help='embedded dataset or custom 2D file (default: synthetic)')
    parser.add_argument('-k', '--keypoints', metavar='NAME',
                        help='2D keypoints: synthetic gt/detected (default: detected); '
                             'custom: <k> of data_2d_custom_<k>.npz')
    parser.add_argument('--data-dir', default='data', metavar='DIR', help='folder of the data files (default: data)')
    parser.add_argument('--subject', dest='viz_subject', metavar='NAME',
                        help='subject (custom: video) of the sequence; default: the first test sequence')
    parser.add_argument('--action', dest='viz_action', metavar='NAME', help='action of the sequence (synthetic)')
    parser.add_argument('--camera', dest='viz_camera', type=int, default=0, metavar='N', help='camera (default: 0)')
    parser.add_argument('--downsample', type=int, default=1, metavar='N',
                        help='keep every N-th frame, as the model was trained (default: 1)')
    parser.add_argument('--limit', type=int, default=0, metavar='N', help='stream at most N frames (default: all)')
    parser.add_argument('--fast', action='store_true', help='push frames as fast as possible, not at the frame rate')
    parser.add_argument('--tta', action='store_true', help='flip test-time augmentation')
    parser.add_argument('--threads', type=int, default=1, metavar='N', help='CPU threads for the model (default: 1)')
    parser.add_argument('-o', '--output', dest='viz_output', metavar='PATH',
                        help='write the streamed poses as an animation (.gif or .mp4)')
    return parser


def load_sequence(args):
    """(sequence, bundle) chosen by the arguments; the sequence is cut to ``--limit`` frames."""
    from common.data.sources import DataConfig, load_bundle
    from common.render.sequence import find_sequence
    keypoints = args.keypoints or ('detected' if args.dataset == 'synthetic' else None)
    if keypoints is None:
        raise UserError('is needed with custom data: the name <k> of data_2d_custom_<k>.npz', setting='keypoints')
    config = DataConfig(dataset=args.dataset, keypoints=keypoints, data_dir=args.data_dir, need_train=False,
                        downsample=args.downsample,
                        subjects_test=(args.viz_subject,) if args.viz_subject and args.dataset != 'custom' else None,
                        only_subject=args.viz_subject if args.dataset == 'custom' else None)
    bundle = load_bundle(config)
    subject = args.viz_subject or bundle.test[0].subject
    action = args.viz_action or next(s.action for s in bundle.test if s.subject == subject)
    seq, _ = find_sequence(bundle, subject, action, args.viz_camera)
    if args.limit > 0:
        seq = replace(seq, poses_2d=seq.poses_2d[:args.limit],
                      poses_3d=None if seq.poses_3d is None else seq.poses_3d[:args.limit])
    return seq, bundle


def make_lifter(args, bundle):
    """(Lifter, backend description); a checkpoint is checked against the data's joints first (notes printed)."""
    import torch

    from cli.checkpoint_notes import head_count_note, layout_notes
    from common.io.checkpoint import load_checkpoint
    from common.streaming import Lifter, OnnxStages, model_from_checkpoint
    torch.set_num_threads(args.threads)
    if args.onnx:
        from common.model.loading import check_layout_fit
        stages = OnnxStages(args.onnx, threads=args.threads)
        for note in check_layout_fit(args.onnx, stages.num_joints, stages.layouts, bundle.name, bundle.joints,
                                     bundle.keypoints, kind='ONNX model'):
            print('note: ' + note, flush=True)
        return Lifter(stages, bundle.symmetry, tta=args.tta), f'onnxruntime ({args.onnx})'
    checkpoint = load_checkpoint(args.checkpoint)
    notes = layout_notes(checkpoint, args.checkpoint, bundle)          # refuses data of another layout
    model = model_from_checkpoint(args.checkpoint, checkpoint=checkpoint, num_heads=args.num_heads)
    for note in notes + [head_count_note(checkpoint, args.checkpoint, model.config.num_heads)]:
        if note:
            print(note, flush=True)
    return Lifter(model, bundle.symmetry, tta=args.tta), f'PyTorch ({args.checkpoint})'


def replay(lifter, poses_2d, fps, fast):
    """Push every frame (paced at ``fps`` unless ``fast``), then flush.

    Returns (poses (N, J, 3), seconds per push (N,), end-to-end delay per frame (N,) in seconds: from
    the moment the frame was due (arrived) to the moment its pose came out).
    """
    import numpy as np
    n = len(poses_2d)
    poses, push_seconds, delays = [], np.empty(n), np.empty(n)
    start = time.perf_counter()
    arrival = np.empty(n)
    report_every = max(1, int(round(fps)))
    for index, frame in enumerate(poses_2d):
        due = start + index / fps
        if not fast:
            time.sleep(max(0.0, due - time.perf_counter()))
        arrival[index] = due if not fast else time.perf_counter()
        began = time.perf_counter()
        pose = lifter.push(frame)
        done = time.perf_counter()
        push_seconds[index] = done - began
        if pose is not None:
            delays[len(poses)] = done - arrival[len(poses)]
            poses.append(pose)
        if (index + 1) % report_every == 0:
            out = f'pose of frame {len(poses) - 1} out' if poses else 'no pose yet'
            print(f'[{done - start:6.2f} s] frame {index} in, {out}; push {push_seconds[index] * 1e3:.1f} ms',
                  flush=True)
    rest = lifter.flush()
    done = time.perf_counter()
    delays[len(poses):] = done - arrival[len(poses):]
    return np.concatenate([np.stack(poses), rest]) if poses else rest, push_seconds, delays


def demo(args):
    import numpy as np
    if args.limit < 0:
        raise UserError(f'{args.limit}: must be 0 (all frames) or a positive number of frames', setting='limit')
    if args.threads < 1:
        raise UserError(f'{args.threads}: must be at least 1', setting='threads')
    if args.num_heads is not None and args.num_heads < 1:
        raise UserError(f'{args.num_heads}: must be at least 1', setting='num_heads')
    if args.viz_output:
        from common.render.writers import output_kind
        output_kind(args.viz_output)             # a bad file name fails before any work
    if args.checkpoint and not Path(args.checkpoint).is_file():
        raise UserError(f'{args.checkpoint}: checkpoint file not found (a released one, see checkpoint/README.md, '
                        'or one written by training)', setting='checkpoint')
    seq, bundle = load_sequence(args)
    if args.viz_output:
        from common.render.sequence import check_drawable
        check_drawable(bundle.joints, args.viz_output)
    lifter, backend = make_lifter(args, bundle)
    fps = float(bundle.fps)
    print(f'Streaming {seq.subject} {seq.action} camera {seq.camera}: {len(seq.poses_2d)} frames at '
          f'{fps:g} fps{" (as fast as possible)" if args.fast else ""} through {backend}, {lifter.num_frame}-frame '
          f'window, TTA {"on" if args.tta else "off"}; poses come {lifter.latency_frames} frames '
          f'({lifter.latency_frames / fps * 1e3:.0f} ms) late', flush=True)
    prediction, push_seconds, delays = replay(lifter, seq.poses_2d, fps, args.fast)
    ms = push_seconds * 1e3
    print(f'push: median {np.median(ms):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms -> '
          f'{len(ms) / push_seconds.sum():.0f} frames/s sustainable ({fps:g} needed); frame-to-pose delay median {np.median(delays) * 1e3:.0f} ms, '
          f'p99 {np.percentile(delays, 99) * 1e3:.0f} ms')
    if seq.poses_3d is not None:
        from common.evaluation import sequence_errors
        error = sequence_errors(prediction, seq.poses_3d, root=bundle.root, metrics=('mpjpe',))['mpjpe']
        print(f'MPJPE of the streamed poses against the ground truth: {error.mean():.1f} mm')
    if args.viz_output:
        render(args.viz_output, seq, prediction, bundle, fps)


def render(path, seq, prediction, bundle, fps):
    from common.render.sequence import render_sequence
    summary = render_sequence(path, seq, prediction, bundle.joints, bundle.keypoints, fps)
    print(f'Wrote {summary.frames} frames, {summary.width}x{summary.height} px, {summary.fps:g} fps -> {path}')


def main(argv=None):
    parser = build_parser()
    # --subject picks the test subject of the embedded dataset, too
    return run_program(lambda: demo(parser.parse_args(argv)), {**flag_names(parser), 'subjects_test': '--subject'})


if __name__ == '__main__':
    sys.exit(main())
