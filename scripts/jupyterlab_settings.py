"""Write JupyterLab settings overrides so that .md files open as Jupytext notebooks.

Used by Binder's postBuild and by the Binder emulation test. The overrides file lives in
<sys.prefix>/share/jupyter/lab/settings/overrides.json (the environment's, not the user's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OVERRIDES = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    }
}


def write_overrides(prefix: str | Path = sys.prefix) -> Path:
    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.is_file() else {}
    current.update(OVERRIDES)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(f"wrote {write_overrides().name}")
