"""2D keypoints detected in your own videos -> ``data_2d_custom_<name>.npz`` (COCO-17 layout, pixels).

Inputs (pick one):

- ``--video clip.mp4 [more.mp4 ...]``: the videos themselves. The bundled detector (MediaPipe Pose,
  ``pip install -r requirements-video.txt``; its model is inside the package, nothing is
  downloaded) finds the people of each frame; the person kept is the largest, most lasting track;
  left/right swaps are put back; the frame rate is the video's. The video's name in the file is
  its file name (``clip.mp4``); ``-o NAME`` defaults to the file name without extension (one video)
  and is required for several.

- ``--detectron-dir DIR``: one ``<video>.npz`` per video, as a Detectron2 keypoint inference
  script writes them. The video's name is the file name without ``.npz`` (``walk.mp4.npz`` ->
  ``walk.mp4``). Keys:

  - ``keypoints``: per frame, the detected people's keypoints, each either (4, 17) rows
    ``[x, y, logit, prob]`` (the score used is ``prob``) or (17, 3) rows ``[x, y, score]``
    ((3, 17) is read as the transpose of the latter). A frame may also be stored per class,
    ``[[], people]``, as Detectron's class-indexed lists are (class 1 = person).
  - ``boxes``: per frame, rows ``[x1, y1, x2, y2, score]`` (possibly none), in the same order
    as the people: each person's confidence is its box score; without boxes (or when their
    count does not match) its mean keypoint score.
  - ``metadata``: ``{'w': width, 'h': height}`` of the video (or give ``--width/--height``), and
    optionally ``'fps'``, its frame rate (or give ``--fps``).

- ``--coco-json FILE``: COCO-format keypoint results (MMPose / AlphaPose export): a list of
  ``{'image_id': int or 'frame_000123.jpg', 'keypoints': [x, y, score] * 17, 'score': float,
  'category_id': 1}``. The frame index is the integer image_id, or the last run of digits in an
  image file name; frames are numbered from 0 and the video has ``max index + 1`` frames unless
  ``--num-frames`` says more; a person's confidence is its ``score``. The video's name is
  ``--video-name`` (default: the JSON file name without extension); ``--width`` and ``--height``
  (pixels) are required. COCO results carry no frame rate: give it with ``--fps``.

One person is kept per video, by the rule of the bundled detector's videos
(`common.detection.video.keep_person`): the people of consecutive frames are linked into tracks,
the track kept is the one largest in the picture over the most frames, each frame's size weighted
by the person's confidence, and left/right swaps are put back. (The official converter kept the
highest-scoring person of each frame, which jumps between people when several are in view.)

Frames without a detection, and joints whose score is below ``--min-confidence`` (default 0.3),
are filled per joint by linear interpolation over time; before the first / after the last valid
frame the nearest valid value is repeated. A joint never confident in a whole video falls back to
its detected positions whatever their score (with a warning). Scores are compared as stored: some
detectors (Detectron2) store heatmap scores that are not probabilities; lower ``--min-confidence``
(``--min-confidence=-1e9`` keeps everything detected) if too many joints are discarded.

Output ``<output-dir>/data_2d_custom_<name>.npz`` (``-o/--output NAME``, default the folder name /
video name; ``--output-dir`` default ``data``):
``positions_2d`` -> ``{video: {'custom': [float32 (N, 17, 2) pixels]}}``; ``metadata`` ->
``{'layout_name': 'coco', 'num_joints': 17, 'keypoints_symmetry': [[1,3,...,15], [2,4,...,16]],
'video_metadata': {video: {'w': int, 'h': int, 'fps': float}}}``; ``'fps'`` only when known
(``--fps``, a video's own rate, or a Detectron file's metadata): ``-d custom`` plays the poses at that rate, else at the
rate of ``--viz-video``, else at 50 frames per second.

A summary line per video is printed: frames, frames without a person, joints filled (and, for
``--video``, the left/right swaps repaired).

Usage (from the repository root)::

    python data/prepare_data_2d_custom.py --video tests/data/pose2sim_cam01.mp4
    python data/prepare_data_2d_custom.py --detectron-dir detections/ -o myvideos
    python data/prepare_data_2d_custom.py --coco-json results.json --width 1920 --height 1080 --fps 30 --video-name myvideo
"""
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.data.custom import write_custom  # noqa: E402
from common.data.layouts import COCO_17  # noqa: E402
from common.detection.files import (check_fps, check_size, frame_index, read_coco_json,  # noqa: E402,F401
                                    read_detectron_npz)                  # (frame_index: the script's old name)
