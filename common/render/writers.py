"""Animation writers: an animated GIF streamed frame by frame (Pillow), an MP4 through ffmpeg.

Both are context managers written atomically (`common.io.atomic.atomic_path`): the file appears
complete at its name on success, and nothing is left behind on an error or when no frame was
added. Inside the ``with`` block, ``writer.add(fig)`` appends the figure's current picture.

    with open_writer(path, output_kind(path), fig, fps, bitrate) as writer:
        for ...:
            ...                  # move the figure's artists
            writer.add(fig)

Messages concern the ``viz_output`` setting (the file asked for).
"""
import contextlib
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_path

MIN_GIF_DELAY_CS = 2   # browsers play shorter GIF delays (in centiseconds) at 10 cs


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
    """'gif' or 'mp4' for the animation file `path`; checks that an mp4 can be written here."""
    suffix = Path(path).suffix.lower()
    if suffix == '.gif':
        return 'gif'
    if suffix == '.mp4':
        if find_ffmpeg() is None:
            raise UserError(f'{path}: writing .mp4 needs ffmpeg (apt-get install ffmpeg / conda install ffmpeg / '
                            'pip install imageio-ffmpeg), or write a .gif instead', setting='viz_output')
        return 'mp4'
    raise UserError(f'{path}: the file name must end in .gif (no extra software needed) or .mp4 (needs ffmpeg)',
                    setting='viz_output')


def open_writer(path, kind, fig, fps, bitrate=3000):
    """The writer of `kind` ('gif' / 'mp4', see `output_kind`) for animation frames of `fig`."""
    if kind == 'gif':
        return gif_writer(path, fps)
    return mp4_writer(path, fig, fps, bitrate)


def _no_frame(path):
    return UserError(f'no frame was rendered, so {path} was not written')


# ----------------------------------------------------------------------------------------- GIF

@contextmanager
def gif_writer(path, fps):
    """A `GifStream` into a temporary file that becomes `path` when the block ends with frames added."""
    with atomic_path(path, suffix='.gif') as tmp, open(tmp, 'wb') as file:
        stream = GifStream(file, fps)
        yield stream
        if stream.frames == 0:
            raise _no_frame(path)
        stream.finish()


class GifStream:
    """Animated-GIF frames written to an open binary file as soon as they are added.

    Every added frame becomes one GIF frame (identical frames too, so the count is exact); each is
    stored as the rectangle that differs from the previous frame (disposal "leave in place"),
    quantised to its own local palette of up to 256 colours (median cut, no dithering). Loops
    forever; delay = 100 / fps centiseconds, at least `MIN_GIF_DELAY_CS`.

    Pillow encodes the blocks (its documented ``GifImagePlugin.getheader`` / ``getdata``); the
    frames are not given to ``Image.save(save_all=True, append_images=<generator>)`` because that
    falls short here (measured with Pillow 13.0, 1500x500 frames, the default picture size):
    it keeps every frame until the end, so the peak memory grew by 96 MiB for 100 frames and by
    312 MiB for 400 (0.7 MiB a frame: 3.6 GiB for a 5000-frame Human3.6M video), and it merges
    identical consecutive frames (4 frames given, 3 of them identical -> 2 frames in the file).
    """

    def __init__(self, file, fps):
        self.file = file
        self.duration_ms = 10 * max(MIN_GIF_DELAY_CS, int(round(100.0 / fps)))
        self.previous = None       # (H, W, 3) uint8 of the last frame
        self.frames = 0

    def add(self, fig):
        """Append the picture of a matplotlib figure (drawn now)."""
        fig.canvas.draw()
        self.add_rgb(np.asarray(fig.canvas.buffer_rgba())[..., :3])

    def add_rgb(self, rgb):
        """Append an (H, W, 3) uint8 picture; every frame must have the first one's size."""
        from PIL import GifImagePlugin, Image
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        top, left, bottom, right = self._changed_box(rgb)
        image = Image.fromarray(rgb[top:bottom, left:right]).quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        if self.previous is None:   # screen size, loop forever
            header, _ = GifImagePlugin.getheader(image, info={'loop': 0})
            self.file.write(b''.join(header))
        blocks = GifImagePlugin.getdata(image, offset=(int(left), int(top)), duration=self.duration_ms,
                                        disposal=1, include_color_table=True)
        self.file.write(b''.join(blocks))
        self.previous = rgb
        self.frames += 1

    def _changed_box(self, rgb):
        """(top, left, bottom, right) of what differs from the previous frame (all of the first frame)."""
        height, width = rgb.shape[:2]
        if self.previous is None:
            return 0, 0, height, width
        if self.previous.shape != rgb.shape:
            raise ValueError(f'GIF frames must all be {self.previous.shape}, got {rgb.shape}')
        changed = np.any(rgb != self.previous, axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if not len(rows):
            return 0, 0, 1, 1     # unchanged: a 1-pixel frame keeps the frame count
        return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1

    def finish(self):
        self.file.write(b';')     # GIF trailer


# ----------------------------------------------------------------------------------------- MP4

@contextmanager
def mp4_writer(path, fig, fps, bitrate=3000):
    """H.264 MP4 (yuv420p, `bitrate` kbit/s) through matplotlib's FFMpegWriter, frames piped to ffmpeg."""
    import matplotlib
    from matplotlib.animation import FFMpegWriter
    exe = find_ffmpeg()
    if exe is None:
        output_kind(path)   # raises the explanatory UserError
    with atomic_path(path, suffix='.mp4') as tmp:
        with matplotlib.rc_context({'animation.ffmpeg_path': exe}):   # read when ffmpeg starts, in setup
            writer = FFMpegWriter(fps=fps, bitrate=bitrate, extra_args=['-pix_fmt', 'yuv420p'])
            writer.setup(fig, str(tmp), dpi=fig.dpi)
        stream = _Mp4Stream(writer)
        try:
            yield stream
            if stream.frames == 0:
                raise _no_frame(path)
        except BaseException:
            with contextlib.suppress(Exception):
                writer.finish()   # stops ffmpeg; the temporary file is removed
            raise
        try:
            writer.finish()
        except subprocess.CalledProcessError as error:
            raise UserError(f'{path}: ffmpeg failed writing it ({error}); write a .gif instead',
                            setting='viz_output') from None


class _Mp4Stream:
    """What `mp4_writer` yields: `add(fig)` pipes the figure's picture to ffmpeg."""

    def __init__(self, writer):
        self.writer = writer
        self.frames = 0

    def add(self, fig):
        self.writer.grab_frame()
        self.frames += 1
