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
    as the people; the person with the highest box score is kept. Without boxes (or when their
    count does not match) the person with the highest mean keypoint score is kept.
  - ``metadata``: ``{'w': width, 'h': height}`` of the video (or give ``--width/--height``), and
    optionally ``'fps'``, its frame rate (or give ``--fps``).

- ``--coco-json FILE``: COCO-format keypoint results (MMPose / AlphaPose export): a list of
  ``{'image_id': int or 'frame_000123.jpg', 'keypoints': [x, y, score] * 17, 'score': float,
  'category_id': 1}``. The frame index is the integer image_id, or the last run of digits in an
  image file name; frames are numbered from 0 and the video has ``max index + 1`` frames unless
  ``--num-frames`` says more. The highest-scoring person per frame is kept. The video's name is
  ``--video-name`` (default: the JSON file name without extension); ``--width`` and ``--height``
  (pixels) are required. COCO results carry no frame rate: give it with ``--fps``.

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
import json
import re
import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

import numpy as np  # noqa: E402

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.data.custom import write_custom  # noqa: E402
from common.data.layouts import COCO_17  # noqa: E402
from common.detection.gaps import fill_gaps, fill_missing  # noqa: E402,F401  (fill_missing: the script's old name)
from common.errors import UserError  # noqa: E402
from common.io.npz import load_npz  # noqa: E402
from common.progress import progress_wanted  # noqa: E402

NUM_JOINTS = COCO_17.num_joints
MAX_FRAMES = 10_000_000  # a larger frame number means image_id is not a frame index


