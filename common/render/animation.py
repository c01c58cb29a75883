"""``--render`` / ``--viz-export``: predict one sequence and write its animation (GIF / MP4) or coordinates.

What is drawn (one row of square panels, ``--viz-size`` inches each at 100 dpi, so the picture is
``100 * size * panels`` x ``100 * size`` pixels):

1. the 2D input keypoints in the camera's pixels (``res_w`` x ``res_h`` of the sequence's camera),
   over the frames of ``--viz-video`` when given (any size: the frame is stretched over the camera's
   extent) or over a blank canvas;
2. the 3D reconstruction, and 3. the ground truth when the sequence has one and
   ``--viz-no-ground-truth`` is not set. 3D poses are root-relative (the trajectory is not shown),
   turned into the world's orientation with the camera's rotation (z up), lifted so that their lowest
   joint over the sequence touches the floor z=0, and viewed from the camera's azimuth at 15 degrees
   elevation. A camera without extrinsics (e.g. MPI-INF-3DHP) is shown as if level, looking along +y.

Right limbs are red, left limbs blue (`common.plots`).

Frames: ``--viz-skip N`` starts at frame N of the sequence and of the video alike (the keypoints
were computed on the whole video, so both stay aligned); then every ``--viz-downsample``-th frame
is kept (fps divided accordingly) and at most ``--viz-limit`` frames are rendered (-1: all). When
the video ends first, rendering stops there.

Output: ``.gif`` is written by Pillow, streamed frame by frame (memory stays flat in the length;
each frame is stored as the rectangle that changed, with its own 256-colour palette); ``.mp4`` by
ffmpeg through matplotlib's `FFMpegWriter` (``--viz-bitrate`` kbit/s), with the system ffmpeg or the
one shipped by the ``imageio-ffmpeg`` package. Video input is read with Pillow for GIF / image
files (a still image is used as the background of every frame) and with imageio-ffmpeg otherwise.

``--viz-export PATH`` writes the whole sequence's prediction (before skip / limit / downsample) as
float32 ``(N, J, 3)`` camera-frame metres, root-relative, root slot as the model outputs it, to
exactly PATH (``.npy`` format).
"""
import io
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_write

DPI = 100
ELEVATION = 15.0


def render_from_args(args, model, bundle, symmetry, device, result=None):
    """The CLI's entry: export and/or render the sequence chosen by ``--viz-subject/-action/-camera``.

    result: the `EvaluationResult` of ``bundle.test`` from the same model, when the run made one (its
    prediction of the sequence is reused instead of predicting again).
    """
    from common.evaluation import predict_sequence
    from common.progress import progress_wanted

    if not (args.viz_subject and args.viz_action):
        raise UserError('--viz-export / --render need --viz-subject and --viz-action '
                        '(e.g. --viz-subject S9 --viz-action Walking --viz-camera 0)')
    kind = output_kind(args.viz_output) if args.viz_output else None   # fail before any work
    video = VideoReader(args.viz_video) if (args.viz_output and args.viz_video) else None
    try:
        seq, test_index = find_sequence(bundle, args.viz_subject, args.viz_action, args.viz_camera)
        if result is not None and test_index is not None and len(result.predictions) == len(bundle.test):
            prediction = result.predictions[test_index]
        else:
            was_training = model.training
            model.eval()
            try:
                prediction = predict_sequence(model, seq.poses_2d, symmetry, tta=args.test_time_augmentation,
                                              batch_size=args.eval_batch_size, device=device)
            finally:
                model.train(was_training)
        if args.viz_export:
            export_prediction(args.viz_export, prediction)
            print(f'Exported the prediction of {describe(seq)}: {prediction.shape} float32 metres -> {args.viz_export}')
        if args.viz_output:
            ground_truth = None if args.viz_no_ground_truth else seq.poses_3d
            frames = select_frames(len(seq.poses_2d), args.viz_skip, args.viz_limit, args.viz_downsample)
            info = render_animation(
                args.viz_output, seq.poses_2d, prediction, ground_truth, seq.cam,
                parents=skeleton_parents(bundle), kps_left=bundle.kps_left, kps_right=bundle.kps_right,
                joints_left=bundle.joints_left, joints_right=bundle.joints_right, root=bundle.root,
                frames=frames, fps=bundle.fps / args.viz_downsample, size=args.viz_size,
                bitrate=args.viz_bitrate, video=video, title=describe(seq),
                progress=progress_wanted(getattr(args, 'progress', 'auto')), kind=kind)
            note = ''
            if info['frames'] < len(frames):
                note = f' (the video ended: {info["frames"]} of {len(frames)} frames)'
            print(f'Rendered {describe(seq)}: {info["frames"]} frames, {info["width"]}x{info["height"]} px, '
                  f'{info["fps"]:g} fps -> {args.viz_output}{note}')
    finally:
        if video is not None:
            video.close()


