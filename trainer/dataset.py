"""Finding the photos, checking them, and splitting them into train / val / test.

Two layouts are accepted::

    photos/                      photos/
      daisy/  a.jpg b.jpg ...      train/  daisy/ ...  rose/ ...
      rose/   c.jpg ...            val/    daisy/ ...  rose/ ...
                                   test/   daisy/ ...  rose/ ...   (optional)

In the first, each class is split at random (seeded, stratified: the same fraction of every class) into train,
validation and, when every class has enough photos, test (:func:`resolve_test_split`). In the second the folders say
which photo goes where; a ``train/`` folder without ``val/`` is split like the first layout. Hidden files and folders
(``.name``) are ignored.

The split is made on the file list, before any photo is decoded: the test photos are then read only for the final
evaluation, never by a decision (early stopping, phase choice, variant choice, calibration). It is saved as
``splits.json`` so that evaluation later uses the very same held-out photos. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import json
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from common import defaults
from common.run_folder import SPLIT_NAMES, Item, Splits, label_problem  # noqa: F401  (Splits: splits.json)
from trainer.errors import DatasetError, SkippedFilesWarning

#: Folder names recognised for the explicit layout (lower case) and the split each one feeds.
_EXPLICIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
#: Files that operating systems drop into folders; never photos, never worth a warning.
_JUNK_FILES = {"thumbs.db", "desktop.ini", "icon\r"}



@dataclass
class Discovery:
    """What was found in the data folder, before any photo is decoded."""

    root: Path
    labels: List[str]
    #: split name -> list of (relative path, label index). "train" always; "val"/"test" only for explicit folders.
    files: Dict[str, List[Item]]
    explicit: bool
    #: relative paths that are not inside a class folder, with the reason they are not used.
    ignored: List[Tuple[str, str]] = field(default_factory=list)

    def all_items(self) -> List[Item]:
        return [item for name in SPLIT_NAMES for item in self.files.get(name, [])]


#: Why a symbolic link is not used (listed in dataset.json's "ignored", and warned about once).
LINKED_FOLDER = ("a symbolic link to a folder, not followed (a link could make the same photos a second class); "
                 "copy or move the photos into a real folder")
BROKEN_LINK = "a broken symbolic link (what it points to is missing)"


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.lower() not in _JUNK_FILES


def _class_folders(folder: Path, root: Optional[Path] = None,
                   ignored: Optional[List[Tuple[str, str]]] = None) -> List[Path]:
    """The real sub-folders of ``folder`` (sorted); symbolic links to folders and broken links are not used and,
    with ``ignored``, listed there (paths relative to ``root``)."""
    out = []
    for p in sorted(folder.iterdir()):
        if not _visible(p):
            continue
        if p.is_symlink() and ignored is not None and (p.is_dir() or not p.exists()):
            ignored.append((p.relative_to(root or folder).as_posix(), LINKED_FOLDER if p.is_dir() else BROKEN_LINK))
        elif p.is_dir() and not p.is_symlink():
            out.append(p)
    return out


def _check_class_names(names: Iterable[str], where: Path) -> None:
    """Refuse a class folder whose name cannot be a label (:func:`common.run_folder.label_problem`): a name with a
    line break would give ``labels.txt`` one line more than there are classes."""
    for name in names:
        problem = label_problem(name)
        if problem is not None:
            raise DatasetError(
                f"{where}: the class folder {name!r} {problem}, which labels.txt (one label per line) cannot hold; "
                "rename the folder."
            )


def _check_case_clash(names: Iterable[str], where: Path) -> None:
    seen: Dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise DatasetError(
                f"{where}: class folders {other!r} and {name!r} differ only in upper/lower case. On many systems "
                "they are the same folder and labels like these confuse apps; merge them into one folder."
            )


def discover(data_dir: "str | Path") -> Discovery:
    """List the classes and photo files of ``data_dir`` (either layout). Decodes nothing.

    Raises :class:`DatasetError` for a missing folder, a folder with no class sub-folders or no files, a single
    class, and class names that differ only in case.
    """
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such folder. Give the folder that holds one sub-folder per class.")
    if not root.is_dir():
        raise DatasetError(f"{root}: is a file, not a folder. Give the folder that holds one sub-folder per class.")
    root = root.resolve()
    ignored: List[Tuple[str, str]] = []
    top = _class_folders(root, root, ignored)
    top_names = {p.name.lower() for p in top}
    explicit = "train" in top_names and top_names <= set(_EXPLICIT_FOLDERS)
    if not explicit:
        _check_class_names((p.name for p in top), root)
    per_split: Dict[str, Dict[str, List[str]]] = {}
    if explicit:
        for folder in top:
            split = _EXPLICIT_FOLDERS[folder.name.lower()]
            if split in per_split:
                raise DatasetError(f"{root}: more than one folder for the {split!r} split; keep one.")
            per_split[split] = _files_by_class(root, folder, ignored)
        for p in root.iterdir():
            if p.is_file() and _visible(p):
                ignored.append((p.name, "not inside a split folder (train/, val/, test/)"))
    else:
        per_split["train"] = _files_by_class(root, root, ignored, top)
    if ignored and any(reason in (LINKED_FOLDER, BROKEN_LINK) for _, reason in ignored):
        links = [f"{path}: {reason}" for path, reason in ignored if reason in (LINKED_FOLDER, BROKEN_LINK)]
        warnings.warn(f"{len(links)} symbolic link(s) in {root} not used (listed in dataset.json): "
                      + "; ".join(links[:5]) + (f"; and {len(links) - 5} more" if len(links) > 5 else ""),
                      SkippedFilesWarning, stacklevel=2)

    train_classes = per_split["train"]
    where = root / "train" if explicit else root
    if not train_classes:
        raise DatasetError(
            f"{where}: no class folders found. Put the photos in one sub-folder per class, e.g. "
            f"{where}/cat/*.jpg and {where}/dog/*.jpg."
        )
    _check_case_clash(train_classes, where)
    empty = [name for name, files in train_classes.items() if not files]
    if len(empty) == len(train_classes):
        raise DatasetError(f"{where}: the class folders contain no files. Copy the photos into them.")
    if empty:
        raise DatasetError(
            f"{where}: class folder(s) {', '.join(repr(e) for e in empty)} contain no photos. Add photos or "
            "remove the empty folder(s)."
        )
    labels = sorted(train_classes)
    if len(labels) < 2:
        raise DatasetError(
            f"{where}: found only one class ({labels[0]!r}); a classifier needs at least two. Add a folder of "
            "photos for each other class (e.g. an 'other' class with typical non-matching photos)."
        )
    index = {name: i for i, name in enumerate(labels)}
    files: Dict[str, List[Item]] = {}
    for split, classes in per_split.items():
        _check_case_clash(classes, root / split)
        unknown = sorted(set(classes) - set(labels))
        if unknown:
            raise DatasetError(
                f"{root}: the {split}/ folder has class(es) {', '.join(map(repr, unknown))} that train/ lacks. "
                "Every class needs training photos; add them to train/ or remove the folder(s)."
            )
        files[split] = [(rel, index[name]) for name in labels for rel in classes.get(name, [])]
    return Discovery(root=root, labels=labels, files=files, explicit=explicit, ignored=ignored)


def _files_by_class(root: Path, folder: Path, ignored: List[Tuple[str, str]],
                    class_dirs: Optional[List[Path]] = None) -> Dict[str, List[str]]:
    out: "OrderedDict[str, List[str]]" = OrderedDict()
    if class_dirs is None:
        class_dirs = _class_folders(folder, root, ignored)
        _check_class_names((p.name for p in class_dirs), folder)
    for class_dir in class_dirs:
        paths = []
        for p in sorted(class_dir.rglob("*")):
            if not all(_visible(Path(part)) for part in p.relative_to(class_dir).parts):
                continue
            if p.is_symlink() and (p.is_dir() or not p.exists()):  # rglob does not enter linked folders
                ignored.append((p.relative_to(root).as_posix(), LINKED_FOLDER if p.is_dir() else BROKEN_LINK))
            elif p.is_file():
                paths.append(p)
        out[class_dir.name] = [p.relative_to(root).as_posix() for p in paths]
    for p in folder.iterdir():
        if p.is_file() and _visible(p) and folder != root:
            ignored.append((p.relative_to(root).as_posix(), "not inside a class folder"))
        elif p.is_file() and _visible(p):
            ignored.append((p.name, "not inside a class folder"))
    return out


def check_class_counts(
    labels: Sequence[str], items: Sequence[Item], minimum: int, where: Path, what: str = "photos"
) -> None:
    """Raise :class:`DatasetError` when a class has fewer than ``minimum`` usable photos."""
    counts = Counter(label for _, label in items)
    few = [(labels[i], counts.get(i, 0)) for i in range(len(labels)) if counts.get(i, 0) < minimum]
    if few:
        listing = ", ".join(f"{name!r} has {n}" for name, n in few)
        raise DatasetError(
            f"{where}: too few usable {what}: {listing}; each class needs at least {minimum} (some for training, "
            "some held out to validate). Add photos to those classes or remove them."
        )


def resolve_test_split(discovery: Discovery, test_split: Optional[float] = None,
                       min_photos: int = defaults.TEST_SPLIT_MIN_PHOTOS,
                       fraction: float = defaults.TEST_SPLIT) -> float:
    """The test fraction a split uses: ``test_split`` when given (0 = no test split); None = automatic:
    ``fraction`` when there is no ``test/`` folder and every class has at least ``min_photos`` photos (files found,
    all folders counted), else 0 (too few photos for a test split that means anything)."""
    if test_split is not None:
        return float(test_split)
    if discovery.files.get("test"):
        return 0.0  # a test/ folder wins
    counts = Counter(label for _, label in discovery.all_items())
    return fraction if all(counts.get(i, 0) >= min_photos for i in range(len(discovery.labels))) else 0.0


def hold_out_test(discovery: Discovery, test_split: Optional[float] = None, seed: int = 0) -> List[Item]:
    """The test photos, chosen on the file list alone (nothing is decoded, so nothing reads them before the final
    evaluation): the ``test/`` folder's, else a seeded, stratified fraction (:func:`resolve_test_split`; at least one
    photo of each class, none at 0) of every class's photos."""
    if discovery.files.get("test"):
        return list(discovery.files["test"])
    fraction = resolve_test_split(discovery, test_split)
    if fraction <= 0:
        return []
    return _stratified(discovery.files["train"], len(discovery.labels), fraction, seed + 1)[1]


