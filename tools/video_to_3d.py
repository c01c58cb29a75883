"""A video in, 3D motion out: the bundled 2D detector, then PoseFormer, placed, fitted and smoothed.

    python tools/video_to_3d.py clip.mp4 -o out/ [--bvh out/clip.bvh] [--focal-length PX]

This program only reads flags and prints; the work is `common.video_pipeline` (the same pipeline
from Python: ``lift_video('clip.mp4')``). Stages (a progress bar each on a terminal):

1. detect: MediaPipe Pose (``pip install -r requirements-video.txt``; its model is inside the
   package, nothing is downloaded) on every frame; one person kept, left/right swaps put back,
   gaps filled;
2. lift: PoseFormer on every frame (flip test-time augmentation unless ``--no-tta``), root-relative;
3. bones: one length per bone for the video, every frame fitted to it (``--no-bone-fit``: raw);
4. smoothing: the One-Euro filter (``--smoothing none`` to switch it off; ``--smoothing-min-cutoff``,
   ``--smoothing-beta``);
5. placement: the pelvis in the camera frame per frame, fitted to the 2D keypoints through a
   pinhole camera (``--focal-length PX``; default: the picture's diagonal in pixels); the distance
   scales with the body's size, the model's own unless ``--person-height M`` sets it;
``--person all|largest|ID`` lifts several people instead (`VideoLifter.lift_people`): the several-people
detector (every person under a stable id), then each chosen person through the same stages 2-5 on
the frames from their first to their last detection; files per person ``<name>_person<ID>_3d.*``
(``--bvh X.bvh``: ``X_person<ID>.bvh``), one 2D file and one animation of them all
(`common.video_pipeline.outputs`). Without ``--person`` the one-person path runs (it keeps the largest,
most lasting person; better for a video of one person).
``--camera SOURCE`` runs the same pipeline live, frame by frame (`common.video_pipeline.live`), on a
camera index, a stream URL or a file played at its own frame rate, and prints frames/s and latency.

6. files (`common.video_pipeline.outputs`: 2D ``-d custom`` file, ``_3d.npy`` root-relative,
   ``_3d_camera.npy``, ``_3d.json``, ``_3d.csv``, ``--bvh``) and the animation (the video with
   its 2D skeleton beside the 3D reconstruction).

Each file is written atomically; existing ones are refused unless ``--overwrite``, and one run at
a time writes into an output folder (a second is refused while the first runs). Everything that can
be checked (the model, its joints and layout, the video, the output folder, the BVH's folder, the
focal length) is checked before the detection starts.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.video_pipeline.pipeline import DEFAULT_CHECKPOINT  # noqa: E402


def build_parser():
    parser = ArgumentParser(prog='tools/video_to_3d.py',
                            description='Video -> 2D keypoints (bundled detector) -> 3D poses (PoseFormer), placed '
                                        'in the camera frame, bones fitted, smoothed -> files and an animation.')
    parser.add_argument('video', nargs='?', default=None, help='the video file (.mp4, .avi, .mov, .gif ...)')
    parser.add_argument('--camera', metavar='SOURCE', default=None,
                        help='live input instead of a video file: a camera index (0, 1 ...), a stream URL, or a '
                             'video file played at its frame rate; prints frames/s and latency')
    parser.add_argument('--max-frames', type=int, default=None, metavar='N',
                        help='with --camera: stop after N frames (default: when the source ends, or Ctrl-C)')
    parser.add_argument('--person', default=None, metavar='all|largest|ID',
                        help='several people: lift every person (all), the largest (near and lasting) or one track '
                             'id, each into its own files (<name>_person<ID>_3d.*) and one animation of them all '
                             '(default: the one-person path)')
    parser.add_argument('-c', '--checkpoint', metavar='FILE', default=None,
                        help=f'PoseFormer checkpoint with 17 Human3.6M joints (default: {DEFAULT_CHECKPOINT})')
    parser.add_argument('-o', '--output', metavar='DIR', default='out', help='output folder (default: out)')
    parser.add_argument('--focal-length', type=float, default=None, metavar='PX',
                        help="the camera's focal length in pixels of the video (default: the picture's diagonal, "
                             'a 53-degree lens)')
    parser.add_argument('--person-height', type=float, default=None, metavar='M',
                        help="the person's height in metres (0.5 to 2.5): the fitted skeleton is scaled to it, and "
                             "the distance to the camera with it (default: the model's own size)")
    parser.add_argument('--no-bone-fit', dest='fit_bones', action='store_false',
                        help='keep the raw poses (bone lengths vary from frame to frame)')
    parser.add_argument('--smoothing', choices=('one-euro', 'none'), default='one-euro',
                        help='temporal filter of the 3D poses (default: one-euro, causal)')
    parser.add_argument('--smoothing-min-cutoff', type=float, default=None, metavar='HZ',
                        help='One-Euro cut-off frequency at rest (default: 1.5; lower: smoother, more lag)')
    parser.add_argument('--smoothing-beta', type=float, default=None, metavar='S_PER_M',
                        help='One-Euro speed coefficient (default: 1.0; higher: less lag when moving fast)')
    parser.add_argument('--bvh', metavar='FILE', default=None, help='also write the motion as a BVH file')
    parser.add_argument('--format', choices=('mp4', 'gif'), default='mp4',
                        help='animation file type (default: mp4; gif needs no ffmpeg)')
    parser.add_argument('--no-render', action='store_true', help='write the files only, no animation')
    parser.add_argument('--viz-limit', type=int, default=-1, metavar='N',
                        help='animate only the first N frames (a preview; the files hold every frame; default: all)')
    parser.add_argument('--viz-size', type=int, default=5, metavar='INCHES',
                        help='size of each animation panel in inches, 100 px each (default: 5)')
    parser.add_argument('--min-confidence', type=float, default=0.3,
                        help='joints scored below this are interpolated from neighbouring frames (default: 0.3)')
    parser.add_argument('--no-tta', action='store_true', help='no flip test-time augmentation (faster)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output files')
    return parser


def lift_settings(args):
    """The flags -> `LiftSettings`."""
    from common.video_pipeline import LiftSettings, OneEuro
    if args.smoothing == 'none':
        if args.smoothing_min_cutoff is not None or args.smoothing_beta is not None:
            raise UserError('none: the One-Euro parameters were given too; leave them out or use one-euro',
                            setting='smoothing')
        smoothing = None
    else:
        given = {key: value for key, value in (('min_cutoff', args.smoothing_min_cutoff),
                                               ('beta', args.smoothing_beta)) if value is not None}
        smoothing = OneEuro(**given)
    return LiftSettings(checkpoint=args.checkpoint, min_confidence=args.min_confidence, tta=not args.no_tta,
                        focal_length=args.focal_length, fit_bones=args.fit_bones, smoothing=smoothing,
                        person_height=args.person_height)


def warn(message):
    print(f'warning: {message}', file=sys.stderr, flush=True)


def skeleton_height(result, args):
    """The standing height the result's skeleton implies (`skeleton.standing_height`), and where its size came from."""
    from common.video_pipeline.skeleton import bone_lengths, standing_height
    lengths = result.bone_lengths if result.bone_lengths is not None else bone_lengths(result.poses,
                                                                                       result.joints.parents)
    source = 'given' if args.person_height is not None else "the model's own size; --person-height to set it"
    return f'skeleton height {float(standing_height(lengths)):.2f} m ({source})'