def _warn(message):
    print(f'warning: {message}', file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# Detectron-style npz

def _is_class_indexed(entry):
    """``[[], people]`` (Detectron's per-class lists, class 0 background)."""
    if isinstance(entry, np.ndarray) and entry.dtype != object:
        return False
    try:
        return len(entry) == 2 and np.size(entry[0]) == 0
    except TypeError:
        return False


def _people(entry):
    """Per-frame entry -> list of per-person arrays (may be empty)."""
    if entry is None:
        return []
    if _is_class_indexed(entry):
        entry = entry[1]
    if isinstance(entry, np.ndarray) and entry.dtype != object:
        return [] if entry.size == 0 else list(entry)
    return [p for p in entry]


def person_keypoints(person, where):
    """One person's keypoints in a supported shape -> (17, 3) [x, y, score]."""
    try:
        p = np.asarray(person, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f'{where}: keypoints of a person are not numeric arrays') from None
    if p.shape == (4, NUM_JOINTS):
        return p[[0, 1, 3]].T  # [x, y, logit, prob] rows
    if p.shape == (NUM_JOINTS, 3):
        return p
    if p.shape == (3, NUM_JOINTS):
        return p.T
    if p.ndim == 2 and NUM_JOINTS not in p.shape:
        count = p.shape[1] if p.shape[0] in (3, 4) else p.shape[0]
        raise UserError(f'{where}: a person has {count} keypoints (array {p.shape}); expected {NUM_JOINTS} '
                        f'(COCO layout). Use a COCO-17 keypoint model')
    raise UserError(f'{where}: person keypoints shaped {p.shape}; expected (4, 17) [x, y, logit, prob] '
                    f'or (17, 3) [x, y, score]')


def read_detectron_npz(path, width=None, height=None, fps=None):
    """-> (raw (F, 17, 3) with NaN rows where nobody was detected, w, h, fps or None).

    ``fps``: the frame rate to record (default: the file's ``metadata['fps']`` if any)."""
    data = load_npz(path, required_keys=['keypoints'],
                    hint='Expected a Detectron-style file with keys keypoints, boxes, metadata.')
    keypoints = data['keypoints']
    boxes = data.get('boxes')
    if np.ndim(keypoints) == 0 or isinstance(keypoints, dict):
        raise UserError(f'{path}: "keypoints" should hold one entry per frame')
    if boxes is not None and (np.ndim(boxes) == 0 or len(boxes) != len(keypoints)):
        raise UserError(f'{path}: "boxes" has {len(boxes) if np.ndim(boxes) else 0} frames but "keypoints" has '
                        f'{len(keypoints)}')
    w, h = _detectron_size(path, data.get('metadata'), width, height)
    metadata = data.get('metadata')
    if fps is None and isinstance(metadata, dict) and metadata.get('fps') is not None:
        fps = check_fps(metadata['fps'], f'{path}: metadata fps')
    raw = np.full((len(keypoints), NUM_JOINTS, 3), np.nan)
    for frame, entry in enumerate(keypoints):
        where = f'{path}: frame {frame}'
        people = [person_keypoints(p, where) for p in _people(entry)]
        if not people:
            continue
        box_rows = _people(boxes[frame]) if boxes is not None else []
        scores = None
        if len(box_rows) == len(people):
            try:
                scores = [float(np.asarray(b, dtype=np.float64).reshape(-1)[4]) for b in box_rows]
            except (TypeError, ValueError, IndexError):
                raise UserError(f'{where}: boxes should be rows [x1, y1, x2, y2, score]') from None
        if scores is None:
            scores = [float(np.nanmean(p[:, 2])) for p in people]
        raw[frame] = people[int(np.argmax(scores))]
    return raw, w, h, fps


def _detectron_size(path, metadata, width, height):
    if width is not None and height is not None:
        return _check_size(width, height, '--width/--height')
    if not isinstance(metadata, dict) or 'w' not in metadata or 'h' not in metadata:
        raise UserError(f'{path}: no metadata {{"w": width, "h": height}} of the video; give --width and '
                        f'--height (pixels)')
    try:
        return _check_size(int(metadata['w']), int(metadata['h']), f'{path}: metadata')
    except (TypeError, ValueError):
        raise UserError(f'{path}: metadata w/h are not integers: {metadata}') from None


def check_fps(value, where, setting=None):
    """A frame rate as a positive float; `UserError` (naming `where`, or the `setting`) otherwise."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = float('nan')
    if not (np.isfinite(fps) and fps > 0):
        raise UserError(f'{where}: {value!r} is not a frame rate; give a positive number of frames per second'
                        if setting is None else f'{value}: must be a positive number of frames per second',
                        setting=setting)
    return fps


def _check_size(w, h, where):
    if w <= 0 or h <= 0:
        raise UserError(f'{where}: the video size must be positive, got {w} x {h}')
    return int(w), int(h)


# ----------------------------------------------------------------------------------------------
# COCO-format JSON results

def frame_index(image_id, where):
    """int image_id, a digit string, or a file name whose last digit run is the frame number."""
    if isinstance(image_id, (int, np.integer)) and not isinstance(image_id, bool):
        index = int(image_id)
    elif isinstance(image_id, str):
        digits = re.findall(r'\d+', Path(image_id).stem if not image_id.isdigit() else image_id)
        if not digits:
            raise UserError(f'{where}: image_id {image_id!r} has no frame number (expected an int or a name '
                            f'like frame_000123.jpg)')
        index = int(digits[-1])
    else:
        raise UserError(f'{where}: image_id {image_id!r} should be an int or an image file name')
    if index < 0:
        raise UserError(f'{where}: negative frame number {index}')
    return index


def read_coco_json(path, num_frames=None):
    """-> raw (F, 17, 3) with NaN rows for frames without detection."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f'{path}: file not found', setting='coco_json')
    try:
        results = json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as exc:
        raise UserError(f'{path}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); '
                        f'expected a COCO keypoint results list') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f'{path}: cannot read ({exc})') from None
    if isinstance(results, dict) and isinstance(results.get('annotations'), list):
        results = results['annotations']
    if not isinstance(results, list):
        raise UserError(f'{path}: expected a list of detections [{{"image_id", "keypoints", "score"}}, ...], '
                        f'found a JSON {type(results).__name__}')
    best = {}  # frame -> (score, (17, 3))
    for i, det in enumerate(results):
        where = f'{path}: entry {i}'
        if not isinstance(det, dict) or 'image_id' not in det or 'keypoints' not in det:
            raise UserError(f'{where} should be an object with "image_id" and "keypoints"')
        if det.get('category_id', 1) != 1:
            continue  # not a person
        try:
            kps = np.asarray(det['keypoints'], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise UserError(f'{where}: "keypoints" should be a flat list of numbers [x, y, score] * 17') from None
        if kps.size != NUM_JOINTS * 3:
            count = f'{kps.size // 3} keypoints' if kps.size % 3 == 0 else f'{kps.size} numbers'
            raise UserError(f'{where}: {count}, expected {NUM_JOINTS} (COCO layout, [x, y, score] each)')
        kps = kps.reshape(NUM_JOINTS, 3)
        try:
            score = float(det['score']) if 'score' in det else float(np.mean(kps[:, 2]))
        except (TypeError, ValueError):
            raise UserError(f'{where}: "score" should be a number') from None
        frame = frame_index(det['image_id'], where)
        if frame not in best or score > best[frame][0]:
            best[frame] = (score, kps)
    if not best:
        raise UserError(f'{path}: no person detections in the file; nothing to convert')
    length = max(best) + 1
    if length > MAX_FRAMES:
        raise UserError(f'{path}: frame number {length - 1} from image_id is implausibly large; image_id must be '
                        f'the frame index (0, 1, ...) or an image name with the frame number in it')
    if num_frames is not None:
        if num_frames < length:
            raise UserError(f'{num_frames}: {path} has detections up to frame {length - 1}', setting='num_frames')
        length = num_frames
    raw = np.full((length, NUM_JOINTS, 3), np.nan)
    for frame, (_, kps) in best.items():
        raw[frame] = kps
    return raw


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

    def fill(raw, where, video):
        positions, report = fill_gaps(raw, min_confidence, where, warn)
        summaries[video] = report
        return positions

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
            raw, w, h, video_fps = read_detectron_npz(f, width, height, fps)
            name = f.name[:-len('.npz')]
            videos[name] = (fill(raw, f, name), w, h, video_fps)
    else:
        if width is None:
            raise UserError('--coco-json needs --width and --height (pixels): COCO results hold no video size')
        w, h = _check_size(width, height, '--width/--height')
        video = video_name or Path(coco_json).stem
        out = output_path(output_dir, output_name or video)
        _check_overwrite(out, overwrite)
        raw = read_coco_json(coco_json, num_frames)
        videos[video] = (fill(raw, coco_json, video), w, h, fps)
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
