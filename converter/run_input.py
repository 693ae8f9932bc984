"""The run folder as the converter reads it: :class:`common.run_folder.RunFolder`, its errors as ``ConvertError``."""
from __future__ import annotations

from pathlib import Path

from common.run_folder import RunFolder, RunFolderError
from converter.errors import ConvertError


def load_run(run_dir: str | Path) -> RunFolder:
    """Validate ``run_dir`` and return it (model path, labels, preprocessing parameters, splits).

    Raises :class:`ConvertError` naming the missing or inconsistent file and the fix.
    """
    try:
        return RunFolder(run_dir)
    except RunFolderError as exc:
        raise ConvertError(str(exc)) from exc