def live_to_3d(args, log=print):
    """--camera: the pipeline frame by frame (`common.video_pipeline.live`); writes the poses at the end."""
    import re

    import numpy as np
    from common.detection.mediapipe_pose import MediaPipePose, mediapipe_missing_reason
    from common.io.atomic import atomic_write
    from common.video_pipeline import VideoLifter
    from common.video_pipeline.live import run_live
    from common.video_pipeline.outputs import check_outputs, held_output_folder
    if args.video is not None:
        raise UserError(f'given with the video {args.video}: give a video file or --camera, not both',
                        setting='camera')
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f'{args.max_frames}: must be at least 1', setting='max_frames')
    folder = Path(args.output)
    source = Path(args.camera).stem if Path(args.camera).is_file() else args.camera
    name = 'live_' + (re.sub(r'[^A-Za-z0-9_.-]+', '_', source).strip('_') or 'camera')
    files = {'npy': folder / f'{name}_3d.npy', 'camera': folder / f'{name}_3d_camera.npy'}
    check_outputs(files, folder, args.overwrite)
    lifter = VideoLifter(lift_settings(args))
    reason = mediapipe_missing_reason()
    if reason:
        raise UserError(reason)
    with held_output_folder(files, folder, args.overwrite):
        stats = run_live(args.camera, lifter, MediaPipePose, max_frames=args.max_frames)
        log(stats.describe())
        if not stats.poses:
            raise UserError(f'{args.camera}: no person found in any of its {stats.frames} frames; nothing to write',
                            setting='camera')
        poses = np.stack(stats.poses).astype(np.float32)
        atomic_write(files['npy'], lambda f: np.save(f, poses))
        atomic_write(files['camera'], lambda f: np.save(f, poses + np.stack(stats.trajectory)[:, None]))
        for path in files.values():
            log(f'wrote {path}')
    return files