def describe(seq):
    return f'{seq.subject} {seq.action} camera {seq.camera}'


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
        raise UserError(f'--viz-subject {subject}: not among the loaded subjects ({", ".join(subjects)}). '
                        'Rendering looks in the test subjects (-ste) and, when training, the training subjects (-str)')
    actions = list(dict.fromkeys(s.action for s in every if s.subject == subject))
    if action not in actions:
        raise UserError(f'--viz-action {action!r}: subject {subject} has no such action; available: '
                        f'{", ".join(repr(a) for a in actions)} (the -a filter also limits what is loaded)')
    cameras = sorted({s.camera for s in every if s.subject == subject and s.action == action})
    raise UserError(f'--viz-camera {camera}: {subject} {action!r} has cameras {", ".join(map(str, cameras))}')


def select_frames(num_frames, skip=0, limit=-1, downsample=1):
    """Indices of the frames to render: from `skip`, every `downsample`-th, at most `limit` (<= 0: all)."""
    if skip < 0:
        raise UserError(f'--viz-skip {skip}: must be 0 or more')
    if downsample < 1:
        raise UserError(f'--viz-downsample {downsample}: must be at least 1')
    if skip >= num_frames:
        raise UserError(f'--viz-skip {skip}: the sequence has only {num_frames} frames')
    frames = np.arange(skip, num_frames, downsample)
    return frames[:limit] if limit > 0 else frames


def skeleton_parents(bundle):
    """Parent of every joint for drawing: the bundle's own, MPI-INF-3DHP's, or Human3.6M's 17 joints."""
    parents = getattr(bundle, 'parents', None)
    if parents is not None:
        return list(parents)
    if bundle.name == '3dhp':
        from common.data.mpi3dhp import PARENTS
        return list(PARENTS)
    if bundle.num_joints == 17:
        from common.data.skeleton import H36M_17_PARENTS
        return list(H36M_17_PARENTS)
    raise UserError(f'rendering knows the skeleton of 17-joint layouts only; this dataset has {bundle.num_joints} '
                    'joints (use --viz-export to get the coordinates instead)')


def export_prediction(path, prediction):
    """Write (N, J, 3) float32 to exactly `path` in .npy format (atomically)."""
    array = np.ascontiguousarray(prediction, dtype=np.float32)
    atomic_write(path, lambda f: np.save(f, array))


# ------------------------------------------------------------------------------------ geometry

def poses_for_display(poses, cam, root=0):
    """Camera-frame (N, J, 3) -> root-relative, world-oriented (z up), lowest joint of the sequence at z=0.

    The root slot (trajectory in the ground truth, ~0 in a prediction) is zeroed first. Cameras with an
    ``orientation`` (quaternion, world <- camera) are rotated by it, without the translation; others are
    treated as a level camera looking along +y: (x, y, z)_camera -> (x, z, -y).
    """
    from common.data.camera import camera_to_world
    poses = np.array(poses, dtype=np.float32, copy=True)
    poses[:, root] = 0
    if cam.get('orientation') is not None:
        world = camera_to_world(poses, R=np.asarray(cam['orientation'], dtype=np.float32),
                                t=np.zeros(3, dtype=np.float32))
    else:
        world = np.stack([poses[..., 0], poses[..., 2], -poses[..., 1]], axis=-1)
    world[..., 2] -= world[..., 2].min()
    return world


def display_azimuth(cam):
    """matplotlib azimuth that looks at the scene from the camera's side."""
    if cam.get('orientation') is not None:
        return float(cam.get('azimuth', 0.0))
    return -90.0


def cube_span(poses_list):
    """Side of a cube (metres) around the vertical axis that holds every pose: horizontally centred, floor at 0."""
    span = 0.5
    for poses in poses_list:
        span = max(span, 2 * float(np.abs(poses[..., :2]).max()), float(poses[..., 2].max()))
    return span * 1.05


# ------------------------------------------------------------------------------------ rendering