from common.detection.gaps import fill_gaps, fill_missing  # noqa: E402,F401  (the script's old names)
from common.detection.video import keep_person  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.progress import progress_wanted  # noqa: E402


def _warn(message):
    print(f'warning: {message}', file=sys.stderr)


# ----------------------------------------------------------------------------------------------

def output_path(output_dir, name):
    if not name or '/' in name or '\\' in name:
        raise UserError(f'{name!r}: should be a plain name (the file is data_2d_custom_<name>.npz in '
                        f'--output-dir)', setting='output')
    return Path(output_dir) / f'data_2d_custom_{name}.npz'


def prepare_custom(output_dir='data', output_name=None, detectron_dir=None, coco_json=None, video_name=None,
                   width=None, height=None, num_frames=None, min_confidence=0.3, overwrite=False, warn=_warn,
                   fps=None, videos=None, log=None, progress=False, make_detector=None):
    """Convert one input (a Detectron folder, a COCO JSON file or video files); returns the written path.

    ``fps``: the videos' frame rate to record (None: a Detectron file's / the video's own, else none).
    ``videos``: video files run through the bundled detector (``make_detector``: a `Detector`
    factory, default `common.detection.MediaPipePose`). ``log(line)`` receives one summary line per
    video (None: no summary)."""
    if fps is not None:
        fps = check_fps(fps, 'fps', setting='fps')
    if sum(x is not None for x in (detectron_dir, coco_json, videos)) != 1:
        raise UserError('give exactly one of --video FILE..., --detectron-dir DIR or --coco-json FILE')
    summaries = {}

    def keep(candidates, confidences, where, video, w, h, video_fps, setting):
        """A file's people -> the one person (the rule of every 2D input), its summary kept."""
        kept = keep_person(candidates, None, COCO_17, 'detections', where, w, h, video_fps, min_confidence, warn,
                           setting=setting, confidences=confidences, source='detections')
        summaries[video] = kept.report
        return kept.keypoints

    if videos is not None:
        out, prepared = prepare_videos(videos, output_dir, output_name, overwrite, min_confidence, fps, warn,
                                       progress, make_detector)
        for video in prepared:
            summaries[video.name] = video.report
        result = write_custom(out, {v.name: (v.keypoints, v.width, v.height, fps or v.fps) for v in prepared})
        _log_summaries(log, summaries, {v.name: v for v in prepared})
        return result
    if (width is None) != (height is None):
        raise UserError('give both --width and --height')
    videos = {}
    if detectron_dir is not None:
        folder = Path(detectron_dir)
        if not folder.is_dir():
            raise UserError(f'{folder}: folder not found', setting='detectron_dir')
        files = sorted(folder.glob('*.npz'))
        if not files:
            raise UserError(f'{folder}: has no .npz files (one <video>.npz per video expected)',
                            setting='detectron_dir')
        name = output_name or folder.resolve().name
        out = output_path(output_dir, name)
        _check_overwrite(out, overwrite)
        for f in files:
            candidates, confidences, w, h, video_fps = read_detectron_npz(f, width, height, fps)
            name = f.name[:-len('.npz')]
            videos[name] = (keep(candidates, confidences, f, name, w, h, video_fps, 'detectron_dir'), w, h, video_fps)
    else:
        if width is None:
            raise UserError('--coco-json needs --width and --height (pixels): COCO results hold no video size')
        w, h = check_size(width, height, '--width/--height')
        video = video_name or Path(coco_json).stem
        out = output_path(output_dir, output_name or video)
        _check_overwrite(out, overwrite)
        candidates, confidences = read_coco_json(coco_json, num_frames)
        videos[video] = (keep(candidates, confidences, coco_json, video, w, h, fps, 'coco_json'), w, h, fps)
    result = write_custom(out, videos)
    _log_summaries(log, summaries)
    return result


