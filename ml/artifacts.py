"""Versioned model artifacts with model cards.

Layout under MODELS_DIR::

    <name>/<version>/model.joblib   (or any other files the model writes)
    <name>/<version>/card.json      data, date, metrics, library versions
    <name>/CURRENT                  the version served

A version is a UTC timestamp, so versions sort by age. Saving writes into a
temporary folder and renames it, so a crash never leaves a half-written
version behind; switching versions rewrites CURRENT atomically.
"""
import json
import os
import platform
import shutil
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import joblib

CARD_FILE = "card.json"
MODEL_FILE = "model.joblib"
CURRENT_FILE = "CURRENT"


class ArtifactError(Exception):
    """An artifact is missing, unreadable or corrupt."""


def library_versions(*packages):
    packages = packages or ("numpy", "scipy", "scikit-learn", "joblib")
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def new_version():
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def write_atomic(path, write):
    """Write `path` through `write(tmp)`, a temporary file beside it then renamed into place.

    Readers see the old file or the new one, never half of one; a failed write
    leaves no temporary file behind. The temporary name keeps `path`'s suffix
    (numpy and torch choose a format by it).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_version(models_dir, name, card, write_files, activate=True):
    """Create a new version of `name`.

    `write_files(folder)` writes the model files into `folder`; `card` is a
    JSON-serialisable dict that is completed with the name, version and date.
    Returns the version folder.
    """
    root = Path(models_dir) / name
    root.mkdir(parents=True, exist_ok=True)
    version = new_version()
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    try:
        write_files(staging)
        card = {"name": name, "version": version,
                "created_at": datetime.now(timezone.utc).isoformat(), **card}
        (staging / CARD_FILE).write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
        final = root / version
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if activate:
        activate_version(models_dir, name, version)
    return final


def save_joblib(models_dir, name, obj, card, activate=True):
    """Save one picklable object as a new version of `name`."""
    return save_version(models_dir, name, card,
                        lambda folder: joblib.dump(obj, folder / MODEL_FILE), activate)


def versions(models_dir, name):
    """Versions of `name`, newest first, each as its model card."""
    root = Path(models_dir) / name
    if not root.is_dir():
        return []
    cards = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         reverse=True):
        try:
            cards.append(json.loads((folder / CARD_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return cards


def current_version(models_dir, name):
    path = Path(models_dir) / name / CURRENT_FILE
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return version or None


def activate_version(models_dir, name, version):
    folder = Path(models_dir) / name / version
    if not (folder / CARD_FILE).is_file():
        raise ArtifactError(f"{name}: no version {version!r} in {folder.parent}")
    write_atomic(Path(models_dir) / name / CURRENT_FILE,
                 lambda tmp: Path(tmp).write_text(version + "\n", encoding="utf-8"))


def current_folder(models_dir, name):
    """The folder of the served version of `name`; ArtifactError if there is none."""
    version = current_version(models_dir, name)
    if version is None:
        raise ArtifactError(f"{name}: no trained version in {Path(models_dir) / name}")
    folder = Path(models_dir) / name / version
    if not folder.is_dir():
        raise ArtifactError(f"{name}: CURRENT names {version!r}, which does not exist")
    return folder


def load_card(folder):
    try:
        return json.loads((Path(folder) / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"unreadable model card in {folder}: {exc}") from exc


def load_joblib(models_dir, name):
    """(object, card) of the served version of `name`; ArtifactError on any failure."""
    folder = current_folder(models_dir, name)
    try:
        obj = joblib.load(folder / MODEL_FILE)
    except Exception as exc:  # joblib/pickle raise many types on corrupt files
        raise ArtifactError(f"{name}: cannot load {folder / MODEL_FILE}: {exc}") from exc
    return obj, load_card(folder)
