"""An interrupted run resumed with a larger epoch budget continues where it stopped (`edge-kit --epochs N`
after a Ctrl-C), instead of being refused as "different settings" or started over."""
from __future__ import annotations

import pytest

from common import run_folder as rf
from trainer.config import TrainConfig
from trainer.training import train


@pytest.mark.slow
def test_resumed_with_more_epochs_continues_the_interrupted_run(tmp_path, photos_dir):
    out = tmp_path / "run"
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, size=96, head_epochs=2,
                         head_patience=50, fine_tune=False, verbose=False)

    def stop_after_last_epoch(phase, epoch, logs):
        if (phase, epoch) == (1, 1):  # the second and last epoch of phase 1 is saved: stop before publishing
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, hooks=[stop_after_last_epoch])
    assert not rf.has_finished_training(out)

    seen = []
    more = TrainConfig(**{**config.__dict__, "head_epochs": 4})
    run = train(more, hooks=[lambda phase, epoch, logs: seen.append((phase, epoch))])
    assert seen == [(1, 2), (1, 3)]  # only the new epochs ran: the two finished ones were kept
    assert [row["epoch"] for row in run.history["phase1"]] == [1, 2, 3, 4]
    assert rf.has_finished_training(out) and not (out / rf.CHECKPOINT_DIR).exists()


def test_epoch_budgets_are_not_part_of_the_resume_key(tmp_path):
    base = TrainConfig(data_dir=str(tmp_path), out_dir=str(tmp_path / "run"))
    more = TrainConfig(**{**base.__dict__, "head_epochs": base.head_epochs + 20, "fine_tune_epochs": 30})
    other = TrainConfig(**{**base.__dict__, "alpha": 0.5})
    assert more.resume_key() == base.resume_key() != other.resume_key()