def split_dataset(
    discovery: Discovery,
    usable: Optional[Iterable[str]] = None,
    val_split: float = 0.2,
    test_split: Optional[float] = 0.0,
    seed: int = 0,
    min_per_class: int = 5,
    test: Optional[List[Item]] = None,
) -> Splits:
    """Seeded, stratified split: ``test`` (default :func:`hold_out_test` with ``test_split``; ``None``: automatic)
    first, on the file list; then the other photos that are ``usable`` (relative paths that decoded; default all)
    into train and validation.

    Explicit ``val/`` folders are used as they are. Otherwise every class is shuffled with
    ``numpy.random.default_rng(seed)`` (class by class, in label order) and ``round(n * val_split)`` photos (``n``:
    the class's photos, test ones included), at least one, go to validation; the rest train. Same files + same seed =
    same split; without a test split it is the split earlier versions made.
    """
    if test is None:
        test = hold_out_test(discovery, test_split, seed)
    held = {path for path, _ in test}
    keep = None if usable is None else set(usable)

    def filt(items: List[Item]) -> List[Item]:
        return [it for it in items if it[0] not in held and (keep is None or it[0] in keep)]

    labels = list(discovery.labels)
    pool = filt(discovery.files["train"])
    where = discovery.root / "train" if discovery.explicit else discovery.root
    if "val" in discovery.files:
        val = filt(discovery.files["val"])
        check_class_counts(labels, pool, max(1, min_per_class - 1), where, "training photos")
        check_class_counts(labels, val, 1, discovery.root / "val", "validation photos")
        return Splits(discovery.root, labels, pool, val, list(test))

    n_test = Counter(label for _, label in test)
    check_class_counts(labels, pool + list(test), min_per_class, where)
    rng = np.random.default_rng(seed)
    train: List[Item] = []
    val: List[Item] = []
    for label in range(len(labels)):
        members = [it for it in pool if it[1] == label]
        shuffled = [members[i] for i in rng.permutation(len(members))]
        n = len(shuffled)
        n_val = max(1, int(round((n + n_test[label]) * val_split)))
        if n - n_val < 1:
            raise DatasetError(
                f"{where}: class {labels[label]!r} has {n + n_test[label]} photos, too few for this split; add "
                "photos or lower val_split/test_split."
            )
        val += sorted(shuffled[:n_val])
        train += sorted(shuffled[n_val:])
    return Splits(discovery.root, labels, train, val, list(test))


