"""A video in, its 3D poses out: the bundled 2D detector, then PoseFormer, in one command.

    python tools/video_to_3d.py clip.mp4 -c CHECKPOINT -o out/

Stages (a progress bar each on a terminal):

1. detect: MediaPipe Pose (``pip install -r requirements-video.txt``; its model is inside the
   package, nothing is downloaded) on every frame; one person kept (the largest, most lasting
   track), left/right swaps put back, gaps filled (`common.detection`);
2. lift: the 2D file is read back as ``-d custom`` reads it (COCO -> Human3.6M joints, screen
   normalisation) and PoseFormer predicts every frame (flip test-time augmentation unless
   ``--no-tta``), as ``run_poseformer.py -d custom --evaluate`` would;
3. render: the video with its 2D skeleton beside the 3D reconstruction, at the video's frame rate.

Files in the output folder (``<name>``: the video's file name without extension):

- ``data_2d_custom_<name>.npz``: the 2D keypoints (COCO-17 pixels), a ``-d custom`` file
  (``run_poseformer.py -d custom -k <name> --data-dir OUT ...`` reads it);
- ``<name>_3d.npy``: float32 ``(N, 17, 3)``, metres, Human3.6M-17 joint order, camera frame
  (x right, y down, z away from the camera), root-relative (pelvis, joint 0, at the origin);
- ``<name>_3d.json``: the same poses and the 2D keypoints as plain JSON, with joint names, units,
  frame rate, which frames had a person, and the model used, for any language;
- ``<name>_3d.mp4`` (or ``.gif`` with ``--format gif``): the animation.

Each file is written atomically; existing ones are refused unless ``--overwrite``. Everything that
can be checked (the model, its joint count, the video, the output folder) is checked before the
detection starts. The model (``-c``) defaults to `DEFAULT_CHECKPOINT`, the small model trained on
the embedded dataset, when the copy holds it.
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.errors import UserError  # noqa: E402

DEFAULT_CHECKPOINT = 'models/embedded_f27.bin'
JOINTS = 17


def build_parser():
    parser = ArgumentParser(prog='tools/video_to_3d.py',
                            description='Video -> 2D keypoints (bundled detector) -> 3D poses (PoseFormer) -> files '
                                        'and an animation.')
    parser.add_argument('video', help='the video file (.mp4, .avi, .mov, .gif ...)')
    parser.add_argument('-c', '--checkpoint', metavar='FILE', default=None,
                        help=f'PoseFormer checkpoint with 17 Human3.6M joints (default: {DEFAULT_CHECKPOINT})')
    parser.add_argument('-o', '--output', metavar='DIR', default='out', help='output folder (default: out)')
    parser.add_argument('--format', choices=('mp4', 'gif'), default='mp4',
                        help='animation file type (default: mp4; gif needs no ffmpeg)')
    parser.add_argument('--no-render', action='store_true', help='write the 2D and 3D files only, no animation')
    parser.add_argument('--viz-limit', type=int, default=-1, metavar='N',
                        help='animate only the first N frames (a preview; the files hold every frame; default: all)')
    parser.add_argument('--viz-size', type=int, default=5, metavar='INCHES',
                        help='size of each animation panel in inches, 100 px each (default: 5)')
    parser.add_argument('--min-confidence', type=float, default=0.3,
                        help='joints scored below this are interpolated from neighbouring frames (default: 0.3)')
    parser.add_argument('--no-tta', action='store_true', help='no flip test-time augmentation (faster)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output files')
    return parser


def resolve_checkpoint(given):
    """The checkpoint file to use; one clear error when it is absent."""
    if given is None:
        path = REPO / DEFAULT_CHECKPOINT
        if not path.is_file():
            raise UserError(f'not given and the default model {DEFAULT_CHECKPOINT} is not in this copy; pass -c '
                            'CHECKPOINT (a PoseFormer checkpoint, e.g. checkpoint/synthetic/best_epoch.bin after '
                            "the README's quick start)", setting='checkpoint')
        return path
    path = Path(given)
    if not path.is_file():
        raise UserError(f'{given}: checkpoint file not found', setting='checkpoint')
    return path


def load_lifter_model(path):
    """The checkpoint's PoseTransformer; refused unless it lifts 17 joints from (x, y)."""
    from common.streaming import model_from_checkpoint
    model = model_from_checkpoint(str(path))
    if model.num_joints != JOINTS or getattr(model, 'in_chans', 2) != 2:
        raise UserError(f'{path}: the model lifts {model.num_joints} joints, but the detector gives the {JOINTS} '
                        'Human3.6M joints (COCO converted); use a model trained on a 17-joint Human3.6M-layout '
                        'dataset (-d h36m, -d synthetic)', setting='checkpoint')
    return model


def output_files(folder, name, animation):
    files = {'2d': folder / f'data_2d_custom_{name}.npz', 'npy': folder / f'{name}_3d.npy',
             'json': folder / f'{name}_3d.json'}
    if animation:
        files['animation'] = folder / f'{name}_3d.{animation}'
    return files


