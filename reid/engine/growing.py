"""Adding a task to a model: a new head, or new rows of the growing classifier.

LSTKC and DKP start the rows of a new domain's identities at the L2-normalised mean of each
identity's retrieval feature, computed by the model as the previous step left it (eval mode,
the evaluation transform, every training image of the new domain).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.data.transforms import EvalTransform

MEANS_BATCH = 128  # images per forward pass when computing class means (LSTKC's init loader)


@torch.no_grad()
def class_means(
    model: nn.Module, images: Tensor, pids: Tensor, task: int, device: torch.device
) -> Tensor:
    """[classes, D]: per label 0..max(pids), the L2-normalised mean of the retrieval features
    of its images through `task`'s head, the model in eval mode (restored after)."""
    was_training = model.training
    model.eval()
    classes = int(pids.max()) + 1
    sums: Tensor | None = None
    counts = torch.zeros(classes, device=device)
    labels = pids.to(device)
    transform = EvalTransform()
    try:
        for start in range(0, len(labels), MEANS_BATCH):
            batch = transform(images[start : start + MEANS_BATCH].to(device))
            feats = model(batch, pipelines=[task]).embeddings[0].float()
            if sums is None:
                sums = torch.zeros(classes, feats.shape[1], device=device)
            index = labels[start : start + MEANS_BATCH]
            sums.index_add_(0, index, feats)
            counts.index_add_(0, index, torch.ones_like(index, dtype=counts.dtype))
    finally:
        model.train(was_training)
    if sums is None:
        raise ValueError("class means of an empty set of images")
    return F.normalize(sums / counts.clamp(min=1).unsqueeze(1), dim=1)


def add_task(
    model: nn.Module, num_classes: int, bank=None, device: torch.device | None = None
) -> int:
    """Add a task of `num_classes` identities to `model`; return its index. A growing
    classifier that already has rows gets the new rows from the class means of `bank`'s images
    (the task's training images; `model.classifier_init: class_means`) when a bank is given,
    else random ones."""
    rows = None
    means = model.cfg.classifier_init == "class_means"
    if model.growing and model.num_tasks and means and bank is not None:
        device = device or next(model.parameters()).device
        rows = class_means(model, bank.images, bank.pids, model.num_tasks - 1, device)
    return model.add_pipeline(num_classes, rows)
