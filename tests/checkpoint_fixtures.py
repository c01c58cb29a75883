"""Checkpoints in the official release layout, for tests (no download: a small seeded model)."""
import numpy as np
import torch

CONFIG = dict(num_frame=9, embed_dim_ratio=16, depth=2, num_heads=4, drop_path_rate=0.1)


def write_release_checkpoint(path, model):
    """The official layout: module.-prefixed weights, a numpy RandomState, an optimizer state."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    model(torch.randn(2, model.num_frame, 17, 2)).sum().backward()
    optimizer.step()
    torch.save({'epoch': 7, 'lr': 9.3e-5, 'random_state': np.random.RandomState(1234),
                'optimizer': optimizer.state_dict(),
                'model_pos': {'module.' + k: v for k, v in model.state_dict().items()}}, path)
