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
    config = TrainConfig(data_dir=str(photos_dir), out_dir=str(out), weights=None, size=96, fine_tune=True,
                         fine_tune_epochs=2, fine_tune_views=1, fine_tune_min_per_class=2, verbose=False)

    def stop_after_last_epoch(phase, epoch, logs):
        if (phase, epoch) == (2, 1):  # the second and last epoch of phase 2 is saved: stop before publishing
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, hooks=[stop_after_last_epoch])
    assert not rf.has_finished_training(out)

    seen = []
    more = TrainConfig(**{**config.__dict__, "fine_tune_epochs": 4})
    run = train(more, hooks=[lambda phase, epoch, logs: seen.append((phase, epoch))])
    assert seen == [(2, 2), (2, 3)]  # only the new epochs ran: the two finished ones were kept
    assert [row["epoch"] for row in run.history["phase2"]] == [1, 2, 3, 4]
    assert rf.has_finished_training(out) and not (out / rf.CHECKPOINT_DIR).exists()


def test_epoch_budgets_are_not_part_of_the_resume_key(tmp_path):
    base = TrainConfig(data_dir=str(tmp_path), out_dir=str(tmp_path / "run"))
    more = TrainConfig(**{**base.__dict__, "fine_tune_epochs": 30})
    other = TrainConfig(**{**base.__dict__, "alpha": 0.5})
    assert more.resume_key() == base.resume_key() != other.resume_key()
