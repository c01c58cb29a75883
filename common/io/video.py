"""The video drawn behind the 2D keypoints: frames read lazily, as (H, W, 3) uint8 RGB arrays.

GIF and image files are read with Pillow (a single still image serves as the background of every
frame); other files (mp4, avi, ...) with imageio-ffmpeg, which ships its own ffmpeg. Messages
concern the ``viz_video`` setting (the file given) unless another `setting` is named (the video
of a detection, `common.detection`).
"""
from pathlib import Path

import numpy as np

from common.errors import UserError

TRUNCATION_SLACK = 0.05


class VideoReader:
    """Frames of a video file, read lazily; opening reads the first frame, so errors come early.

    Use as a context manager (or call `close`). ``first``: the first frame; ``still``: True for a
    single image; ``fps``: the video's frame rate when the file states one (ffmpeg's reading, or an
    animated GIF's frame duration), else None; ``frame_count``: the number of frames the file
    announces (from its duration for an ffmpeg video: an estimate), or None; ``size``: (width,
    height) in pixels; ``decoded``: the frames `frames` has yielded so far. `setting`: the setting that
    error messages concern.
    """

    def __init__(self, path, setting='viz_video'):
        self.path = Path(path)
        self.setting = setting
        if not self.path.is_file():
            raise UserError(f'{path}: file not found', setting=setting)
        self.still = False
        self._generator = None      # imageio-ffmpeg's raw frames
        self._size = None           # (width, height) of those
        self.fps = None
        from PIL import Image, UnidentifiedImageError
        try:
            self._image = Image.open(self.path)
        except UnidentifiedImageError:
            self._image = None
        except OSError as exc:
            raise UserError(f'{path}: cannot read it ({exc})', setting=setting) from None
        self.frame_count = None
        self.decoded = 0
        if self._image is not None:
            self.still = getattr(self._image, 'n_frames', 1) == 1
            self.first = np.asarray(self._image.convert('RGB'))
            self.frame_count = getattr(self._image, 'n_frames', 1)
            duration_ms = self._image.info.get('duration')
            if not self.still and duration_ms:
                self.fps = 1000.0 / duration_ms
        else:
            self._open_ffmpeg()
        self.size = (int(self.first.shape[1]), int(self.first.shape[0]))

    def _open_ffmpeg(self):
        try:
            import imageio_ffmpeg
        except ImportError:
            raise UserError(f'{self.path}: reading videos needs the imageio-ffmpeg package (pip install '
                            'imageio-ffmpeg), or convert the video to a GIF', setting=self.setting) from None
        try:
            self._generator = imageio_ffmpeg.read_frames(str(self.path), pix_fmt='rgb24')
            meta = next(self._generator)
            self._size = tuple(meta['size'])
            self.fps = float(meta['fps']) if meta.get('fps') else None
            if self.fps and meta.get('duration'):
                self.frame_count = int(round(float(meta['duration']) * self.fps))
            self.first = self._decode(next(self._generator))
        except StopIteration:
            self.close()
            raise UserError(f'{self.path}: the video has no frames', setting=self.setting) from None
        except Exception as exc:    # imageio-ffmpeg reports unreadable files with OSError / RuntimeError
            self.close()
            raise UserError(f'{self.path}: cannot read it as a video ({ffmpeg_reason(exc)})',
                            setting=self.setting) from None

    def _decode(self, raw):
        width, height = self._size
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)

    def frames(self):
        """Every frame from the first (a still image: the same one, forever)."""
        for frame in self._frames():
            self.decoded += 1
            yield frame

    def truncation_note(self):
        """After reading to the end: a warning when far fewer frames decoded than the file announces, else None.

        The announced count of an ffmpeg video is its duration times its frame rate (an estimate), so
        a difference of up to `TRUNCATION_SLACK` of it (at least 2 frames) is not reported.
        """
        if self.still or not self.frame_count:
            return None
        if self.frame_count - self.decoded <= max(2, TRUNCATION_SLACK * self.frame_count):
            return None
        return (f'{self.path}: the file announces {self.frame_count} frames but only {self.decoded} '
                'could be decoded; it is probably truncated or damaged (re-encode or re-download it); '
                f'the results cover those {self.decoded} frames')

    def _frames(self):
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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ffmpeg_reason(error):
    """One line of an imageio-ffmpeg error: ffmpeg's last line (its reason), not the version banner.

    imageio-ffmpeg puts ffmpeg's whole stderr in the message: a banner of a dozen lines (version,
    build configuration, library versions), then what went wrong, last.
    """
    text = str(error)
    lines = [line.strip() for line in text.split('=== stderr ===', 1)[-1].splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
