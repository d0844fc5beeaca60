"""Class names in a model's output order: the shipped ImageNet index, or a user's labels file.

Keras' `decode_predictions` downloads `imagenet_class_index.json` on first use, which fails on a
machine without internet. The 1000 names (Keras' spelling: index 0 'tench', 982 'groom') ship in
etl/data/imagenet_classes.txt, one per line in output order, generated from the ImageNet-1k
synset index (the first WordNet lemma of each synset, spaces as underscores).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from etl.errors import InputFileError
from etl.load.csvfile import encodes_as_utf8


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names in the output order of Keras' ImageNet models."""
    text = resources.files("etl.data").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    return text.splitlines()


def read_labels(path: Path) -> list[str]:
    """A labels file: one class name per line, in the model's output order; blank lines are refused
    because they would shift every later class by one. A byte order mark (Notepad's "UTF-8 with
    BOM") is not part of the first name."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8-sig", errors="surrogateescape").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputFileError(str(path), "holds no class names (one per line, in the model's output order)")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise InputFileError(str(path), "is blank; every line names one class", row=number)
        if not encodes_as_utf8(line):
            raw = line.encode("utf-8", "surrogateescape")
            raise InputFileError(str(path), f"bytes that are not UTF-8 ({raw!r}); save the file as UTF-8", row=number)
    return [line.strip() for line in lines]
