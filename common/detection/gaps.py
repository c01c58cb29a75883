"""Filling the gaps of one person's 2D keypoint track: the one rule every `-d custom` input uses.

A track is ``(F, J, 3)`` ``[x, y, score]`` pixels, with NaN rows for frames where nobody was
detected. Entries without a detection, non-finite, or scored below ``min_confidence`` are replaced
per joint by linear interpolation over time; before the first / after the last valid frame the
nearest valid value is repeated. A joint never confident in a whole video falls back to its
detected positions whatever their score (with a warning). `GapReport` counts what was filled.
"""
from dataclasses import dataclass

import numpy as np

from common.errors import UserError


@dataclass(frozen=True)
class GapReport:
    """What `fill_gaps` did to one video: ``frames``; ``frames_without_person`` (no detection at all);
    ``joints_filled``: (frame, joint) entries replaced by interpolation (the missing frames' joints
    included) out of ``frames * joints``; ``joints``: J; ``swaps_repaired``: left/right groups put back
    by `common.detection.tracking.repair_swaps` (0 when not run)."""
    frames: int
    frames_without_person: int
    joints_filled: int
    joints: int
    swaps_repaired: int = 0

    def describe(self):
        """One line for a person: 'N frames, M without a person, K of N*J joints filled (x %)'."""
        total = self.frames * self.joints
        text = (f'{self.frames} frames, {self.frames_without_person} without a person, {self.joints_filled} of '
                f'{total} joints filled ({100.0 * self.joints_filled / max(total, 1):.1f} %)')
        if self.swaps_repaired:
            text += f', {self.swaps_repaired} left/right swaps repaired'
        return text


def fill_gaps(raw, min_confidence, where, warn=None):
    """(F, J, 3) [x, y, score] with NaN rows for frames without detection -> ((F, J, 2) float32, `GapReport`).

    `where` names the video in messages; `warn(message)` receives the warnings (None: dropped).
    Raises UserError when no frame has a person.
    """
    raw = np.asarray(raw, dtype=np.float64)
    detected = np.all(np.isfinite(raw[..., :2]), axis=-1)  # (F, J)
    if not detected.any():
        raise UserError(f'{where}: no person detected in any frame; nothing to convert (check that the video shows '
                        f'a whole person, or run the detector again)')
    with np.errstate(invalid='ignore'):
        confident = detected & (raw[..., 2] >= min_confidence)
    frames = np.arange(len(raw))
    out = np.empty(raw.shape[:2] + (2,), dtype=np.float64)
    used = np.empty_like(confident)
    for joint in range(raw.shape[1]):
        valid = confident[:, joint]
        if not valid.any():
            valid = detected[:, joint]
            if warn is not None:
                warn(f'{where}: joint {joint} never reaches the minimum confidence {min_confidence}; '
                     f'using its detected positions whatever their score')
        used[:, joint] = valid
        for coord in range(2):
            out[:, joint, coord] = np.interp(frames, frames[valid], raw[valid, joint, coord])
    report = GapReport(frames=len(raw), frames_without_person=int((~detected.any(axis=1)).sum()),
                       joints_filled=int((~used).sum()), joints=raw.shape[1])
    return out.astype(np.float32), report


def fill_missing(raw, min_confidence, where, warn=None):
    """`fill_gaps` without the report: (F, J, 2) float32."""
    return fill_gaps(raw, min_confidence, where, warn)[0]
