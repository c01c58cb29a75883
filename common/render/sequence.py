"""Render and / or export one sequence: the entry behind rendering (``viz_output``) and exporting (``viz_export``).

    render_from_config(config, model, load_render_bundle(data_config, config), device, options)

The sequence is chosen by subject / action / camera, looked up in the bundle's test sequences and
then its training sequences. As in the official script, it is predicted from its full-rate
keypoints, whatever the run's ``downsample`` / ``subset`` / ``actions``: `load_render_bundle`
loads such a bundle (`render_data_config` is its `DataConfig`; a downsampled bundle would
misalign the video frames and shorten the export). Its prediction is reused from an evaluation of ``bundle.test`` when
one is given, else predicted now.

Frames: ``viz_skip = N`` starts at frame N of the sequence and of the video alike (the keypoints
were computed on the whole video, so both stay aligned); then every ``viz_downsample``-th frame is
kept (fps divided accordingly) and at most ``viz_limit`` frames are rendered (-1: all). When the
video ends first, rendering stops there.

Output (`common.render.writers`): ``.gif`` streamed frame by frame by Pillow (memory stays flat in
the length; each frame stored as the rectangle that changed, with its own 256-colour palette);
``.mp4`` by ffmpeg through matplotlib (``viz_bitrate`` kbit/s), with the system ffmpeg or the one
shipped by the ``imageio-ffmpeg`` package. The picture is described in `common.render.animation`,
the background video's reading in `common.io.video`.

Export: ``viz_export = PATH`` writes the whole sequence's prediction (before skip / limit /
downsample) as the official file: ``np.save`` naming (``.npy`` appended unless PATH ends in it),
float32 ``(N, 1, J, 3)`` camera-frame metres, root-relative, root slot as the model outputs it.
(The official file of a one-frame sequence is ``(1, J, 3)``, a side effect of its squeeze; here
it stays ``(1, 1, J, 3)``.) Written atomically.

Limits: ``viz_size`` is 1 to `MAX_VIZ_SIZE` inches per panel (each inch is 100 pixels and the
figure is drawn in memory: 200 inches needed tens of GB); ``viz_bitrate`` is positive.
"""
import dataclasses
import numbers
import os
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_write
from common.io.writable import check_file_name
from common.render.animation import Animation
from common.io.video import VideoReader
from common.render.writers import open_writer, output_kind

MAX_VIZ_SIZE = 30      # inches per panel: 3000 px; three panels make a 9000 x 3000 px picture


def check_viz_size(value):
    """The one rule for the size of a rendered panel (``viz_size``): 1 to `MAX_VIZ_SIZE` inches at 100 pixels an
    inch. Raises UserError (setting ``viz_size``) otherwise."""
    if not (_is_number(value) and 1 <= value <= MAX_VIZ_SIZE):
        raise UserError(f'{value}: the size of each panel must be from 1 to {MAX_VIZ_SIZE} inches (100 pixels an '
                        'inch; the default 5 makes 500-pixel panels)', setting='viz_size')


@dataclass(frozen=True)
class RenderConfig:
    """What to render or export (field names are the settings' names, as errors report them).

    viz_subject / viz_action / viz_camera: the sequence; viz_video: a video (or image) drawn behind
    the 2D keypoints; viz_output: the animation (.gif / .mp4), None for none; viz_export: the
    prediction (.npy), None for none; viz_bitrate: mp4 kbit/s; viz_no_ground_truth: leave out the
    ground-truth panel; viz_skip / viz_limit / viz_downsample: which frames (see the module);
    viz_size: inches per panel (100 pixels an inch).
    """
    viz_subject: str
    viz_action: str
    viz_camera: int = 0
    viz_video: str = None
    viz_skip: int = 0
    viz_output: str = None
    viz_export: str = None
    viz_bitrate: int = 3000
    viz_no_ground_truth: bool = False
    viz_limit: int = -1
    viz_downsample: int = 1
    viz_size: int = 5

    def __post_init__(self):
        if not self.viz_subject:
            raise UserError('is needed: the subject of the sequence to render or export (e.g. S9)',
                            setting='viz_subject')
        if not self.viz_action:
            raise UserError('is needed: the action of the sequence to render or export (e.g. Walking)',
                            setting='viz_action')
        check_viz_size(self.viz_size)
        if not (_is_number(self.viz_bitrate) and self.viz_bitrate > 0):
            raise UserError(f'{self.viz_bitrate}: the MP4 bitrate must be a positive number of kbit/s (the default '
                            'is 3000)', setting='viz_bitrate')


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def render_data_config(data_config, config):
    """The `DataConfig` of the bundle to render / export the sequence of `config` (a `RenderConfig`) from.

    As the official script: the rendered subject is the test subject, and the sequence is whole and
    at the full frame rate, so ``downsample`` and ``subset`` are 1 and every action is loaded;
    the training split is not needed. `data_config`: the run's `common.data.sources.DataConfig`.
    """
    return dataclasses.replace(data_config, subjects_test=(config.viz_subject,), actions=None, subset=1.0,
                               downsample=1, need_train=False)