def _stratified(items: List[Item], n_labels: int, fraction: float, seed: int) -> Tuple[List[Item], List[Item]]:
    rng = np.random.default_rng(seed)
    keep: List[Item] = []
    out: List[Item] = []
    for label in range(n_labels):
        members = [it for it in items if it[1] == label]
        order = rng.permutation(len(members))
        n_out = min(len(members) - 1, max(1, int(round(len(members) * fraction))))
        out += sorted(members[i] for i in order[:n_out])
        keep += sorted(members[i] for i in order[n_out:])
    return keep, out


def without(splits: Splits, paths: Iterable[str], name: str) -> Splits:
    """``splits`` with the photos ``paths`` (relative) removed from the split ``name`` (e.g. unreadable test photos)."""
    bad = set(paths)
    parts = {n: [it for it in splits.items(n) if n != name or it[0] not in bad] for n in SPLIT_NAMES}
    return Splits(splits.root, list(splits.labels), parts["train"], parts["val"], parts["test"])


def load_splits(path: "str | Path") -> Splits:
    """Read a ``splits.json`` file."""
    path = Path(path)
    return Splits.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


#: Automatic class weights (``TrainConfig.class_weights=None``) start when the largest class has this many times
#: the training photos of the smallest: below it, weighting lowered top-1 on mildly unbalanced classes
#: (docs/benchmarks.md), above it rare classes would be ignored.
CLASS_WEIGHT_RATIO = 3.0


def use_class_weights(setting: Optional[bool], items: Sequence[Item], n_labels: int) -> bool:
    """Whether the loss weights classes (``TrainConfig.class_weights``; None = when the training photos are
    unbalanced by :data:`CLASS_WEIGHT_RATIO` or more)."""
    if setting is not None:
        return bool(setting)
    counts = Counter(label for _, label in items)
    present = [counts.get(i, 0) for i in range(n_labels) if counts.get(i, 0)]
    return bool(present) and max(present) >= CLASS_WEIGHT_RATIO * min(present)


def class_weights(labels: Sequence[str], items: Sequence[Item]) -> Dict[int, float]:
    """Balanced class weights ``n_total / (n_classes * n_class)``: every class contributes equally to the loss."""
    counts = Counter(label for _, label in items)
    total = sum(counts.values())
    return {i: total / (len(labels) * counts[i]) if counts.get(i) else 0.0 for i in range(len(labels))}
