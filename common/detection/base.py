"""The detector interface: a picture in, the people in it out, as keypoints in a named layout.

A detector is any object with

* ``layout``: the `common.data.layouts.JointLayout` of its keypoints (``COCO_17`` for every
  backend here: the layout ``-d custom`` files store and `coco_to_h36m` converts);
* ``detect(frame)``: ``frame`` an ``(H, W, 3)`` uint8 RGB picture (`common.io.video.VideoReader`
  yields those) -> a list, one entry per person seen, of ``(J, 3)`` float arrays ``[x, y, score]``:
  pixels of that picture (x to the right, y down, origin at the top-left corner), score in [0, 1];
  an empty list when nobody is seen. Video detectors may use the previous frames (tracking), so
  frames are given in order, one video per detector object;
* ``close()``; detectors are context managers.

``name`` says which model it runs (shown in summaries). A detector that also estimates 3D sets
``world`` after each ``detect``: one ``(J, 3)`` array of metres (or None) per candidate returned,
in the same layout (None: no 3D at all).
"""


class Detector:
    """Base class of the backends: the context manager and the interface (see the module)."""

    name = 'detector'
    layout = None
    world = None

    def detect(self, frame):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
