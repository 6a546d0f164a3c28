"""`build_site`: the static documentation site, self-contained (no network, works from file://)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

from session_docs.render import contract_page, swagger_ui_page
from session_spec import DEFAULT_SPEC_PATH, load_spec, spec_bytes

SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-16x16.png", "favicon-32x32.png")
SITE_FILES = ("index.html", "contract.html", "openapi.yaml", "openapi.json", *(f"swagger-ui/{name}" for name in SWAGGER_UI_FILES))


def build_site(out_dir: Path, spec_path: Path = DEFAULT_SPEC_PATH) -> list[Path]:
    """Write the site into `out_dir` (created if needed) and answer the files written.

    index.html is Swagger UI (from the `swagger_ui_bundle` package's files, copied beside it) with
    the spec embedded; contract.html is the contract rendered from the spec; the spec itself is
    published unchanged as YAML and converted to JSON.
    """
    out_dir = Path(out_dir)
    source = spec_bytes(spec_path).decode("utf-8")
    spec = load_spec(spec_path)
    assets = out_dir / "swagger-ui"
    assets.mkdir(parents=True, exist_ok=True)
    for name in SWAGGER_UI_FILES:
        with (swagger_ui_path / name).open("rb") as packaged, (assets / name).open("wb") as copy:
            shutil.copyfileobj(packaged, copy)
    (out_dir / "openapi.yaml").write_text(source, encoding="utf-8")
    (out_dir / "openapi.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "index.html").write_text(swagger_ui_page(spec), encoding="utf-8")
    (out_dir / "contract.html").write_text(contract_page(spec), encoding="utf-8")
    return [out_dir / name for name in SITE_FILES]
