"""Pictures of one sequence: its animation (GIF / MP4) and the export of its prediction.

- `sequence`: the entry, ``RenderConfig`` + ``render_from_config`` (choose the sequence, predict,
  export, render), ``load_render_bundle`` (the full-rate data to render from) and ``render_sequence``;
- `animation`: the figure (panels, per-frame update) and the geometry of the 3D display;
- `writers`: the GIF and MP4 writers (atomic).

The video drawn behind the 2D keypoints is read by `common.io.video.VideoReader`.
"""
