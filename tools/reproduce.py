"""Reproduce the paper's Human3.6M numbers with one command (see `common.reproduction`).

    python tools/reproduce.py                                   # released checkpoints in checkpoint/, data in data/
    python tools/reproduce.py --config cpn_ft_h36m_dbb:27:my27f.bin -c checkpoint/run1
    python tools/reproduce.py --synthetic                       # embedded dataset: trains a tiny model (~1-2 min)

Writes ``reproduction/reproduction.md`` (per-action tables: paper / ours / ours − paper, Protocol #1
and #2) and ``reproduction/reproduction.json`` (every number behind them), and prints the markdown.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.reproduction import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
