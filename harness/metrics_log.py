"""EMF lines in a log file (the local worker's stdout): mark a position, then read what came after it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EmfDoc = dict[str, Any]


class MetricsLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def mark(self) -> int:
        """The current end of the file: later reads only see lines written after it."""
        return self.path.stat().st_size if self.path.exists() else 0

    def lines_since(self, mark: int) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(mark)
            data = handle.read()
        docs = []
        for line in data.splitlines():
            if not line.startswith(b"{"):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
        return docs

    def emf_since(self, mark: int) -> list[EmfDoc]:
        return [doc for doc in self.lines_since(mark) if "_aws" in doc]

    def logs_since(self, mark: int, msg: str) -> list[dict[str, Any]]:
        return [doc for doc in self.lines_since(mark) if doc.get("msg") == msg]

    def total(self, metric: str, mark: int, where: Mapping[str, str] | None = None) -> float:
        """Sum of one metric over the EMF lines since ``mark`` whose fields match ``where``."""
        total = 0.0
        for doc in self.emf_since(mark):
            if metric not in doc or not _matches(doc, where or {}):
                continue
            value = doc[metric]
            total += sum(value) if isinstance(value, list) else float(value)
        return total


def _matches(doc: Mapping[str, Any], where: Mapping[str, str]) -> bool:
    return all(str(doc.get(k)) == v for k, v in where.items())