def render_animation(path, poses_2d, prediction, ground_truth, cam, parents, kps_left, kps_right, joints_left,
                     joints_right, frames, fps, size=5, bitrate=3000, root=0, video=None, title='',
                     progress=False, kind=None):
    """Write the animation of `frames` (indices into the sequence) to `path`; returns a summary dict.

    poses_2d: (N, J, 2) normalised screen coordinates; prediction / ground_truth: (N, J, 3) camera frame
    (ground_truth may be None). video: a `VideoReader` or None. The figure is built once; every frame
    only moves the artists' data.
    """
    from common.data.camera import image_coordinates
    from common.progress import progress_bar
    from common.plots import Skeleton2DArtist, Skeleton3DArtist, new_figure, setup_3d_axes

    kind = kind or output_kind(path)
    w, h = int(cam['res_w']), int(cam['res_h'])
    keypoints = image_coordinates(np.asarray(poses_2d, dtype=np.float32), w=w, h=h)
    panels = [('Reconstruction', poses_for_display(prediction, cam, root))]
    if ground_truth is not None:
        panels.append(('Ground truth', poses_for_display(ground_truth, cam, root)))
    span = cube_span([poses[frames] for _, poses in panels])
    azimuth = display_azimuth(cam)

    n_panels = 1 + len(panels)
    fig = new_figure(size * n_panels, size, dpi=DPI)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.04)
    fontsize = max(6.0, 2.6 * size)
    linewidth = max(1.0, 0.5 * size)

    ax2d = fig.add_subplot(1, n_panels, 1)
    ax2d.set_xticks([])
    ax2d.set_yticks([])
    first_video_frame = video.first if video is not None else None
    if first_video_frame is not None:
        video_h, video_w = first_video_frame.shape[:2]
        if abs(video_w / video_h - w / h) > 0.01 * (w / h):
            print(f'warning: the video is {video_w}x{video_h} but the keypoints are in a {w}x{h} frame; the video is '
                  'stretched to that frame, so the skeleton may not line up')
    background = first_video_frame if first_video_frame is not None else np.full((2, 2, 3), 240, dtype=np.uint8)
    image = ax2d.imshow(background, extent=(0, w, h, 0), interpolation='bilinear')
    ax2d.set_xlim(0, w)
    ax2d.set_ylim(h, 0)
    ax2d.set_aspect('equal')
    heading = ax2d.set_title('', fontsize=fontsize)
    skeleton_2d = Skeleton2DArtist(ax2d, parents, kps_left, kps_right, linewidth=linewidth,
                                   markersize=max(1.5, 0.6 * size))
    skeletons_3d = []
    for index, (label, poses) in enumerate(panels):
        ax = fig.add_subplot(1, n_panels, index + 2, projection='3d')
        setup_3d_axes(ax, span, azimuth, ELEVATION, title=label, fontsize=fontsize)
        skeletons_3d.append((Skeleton3DArtist(ax, parents, joints_left, joints_right, linewidth=linewidth * 1.2),
                             poses))

    video_frames = video.frames_at(frames) if video is not None else None
    written = 0
    with open_writer(path, kind, fig, fps, bitrate) as writer:
        for frame in progress_bar(frames, enabled=progress, desc='render', unit='frame'):
            if video_frames is not None:
                picture = next(video_frames, None)
                if picture is None:
                    break
                if picture is not background:
                    image.set_data(picture)
            heading.set_text(f'{title}  frame {int(frame)}' if title else f'frame {int(frame)}')
            skeleton_2d.update(keypoints[frame])
            for artist, poses in skeletons_3d:
                artist.update(poses[frame])
            writer.add(fig)
            written += 1
    width, height = fig.canvas.get_width_height()
    return {'frames': written, 'width': width, 'height': height, 'fps': fps}


# ------------------------------------------------------------------------------------ writers

def find_ffmpeg():
    """Path of an ffmpeg executable: the system's, else the one bundled by imageio-ffmpeg; None if neither."""
    exe = shutil.which('ffmpeg')
    if exe:
        return exe
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:   # not installed, or its binary is missing for this platform
        return None


