"""The embedded synthetic dataset: a deterministic stand-in for Human3.6M, generated on first use.

Modules, from the files down to the geometry:

- `dataset`: subjects, sequences and the three Human3.6M-format files (entry point:
  `dataset.ensure_synthetic_dataset`); `detector`: the simulated 2D detector errors.
- `motion`: one subject performing one action, composed from the layers below.
- `actions`: the 15 actions as scripts of random key poses, built from `postures`, named pose
  dicts over the parameters of `pose`.
- `timeline`: key lists and the per-frame parameter tracks eased between keys.
- `modulations`: waving, hand shakes, talking hands, nodding, idle sway.
- `locomotion`: the root's path over the floor; `gait`: legs and arm swing while walking.
- `body`: segment lengths and forward kinematics to the 32 mocap joints; `geometry`:
  rotations and two-bone IK.
"""