def load_render_bundle(data_config, config):
    """The `DataBundle` of `render_data_config`; a subject that is not in the data is reported as
    the rendered subject's problem (the ``viz_subject`` setting), not the test subjects'."""
    from common.data.sources import load_bundle
    try:
        return load_bundle(render_data_config(data_config, config))
    except UserError as error:
        if error.setting != 'subjects_test':
            raise
        raise UserError(error.message, setting='viz_subject') from None


@dataclass(frozen=True)
class RenderSummary:
    """What `render_sequence` wrote: frames, picture size in pixels, frame rate."""
    frames: int
    width: int
    height: int
    fps: float


def render_from_config(config, model, bundle, device, options, result=None, log=print):
    """Export and / or render the sequence that `config` names; prints one line per file written.

    model: an unwrapped PoseTransformer; bundle: the `DataBundle` (its sequences, symmetry, skeleton
    and fps), loaded at the full frame rate (see `load_render_bundle`); options:
    `common.evaluation.EvalOptions` (tta, batch_size, progress are used); result: the
    `EvaluationResult` of ``bundle.test`` itself by the same model, when the run made one (its
    prediction of the sequence is reused instead of predicting again).
    """
    render = bool(config.viz_output)
    seq, test_index = find_sequence(bundle, config.viz_subject, config.viz_action, config.viz_camera)
    if render:   # everything that can be checked is checked before any work
        output_kind(config.viz_output)
        check_drawable(bundle.joints, config.viz_output)
        frames = select_frames(len(seq.poses_2d), config.viz_skip, config.viz_limit, config.viz_downsample)
    with VideoReader(config.viz_video) if (render and config.viz_video) else nullcontext() as video:
        if _reusable(result, test_index, bundle, seq):
            prediction = result.predictions[test_index]
        else:
            prediction = _predict(model, seq, bundle.symmetry, options, device)
        if config.viz_export:
            written, shape = export_prediction(config.viz_export, prediction)
            log(f'Exported the prediction of {describe(seq)}: {shape} float32 metres -> {written}')
        if render:
            # A source without a recorded frame rate (custom) plays at the video's, as the official.
            fps = video.fps if (not bundle.fps_known and video is not None and video.fps) else bundle.fps
            summary = render_sequence(config.viz_output, seq, prediction, bundle.joints, bundle.keypoints,
                                      fps=fps / config.viz_downsample, frames=frames,
                                      size=config.viz_size, bitrate=config.viz_bitrate, video=video,
                                      ground_truth=not config.viz_no_ground_truth, progress=options.progress,
                                      log=log)
            note = ''
            if summary.frames < len(frames):
                note = f' (the video ended: {summary.frames} of {len(frames)} frames)'
            log(f'Rendered {describe(seq)}: {summary.frames} frames, {summary.width}x{summary.height} px, '
                f'{summary.fps:g} fps -> {config.viz_output}{note}')


def _reusable(result, test_index, bundle, seq):
    """Whether `result` holds the prediction of `seq` (the test sequence at `test_index` of `bundle`)."""
    return (result is not None and test_index is not None and len(result.predictions) == len(bundle.test)
            and len(result.predictions[test_index]) == len(seq.poses_2d))


def _predict(model, seq, symmetry, options, device):
    """(N, J, 3) float32 prediction of one sequence, with the model in eval mode for the call."""
    from common.evaluation import predict_sequence
    was_training = model.training
    model.eval()
    try:
        return predict_sequence(model, seq.poses_2d, symmetry, tta=options.tta, batch_size=options.batch_size,
                                device=device)
    finally:
        model.train(was_training)


def render_sequence(path, seq, prediction, joints, keypoints, fps, frames=None, size=5, bitrate=3000, video=None,
                    ground_truth=True, progress=False, log=print, trajectory=False):
    """Write the animation of `seq` to `path` (a .gif or .mp4 file); returns a `RenderSummary`.

    prediction: (N, J, 3) camera frame, metres; joints / keypoints: the `JointLayout` of the 3D
    poses / 2D keypoints; fps: frames per second of the animation; frames: indices into `seq` to
    show (None: all, see `select_frames`); size: inches per panel; bitrate: mp4 kbit/s; video: an
    open `VideoReader` drawn behind the 2D keypoints, or None; ground_truth: draw ``seq.poses_3d``
    too when the sequence has it; trajectory: the prediction's root slot is its camera-frame trajectory,
    shown (the body moves). The figure is built once; every frame only moves the artists' data.
    """
    kind = output_kind(path)
    check_drawable(joints, path)
    frames = select_frames(len(seq.poses_2d)) if frames is None else frames
    background = video.first if video is not None else None
    if background is not None:
        _warn_if_stretched(background, seq.cam, log)
    animation = Animation(seq.poses_2d, prediction, seq.poses_3d if ground_truth else None, seq.cam, joints,
                          keypoints, frames, size=size, title=describe(seq), background=background,
                          trajectory=trajectory)
    return write_animation(path, kind, animation, frames, fps, bitrate, video, progress)