def _log_summaries(log, summaries, detected=None):
    if log is None:
        return
    for name, report in summaries.items():
        extra = ''
        if detected and name in detected:
            video = detected[name]
            rate = f'{video.fps:g} fps' if video.fps else 'no frame rate stated'
            extra = f' ({video.width}x{video.height} px, {rate}, {video.tracks} person track(s), {video.detector})'
        log(f'{name}: {report.describe()}{extra}')


def prepare_videos(paths, output_dir, output_name, overwrite, min_confidence, fps, warn, progress, make_detector):
    """Video files -> (output path, [`common.detection.VideoKeypoints`]); every video is opened (and
    the output checked) before any detection, so a bad file fails at once."""
    from common.detection.video import detect_video, open_video
    from common.io.writable import check_output_folder
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f'{", ".join(repeated)}: several videos have this file name, which names the video in the '
                        f'output; rename them', setting='video')
    if output_name is None and len(paths) > 1:
        raise UserError(f'several videos ({len(paths)}) go into one file: name it with -o NAME', setting='output')
    out = output_path(output_dir, output_name or paths[0].stem)
    _check_overwrite(out, overwrite)
    check_output_folder(out.parent, setting='output_dir')
    for path in paths:
        open_video(path, setting='video').close()
    if make_detector is None:
        from common.detection.mediapipe_pose import MediaPipePose, mediapipe_missing_reason
        reason = mediapipe_missing_reason()
        if reason:
            raise UserError(reason)
        make_detector = MediaPipePose
    prepared = [detect_video(p, make_detector, min_confidence, progress=progress, warn=warn, setting='video')
                for p in paths]
    return out, prepared


def _check_overwrite(path, overwrite):
    if path.exists() and not overwrite:
        raise UserError(f'{path} already exists; pass --overwrite to replace it, or choose another -o name')


def build_parser():
    parser = ArgumentParser(
        prog='data/prepare_data_2d_custom.py', description='Convert 2D keypoint detections of your videos into data_2d_custom_<name>.npz.')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--video', nargs='+', metavar='FILE',
                        help='video file(s): run the bundled 2D detector (needs requirements-video.txt)')
    source.add_argument('--detectron-dir', metavar='DIR', help='folder of <video>.npz Detectron-style outputs')
    source.add_argument('--coco-json', metavar='FILE', help='COCO-format keypoint results of one video')
    parser.add_argument('-o', '--output', metavar='NAME', default=None,
                        help='output name: writes data_2d_custom_NAME.npz (default: folder / video name)')
    parser.add_argument('--output-dir', default='data', help='where to write (default: data)')
    parser.add_argument('--video-name', default=None, help='--coco-json: the video name (default: file name)')
    parser.add_argument('--width', type=int, default=None, help='video width in pixels (required with --coco-json)')
    parser.add_argument('--height', type=int, default=None, help='video height in pixels (required with --coco-json)')
    parser.add_argument('--num-frames', type=int, default=None,
                        help='--coco-json: number of frames of the video (default: last detected frame + 1)')
    parser.add_argument('--fps', type=float, default=None,
                        help='frame rate of the video(s), recorded in the file (default: a video\'s own, a Detectron file\'s '
                             'metadata fps, else none: -d custom then uses --viz-video\'s rate, else 50)')
    parser.add_argument('--min-confidence', type=float, default=0.3,
                        help='joints scored below this are interpolated from neighbouring frames (default: 0.3)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output file')
    return parser


def main(argv=None):
    """Run the program; returns the exit status (2 with a one-line message for bad input)."""
    parser = build_parser()

    def body():
        args = parser.parse_args(argv)
        path = prepare_custom(output_dir=args.output_dir, output_name=args.output, detectron_dir=args.detectron_dir,
                              coco_json=args.coco_json, video_name=args.video_name, width=args.width,
                              height=args.height, num_frames=args.num_frames, min_confidence=args.min_confidence,
                              overwrite=args.overwrite, fps=args.fps, videos=args.video, log=print,
                              progress=progress_wanted())
        print(f'wrote {path}')

    return run_program(body, flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