def checked_lifter(args, files, log):
    """What both video paths check before any work: the animation's kind and size, the output `files` (none
    existing unless --overwrite), the model (the `VideoLifter` returned; its notes printed), the video, the
    detector's package."""
    from common.detection.mediapipe_pose import mediapipe_missing_reason
    from common.detection.video import open_video
    from common.render.sequence import check_viz_size
    from common.render.writers import output_kind
    from common.video_pipeline import VideoLifter
    from common.video_pipeline.outputs import check_outputs
    if 'animation' in files:
        output_kind(files['animation'])
        check_viz_size(args.viz_size)
    check_outputs(files, Path(args.output), args.overwrite)
    lifter = VideoLifter(lift_settings(args))
    for note in lifter.notes:
        log(f'note: {note}')
    open_video(Path(args.video), setting='video').close()
    reason = mediapipe_missing_reason()
    if reason:
        raise UserError(reason)
    return lifter


def write_and_render(write, render, animation, args, progress, log):
    """Both video paths' end: ``write()`` the files (each path printed), then ``render(animation, limit=, size=,
    progress=, log=)`` where an `animation` file is asked for."""
    for path in write():
        log(f'wrote {path}')
    if animation:
        summary = render(animation, limit=args.viz_limit, size=args.viz_size, progress=progress, log=log)
        log(f'wrote {animation} ({summary.frames} frames, {summary.width}x{summary.height} px, {summary.fps:g} fps)')


def person_line(person_id, result):
    """One printed line per person: id, frames, mean distance, bone sum."""
    from common.video_pipeline.skeleton import bone_lengths
    frames = result.frames
    lengths = result.bone_lengths if result.bone_lengths is not None else bone_lengths(result.poses,
                                                                                     result.joints.parents)
    detected = result.keypoints
    return (f'#{person_id}: frames {frames[0]}-{frames[-1]} ({len(frames)} lifted, '
            f'{len(frames) - detected.report.frames_without_person} detected); mean distance '
            f'{float(result.trajectory[:, 2].mean()):.2f} m; bone sum {float(lengths.sum()):.2f} m')


