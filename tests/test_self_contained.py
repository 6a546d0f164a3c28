"""The documentation is self-contained: the contract's prose lives in the repository (the spec's
description, shown by the generated site) and no file points to a document outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from session_spec import load_spec

REPO = Path(__file__).resolve().parent.parent
# Spelled in parts, so that this file does not name them itself.
OUTSIDE = ("CONTRACT" + ".md", "ARCHITECTURE" + ".md", "/work/" + "shared", "seeds/")


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    return [REPO / name for name in listed if name and (REPO / name).is_file() and not (REPO / name).is_symlink()]


def test_no_file_refers_to_a_document_outside_the_repository() -> None:
    me = Path(__file__).resolve()
    found = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in repository_files() if path.resolve() != me
        for needle in OUTSIDE if needle in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not found, found


def test_the_spec_description_states_the_semantics() -> None:
    description = load_spec()["info"]["description"]
    for rule in ("read-your-writes", "persist until explicitly deleted", "409", "merges at the top level",
                 "round-trips exactly", "no lost update", "linearizability", "UUIDs", "307", "NaN"):
        assert rule in description, rule
