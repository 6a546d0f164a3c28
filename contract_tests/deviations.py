"""Known deviations: one YAML file format, one loader, for `session-contract run` and `diff`.

The file is a mapping from ids to the reason the target is known to differ from the contract.
Two kinds of id share it:
- a property id of the conformance suite (`list.always-404`), used by `session-contract run`;
- a difference id of `session-contract diff` (`KIND:METHOD PATH[ STATUS][ FIELD]`, `*` matches any
  text, e.g. `"status:GET /api/v1/session 405"`), used by `diff`.
Each command uses its own kind and leaves the other alone, so one file serves both. A key that is
neither (a misspelt property id, an unknown difference kind) is an error, never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from contract_tests.properties import PROPERTIES

DIFFERENCE_KINDS = ("operation", "status", "undocumented-error", "parameter", "request-body", "request-field", "response-body", "response-field")
"""The first part of a `session-contract diff` difference id (`KIND:...`)."""


class DeviationsError(ValueError):
    """The known-deviations file cannot be used; the message says why (one line)."""


@dataclass(frozen=True)
class KnownDeviations:
    """A known-deviations file: reasons by property id (`run`) and by difference id or pattern (`diff`)."""

    properties: dict[str, str] = field(default_factory=dict)
    differences: dict[str, str] = field(default_factory=dict)


def is_difference_id(key: str) -> bool:
    """Whether `key` has the shape of a difference id or pattern (`KIND:...` with a known KIND)."""
    kind, colon, rest = key.partition(":")
    return bool(colon and rest.strip()) and kind in DIFFERENCE_KINDS


def _reason(value: object) -> str:
    return str(value or "").strip() or "known deviation"


def load_known_deviations(path: str | Path | None) -> KnownDeviations:
    """The file at `path` (none: nothing is known). DeviationsError when it cannot be read, is not a
    mapping, or has a key that is neither a registered property id nor a difference id."""
    if not path:
        return KnownDeviations()
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeviationsError(f"cannot read known-deviations file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DeviationsError(f"known-deviations file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeviationsError(f"known-deviations file {path} is not valid YAML: {problem}") from None
    if document is None:
        return KnownDeviations()
    if not isinstance(document, dict):
        raise DeviationsError(f"known-deviations file {path} must map property or difference ids to reasons")
    known = KnownDeviations()
    unknown = []
    for key, value in document.items():
        if key in PROPERTIES:
            known.properties[str(key)] = _reason(value)
        elif isinstance(key, str) and is_difference_id(key):
            known.differences[key] = _reason(value)
        else:
            unknown.append(str(key))
    if unknown:
        raise DeviationsError(
            f"known-deviations file {path} has ids that are neither property ids nor difference ids: {', '.join(sorted(unknown))}"
        )
    return known


def load_deviations(path: str | Path | None) -> dict[str, str]:
    """The property part of the known-deviations file (what `session-contract run` uses)."""
    return load_known_deviations(path).properties