def output_kind(path):
    """'gif' or 'mp4' for --viz-output `path` (checks that mp4 can be written here)."""
    suffix = Path(path).suffix.lower()
    if suffix == '.gif':
        return 'gif'
    if suffix == '.mp4':
        if find_ffmpeg() is None:
            raise UserError(f'--viz-output {path}: writing .mp4 needs ffmpeg (apt-get install ffmpeg / conda install '
                            'ffmpeg / pip install imageio-ffmpeg) — or use --viz-output out.gif')
        return 'mp4'
    raise UserError(f'--viz-output {path}: unsupported extension {suffix or "(none)"!r}; use .gif (no extra '
                    'software needed) or .mp4 (needs ffmpeg)')


def open_writer(path, kind, fig, fps, bitrate=3000):
    if kind == 'gif':
        return GifWriter(path, fps)
    return Mp4Writer(path, fig, fps, bitrate)


class _AtomicOutput:
    """A temp file beside `path`, renamed over it by `commit()` or removed by `discard()`."""

    def __init__(self, path, suffix):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix='.' + self.path.name + '.', suffix=suffix)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)     # mkstemp makes 0600 files; give the usual permissions
        self.tmp = Path(tmp)

    def commit(self):
        os.replace(self.tmp, self.path)

    def discard(self):
        if self.tmp.exists():
            self.tmp.unlink()


class GifWriter:
    """Streaming animated-GIF writer: each frame is written as soon as it is added.

    Frames are RGB; every frame stores only the rectangle that differs from the previous frame
    (disposal "leave in place"), quantised by Pillow to its own local palette of up to 256 colours.
    Every added frame becomes one GIF frame (identical frames are kept, so the count is exact).
    Loops forever; delay = 100 / fps centiseconds (at least 2, what browsers honour).
    """

    def __init__(self, path, fps):
        self.out = _AtomicOutput(path, '.gif')
        self.file = open(self.out.tmp, 'wb')
        self.delay = max(2, int(round(100.0 / fps)))
        self.previous = None

    def add(self, fig):
        fig.canvas.draw()
        self.add_rgb(np.asarray(fig.canvas.buffer_rgba())[..., :3])

    def add_rgb(self, rgb):
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = rgb.shape[:2]
        if self.previous is None:
            self.file.write(b'GIF89a' + struct.pack('<HHBBB', width, height, 0, 0, 0))  # no global palette
            self.file.write(b'!\xff\x0bNETSCAPE2.0\x03\x01' + struct.pack('<H', 0) + b'\x00')  # loop forever
            top, left, bottom, right = 0, 0, height, width
        else:
            if self.previous.shape != rgb.shape:
                raise ValueError(f'GIF frames must all be {self.previous.shape}, got {rgb.shape}')
            changed = np.any(rgb != self.previous, axis=2)
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            if len(rows):
                top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            else:
                top, left, bottom, right = 0, 0, 1, 1   # unchanged: a 1-pixel frame keeps the frame count
        palette, bits, interlace, data = _encode_gif_image(rgb[top:bottom, left:right])
        self.file.write(b'!\xf9\x04' + struct.pack('<BHBB', 1 << 2, self.delay, 0, 0))   # disposal 1, delay
        self.file.write(b',' + struct.pack('<HHHHB', left, top, right - left, bottom - top, 0x80 | interlace | bits))
        self.file.write(palette)
        self.file.write(data)
        self.previous = rgb

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.previous is not None:
                self.file.write(b';')
                self.file.close()
                self.out.commit()
                return
            self.file.close()
        finally:
            self.out.discard()
        if exc_type is None:
            raise UserError(f'no frame was rendered, so {self.out.path} was not written')


def _encode_gif_image(rgb):
    """(palette bytes, table-size bits, interlace flag, LZW image data) of `rgb` encoded by Pillow.

    Pillow writes a one-frame GIF; we take its colour table (global there, local in our file) and the
    image data block (LZW minimum code size, data sub-blocks, terminator).
    """
    from PIL import Image
    image = Image.fromarray(rgb, 'RGB').quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                 dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format='GIF')
    data = buffer.getvalue()
    packed = data[10]
    pos = 13
    palette, bits = b'', 0
    if packed & 0x80:
        bits = packed & 0x07
        palette = data[pos:pos + 3 * (2 << bits)]
        pos += len(palette)
    while data[pos] == 0x21:                        # extension blocks: skip their sub-blocks
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    if data[pos] != 0x2C:
        raise RuntimeError('unexpected GIF layout from Pillow')
    flags = data[pos + 9]
    pos += 10
    if flags & 0x80:                                # a local table overrides the global one
        bits = flags & 0x07
        palette = data[pos:pos + 3 * (2 << bits)]
        pos += len(palette)
    if not palette:
        raise RuntimeError('Pillow wrote a GIF frame without a colour table')
    end = len(data) - 1 if data[-1] == 0x3B else len(data)
    return palette, bits, flags & 0x40, data[pos:end]


