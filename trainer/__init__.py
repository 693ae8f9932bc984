"""edge-kit trainer: a folder of labelled photos -> a fine-tuned classifier (MobileNetV2 or EfficientNet-Lite0, see
``trainer.backbones``) in a run folder.

    from trainer import TrainConfig, train
    run = train(TrainConfig("photos/", out_dir="runs/flowers", alpha=0.35, size=224))
    print(run.val_top1, run.path)

Importing the package does not import TensorFlow (``RunFolder`` reads JSON and labels without it); ``train`` and
``RunFolder.load_model`` import it when called.
"""
from __future__ import annotations

from common.run_folder import RunFolder
from trainer.config import TrainConfig
from trainer.errors import DatasetError, RunFolderError, SkippedFilesWarning, TrainerError
from trainer.training import Run, train

__all__ = ["TrainConfig", "train", "Run", "RunFolder", "DatasetError", "RunFolderError", "TrainerError",
           "SkippedFilesWarning"]
