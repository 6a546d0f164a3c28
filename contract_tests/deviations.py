"""Known deviations: a YAML mapping from property id to the reason the target is known to differ."""

from __future__ import annotations

from pathlib import Path

import yaml

from contract_tests.properties import PROPERTIES


class DeviationsError(ValueError):
    """The known-deviations file cannot be used."""


def load_deviations(path: str | Path | None) -> dict[str, str]:
    """`{property id: reason}`; an unknown id or a malformed file is an error, not a silent pass."""
    if not path:
        return {}
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeviationsError(f"cannot read known-deviations file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DeviationsError(f"known-deviations file {path} is not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise DeviationsError(f"known-deviations file {path} must map property ids to reasons")
    unknown = sorted(str(k) for k in document if k not in PROPERTIES)
    if unknown:
        raise DeviationsError(f"known-deviations file {path} names unknown properties: {', '.join(unknown)}")
    return {str(k): str(v or "").strip() or "known deviation" for k, v in document.items()}