class Mp4Writer:
    """H.264 MP4 through matplotlib's FFMpegWriter, piping the figure's pixels to ffmpeg frame by frame."""

    def __init__(self, path, fig, fps, bitrate=3000):
        import matplotlib
        from matplotlib.animation import FFMpegWriter
        exe = find_ffmpeg()
        if exe is None:
            output_kind(path)   # raises the explanatory UserError
        self.out = _AtomicOutput(path, '.mp4')
        try:
            with matplotlib.rc_context({'animation.ffmpeg_path': exe}):   # read when ffmpeg starts, in setup
                self.writer = FFMpegWriter(fps=fps, bitrate=bitrate, extra_args=['-pix_fmt', 'yuv420p'])
                self.writer.setup(fig, str(self.out.tmp), dpi=fig.dpi)
        except BaseException:
            self.out.discard()
            raise
        self.frames = 0

    def add(self, fig):
        self.writer.grab_frame()
        self.frames += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        import subprocess
        try:
            if exc_type is None:
                try:
                    self.writer.finish()
                except subprocess.CalledProcessError as error:
                    raise UserError(f'ffmpeg failed writing {self.out.path} ({error}); '
                                    'try --viz-output out.gif instead') from None
                if self.frames == 0:
                    raise UserError(f'no frame was rendered, so {self.out.path} was not written')
                self.out.commit()
            else:
                try:
                    self.writer.finish()
                except Exception:
                    pass
        finally:
            self.out.discard()


# ------------------------------------------------------------------------------------ video input

class VideoReader:
    """Frames of --viz-video as (H, W, 3) uint8, read lazily; opening reads the first frame (errors early).

    GIF / image files are read with Pillow (a single still image serves as the background of every
    frame); other files (mp4, avi, ...) with imageio-ffmpeg, which ships its own ffmpeg.
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f'--viz-video {path}: file not found')
        self.still = False
        self._generator = None
        from PIL import Image, UnidentifiedImageError
        try:
            self._image = Image.open(self.path)
        except UnidentifiedImageError:
            self._image = None
        except OSError as exc:
            raise UserError(f'--viz-video {path}: cannot read it ({exc})') from None
        if self._image is not None:
            self.still = getattr(self._image, 'n_frames', 1) == 1
            self.first = np.asarray(self._image.convert('RGB'))
        else:
            self._open_ffmpeg()

    def _open_ffmpeg(self):
        try:
            import imageio_ffmpeg
        except ImportError:
            raise UserError(f'--viz-video {self.path}: reading videos needs the imageio-ffmpeg package '
                            '(pip install imageio-ffmpeg), or convert the video to a GIF') from None
        try:
            self._generator = imageio_ffmpeg.read_frames(str(self.path), pix_fmt='rgb24')
            meta = next(self._generator)
            self._size = tuple(meta['size'])          # (width, height)
            self.first = self._decode(next(self._generator))
        except StopIteration:
            self.close()
            raise UserError(f'--viz-video {self.path}: the video has no frames') from None
        except Exception as exc:    # imageio-ffmpeg reports unreadable files with OSError / RuntimeError
            self.close()
            raise UserError(f'--viz-video {self.path}: cannot read it as a video ({exc})') from None

    def _decode(self, raw):
        width, height = self._size
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)

    def frames(self):
        """Every frame from the first."""
        yield self.first
        if self.still:
            while True:
                yield self.first
        if self._image is not None:
            for index in range(1, getattr(self._image, 'n_frames', 1)):
                self._image.seek(index)
                yield np.asarray(self._image.convert('RGB'))
        else:
            for raw in self._generator:
                yield self._decode(raw)

    def frames_at(self, indices):
        """The frames at increasing `indices`; stops early when the video ends."""
        if self.still:
            for _ in indices:
                yield self.first
            return
        wanted = iter(int(i) for i in indices)
        target = next(wanted, None)
        for index, frame in enumerate(self.frames()):
            if target is None:
                return
            if index == target:
                yield frame
                target = next(wanted, None)

    def close(self):
        if self._generator is not None:
            self._generator.close()
            self._generator = None
        if getattr(self, '_image', None) is not None:
            self._image.close()
            self._image = None
