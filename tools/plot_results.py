"""Per-action bar chart (Protocol #1 and #2) of a ``--results-json`` file, beside the paper's numbers.

    python tools/plot_results.py results.json -o figure/per_action.png
    python tools/plot_results.py results.json --no-paper
    python tools/plot_results.py results.json --keypoints cpn_ft_h36m_dbb --frames 81   # choose the paper row

The paper's row is looked up from the run's configuration stored in the JSON (-d, -k, the model's
frames) unless given; the chart shows it where the paper reports it (per action for Protocol #1
with CPN keypoints and 81 frames, the average otherwise). See `common.plots.plot_per_action`.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.plots import plot_results_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(plot_results_main())