def poses_json(video, prediction, joints, fps, checkpoint, model, detector):
    """The JSON document of the result (see the module doc)."""
    import numpy as np
    from common.data.layouts import COCO_17
    return {
        'video': video.name,
        'frames': int(len(prediction)),
        'fps': fps,
        'model': {'checkpoint': str(checkpoint), 'frames_per_window': int(model.num_frame)},
        'detector': detector,
        'poses_3d': {
            'units': 'metres',
            'coordinates': 'camera frame: x right, y down, z away from the camera; root-relative: the pelvis '
                           '(joint 0) at the origin',
            'shape': list(prediction.shape),
            'joints': list(joints.names),
            'parents': list(joints.parents),
            'frames': np.round(prediction.astype(np.float64), 5).tolist(),
        },
        'keypoints_2d': {
            'units': 'pixels of the video: x right, y down, origin at the top-left corner',
            'width': int(video.width), 'height': int(video.height),
            'joints': list(COCO_17.names),
            'shape': list(video.keypoints.shape),
            'frames': np.round(video.keypoints.astype(np.float64), 2).tolist(),
            'person_found': np.isfinite(video.scores).all(axis=1).tolist(),
            'note': 'frames without a person and joints scored below the confidence threshold were filled by '
                    'interpolation over time',
            'frames_without_person': video.report.frames_without_person,
            'joints_filled': video.report.joints_filled,
            'left_right_swaps_repaired': video.report.swaps_repaired,
        },
    }


def video_to_3d(args, log=print):
    import numpy as np
    from common.data.custom import write_custom
    from common.data.sources import DataConfig, load_bundle
    from common.data.types import zero_root
    from common.detection.mediapipe_pose import MediaPipePose, mediapipe_missing_reason
    from common.detection.video import detect_video, open_video
    from common.evaluation import predict_sequence
    from common.io.atomic import atomic_write, atomic_write_text
    from common.io.writable import check_output_folder
    from common.progress import progress_wanted
    from common.render.sequence import MAX_VIZ_SIZE, render_sequence, select_frames
    from common.render.video import VideoReader
    from common.render.writers import output_kind

    progress = progress_wanted()
    # 1. everything that can be checked, before any work
    video_path = Path(args.video)
    name = video_path.stem
    folder = Path(args.output)
    check_output_folder(folder, setting='output')
    animation = None if args.no_render else args.format
    files = output_files(folder, name, animation)
    if animation:
        output_kind(files['animation'])
        if not 1 <= args.viz_size <= MAX_VIZ_SIZE:
            raise UserError(f'{args.viz_size}: must be from 1 to {MAX_VIZ_SIZE} inches', setting='viz_size')
    existing = [str(p) for p in files.values() if p.exists()]
    if existing and not args.overwrite:
        raise UserError(f'{existing[0]} already exists; pass --overwrite to replace the results, or choose another '
                        'folder', setting='output')
    checkpoint = resolve_checkpoint(args.checkpoint)
    model = load_lifter_model(checkpoint)
    reader = open_video(video_path, setting='video')
    try:
        reason = mediapipe_missing_reason()
        if reason:
            raise UserError(reason)
        log(f'{video_path}: {reader.size[0]}x{reader.size[1]} px, '
            f'{f"{reader.fps:g} fps" if reader.fps else "no frame rate stated"}; detecting ...')
        # 2. detect (nothing written yet)
        detected = detect_video(video_path, MediaPipePose, args.min_confidence, progress=progress, warn=log,
                                setting='video', video=reader)
    finally:
        reader.close()
    log(f'{detected.name}: {detected.report.describe()} ({detected.tracks} person track(s), {detected.detector})')

    # 3. lift: the 2D file, read back exactly as -d custom reads it
    write_custom(files['2d'], {detected.name: (detected.keypoints, detected.width, detected.height, detected.fps)})
    bundle = load_bundle(DataConfig(dataset='custom', keypoints=name, data_dir=str(folder), need_train=False))
    seq = bundle.test[0]
    prediction = predict_sequence(model, seq.poses_2d, bundle.symmetry, tta=not args.no_tta, progress=progress)
    prediction = zero_root(prediction, bundle.joints.root)                      # (N, 17, 3) metres
    fps = float(bundle.fps) if bundle.fps_known else None
    atomic_write(files['npy'], lambda f: np.save(f, prediction.astype(np.float32)))
    document = poses_json(detected, prediction, bundle.joints, fps, checkpoint, model, detected.detector)
    atomic_write_text(files['json'], json.dumps(document, separators=(',', ':')) + '\n')
    log(f'lifted {len(prediction)} frames with {checkpoint} ({model.num_frame}-frame windows)')
    for key in ('2d', 'npy', 'json'):
        log(f'wrote {files[key]}')

    # 4. render
    if animation:
        with VideoReader(video_path, setting='video') as background:
            frames = select_frames(len(seq.poses_2d), limit=args.viz_limit)
            summary = render_sequence(files['animation'], seq, prediction, bundle.joints, bundle.keypoints,
                                      fps=float(bundle.fps), frames=frames, size=args.viz_size, video=background, ground_truth=False,
                                      progress=progress, log=log)
        log(f'wrote {files["animation"]} ({summary.frames} frames, {summary.width}x{summary.height} px, '
            f'{summary.fps:g} fps)')
    return files


def main(argv=None):
    parser = build_parser()
    return run_program(lambda: video_to_3d(parser.parse_args(argv)) and None, flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