def people_to_3d(args, log=print):
    """--person: every chosen person of the video lifted (`VideoLifter.lift_people`), files keyed by id."""
    from common.detection.people import check_choice
    from common.progress import progress_wanted
    from common.video_pipeline.outputs import (check_bvh, earlier_people_files, held_output_folder,
                                               people_output_files, remove_stale_people_files, render_people,
                                               write_people_outputs)
    if args.camera is not None:
        raise UserError(f'{args.person}: several people are lifted from a video file, not live ({{camera}}); give '
                        'a video file', setting='person', mentions=('camera',))
    if args.video is None:
        raise UserError('missing: give a video file', setting='video')
    # 1. everything that can be checked, before any work (the ids are known only after the detection)
    choice = check_choice(args.person)
    progress = progress_wanted()
    video_path, folder = Path(args.video), Path(args.output)
    animation = None if args.no_render else args.format
    shared, _ = people_output_files(folder, video_path.stem, (), animation, args.bvh)
    if args.bvh:
        check_bvh(args.bvh, folder)
    before = {**shared, **{str(p): p for p in earlier_people_files(folder, video_path.stem, args.bvh)}}
    lifter = checked_lifter(args, before, log)
    with held_output_folder(before, folder, args.overwrite):
        # 2. detect and lift every chosen person (nothing written yet)
        result = lifter.lift_people(video_path, choice, progress=progress, warn=warn)
        detected = result.detected
        log(f'{detected.describe()}; {detected.width}x{detected.height} px, '
            f'{f"{detected.fps:g} fps" if detected.fps else "no frame rate stated"}')
        first = next(iter(result.people.values()))
        source = 'given' if first.focal_length_given else "default: the picture's diagonal; --focal-length to set it"
        log(f'lifted {len(result.people)} of {len(detected.people)} people with {first.checkpoint} '
            f'({first.frames_per_window}-frame windows; stages: {", ".join(first.stages)}), each placed in the camera '
            f'frame with a focal length of {first.focal_length:.0f} px ({source}):')
        for person_id, person in result.people.items():
            log(f'  {person_line(person_id, person)}')
        # 3. files, 4. render
        shared, per_person = people_output_files(folder, video_path.stem, list(result.people), animation, args.bvh)
        write_and_render(lambda: write_people_outputs(result, shared, per_person),
                         lambda path, **options: render_people(result, path, **options), shared.get('animation'),
                         args, progress, log)
        written = [p for files in per_person.values() for p in files.values()]
        stale = remove_stale_people_files(folder, video_path.stem, args.bvh, written)
        if stale:
            log(f'removed {len(stale)} file(s) an earlier run wrote for people this run did not lift '
                f'(--overwrite): {", ".join(p.name for p in stale)}')
    return {**shared, **{(kind, i): p for i, files in per_person.items() for kind, p in files.items()}}


def video_to_3d(args, log=print):
    from common.progress import progress_wanted
    from common.video_pipeline.outputs import held_output_folder, output_files, render_result, write_outputs

    if args.person is not None:
        return people_to_3d(args, log)
    if args.camera is not None:
        return live_to_3d(args, log)
    if args.video is None:
        raise UserError('missing: give a video file (or --camera SOURCE for live input)', setting='video')
    progress = progress_wanted()
    # 1. everything that can be checked, before any work
    video_path = Path(args.video)
    folder = Path(args.output)
    animation = None if args.no_render else args.format
    files = output_files(folder, video_path.stem, animation, args.bvh)
    lifter = checked_lifter(args, files, log)
    with held_output_folder(files, folder, args.overwrite):
        # 2. detect and lift (nothing written yet)
        result = lifter.lift(video_path, progress=progress, warn=warn)
        detected = result.keypoints
        log(f'{detected.name}: {detected.report.describe()} ({detected.tracks} person track(s), {detected.detector}); '
            f'{detected.width}x{detected.height} px, '
            f'{f"{detected.fps:g} fps" if detected.fps else "no frame rate stated"}')
        log(f'lifted {len(result.poses)} frames with {result.checkpoint} ({result.frames_per_window}-frame windows); '
            f'stages: {", ".join(result.stages)}')
        source = 'given' if result.focal_length_given else "default: the picture's diagonal; --focal-length to set it"
        log(f'placed in the camera frame with a focal length of {result.focal_length:.0f} px ({source}); '
            f'mean distance {float(result.trajectory[:, 2].mean()):.2f} m; {skeleton_height(result, args)}')
        # 3. files, 4. render
        write_and_render(lambda: write_outputs(result, files),
                         lambda path, **options: render_result(result, path, **options), files.get('animation'),
                         args, progress, log)
    return files


def main(argv=None):
    parser = build_parser()
    return run_program(lambda: video_to_3d(parser.parse_args(argv)) and None, flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