def write_animation(path, kind, animation, frames, fps, bitrate=3000, video=None, progress=False):
    """Write `animation` (an object with ``figure``, ``show(frame, picture)``, ``size_px``) shown at each of
    `frames` to `path` (`kind` 'gif' / 'mp4'), over the frames of the open `VideoReader` `video` when given
    (stopping where the video ends); returns a `RenderSummary`."""
    from common.progress import progress_bar
    pictures = video.frames_at(frames) if video is not None else None
    written = 0
    with open_writer(path, kind, animation.figure, fps, bitrate) as writer:
        for frame in progress_bar(frames, enabled=progress, desc='render', unit='frame'):
            picture = None
            if pictures is not None:
                picture = next(pictures, None)
                if picture is None:     # the video ended
                    break
            animation.show(frame, picture)
            writer.add(animation.figure)
            written += 1
    width, height = animation.size_px
    return RenderSummary(written, width, height, fps)


def _warn_if_stretched(picture, cam, log):
    height, width = picture.shape[:2]
    cam_w, cam_h = int(cam['res_w']), int(cam['res_h'])
    if abs(width / height - cam_w / cam_h) > 0.01 * (cam_w / cam_h):
        log(f'warning: the video is {width}x{height} but the keypoints are in a {cam_w}x{cam_h} frame; the video is '
            'stretched to that frame, so the skeleton may not line up')


def describe(seq):
    """'S9 Walking camera 0': how messages name a sequence."""
    return f'{seq.subject} {seq.action} camera {seq.camera}'


def check_drawable(joints, output):
    """UserError (about the animation file `output`) when the 3D `JointLayout` has no tree to draw."""
    if joints.parents is None:
        raise UserError(f'{output}: cannot draw {joints.name} joints: that layout has no skeleton tree; export the '
                        'coordinates to a .npy instead', setting='viz_output')


def find_sequence(bundle, subject, action, camera):
    """(sequence, index in bundle.test or None) for subject / action / camera, looked up in test then train."""
    for index, seq in enumerate(bundle.test):
        if (seq.subject, seq.action, seq.camera) == (subject, action, camera):
            return seq, index
    for seq in bundle.train:
        if (seq.subject, seq.action, seq.camera) == (subject, action, camera):
            return seq, None
    every = list(bundle.test) + list(bundle.train)
    subjects = list(dict.fromkeys(s.subject for s in every))
    if subject not in subjects:
        raise UserError(f'{subject}: not among the loaded subjects ({", ".join(subjects)}); the sequence is looked '
                        'for in the test subjects and, when training, the training subjects', setting='viz_subject')
    actions = list(dict.fromkeys(s.action for s in every if s.subject == subject))
    if action not in actions:
        raise UserError(f'{action!r}: subject {subject} has no such action; available: '
                        f'{", ".join(repr(a) for a in actions)} (only the actions selected for the run are loaded)',
                        setting='viz_action')
    cameras = sorted({s.camera for s in every if s.subject == subject and s.action == action})
    raise UserError(f'{camera}: {subject} {action!r} has cameras {", ".join(map(str, cameras))}', setting='viz_camera')


def select_frames(num_frames, skip=0, limit=-1, downsample=1):
    """Indices of the frames to render: from `skip`, every `downsample`-th, at most `limit` (<= 0: all)."""
    if skip < 0:
        raise UserError(f'{skip}: must be 0 or more', setting='viz_skip')
    if downsample < 1:
        raise UserError(f'{downsample}: must be at least 1', setting='viz_downsample')
    if skip >= num_frames:
        raise UserError(f'{skip}: the sequence has only {num_frames} frames', setting='viz_skip')
    frames = np.arange(skip, num_frames, downsample)
    return frames[:limit] if limit > 0 else frames


def export_path(path):
    """The file ``np.save(path, ...)`` writes: `path`, with ``.npy`` appended unless it ends so (as the official).

    Raises:
        UserError (setting ``viz_export``): `path` is an existing folder (``np.save`` would write
            ``<folder>.npy`` beside it, not a file inside it) or ends in a path separator (``new/`` would
            become the hidden file ``new/.npy``).
    """
    check_file_name(path, 'viz_export', example='poses.npy')
    path = os.fspath(path)
    return path if path.endswith('.npy') else path + '.npy'


def export_prediction(path, prediction):
    """Write `prediction` (N, J, 3) as the official export: float32 (N, 1, J, 3) at `export_path(path)`.

    Written atomically. Returns (the path written, the shape written).
    """
    array = np.ascontiguousarray(prediction, dtype=np.float32)[:, None]      # (N, 1, J, 3), as the model outputs
    written = export_path(path)
    atomic_write(written, lambda f: np.save(f, array))
    return written, array.shape
