"""The architecture is a rule, not a drawing: import-linter's contracts (pyproject.toml) hold on the code."""

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["type"]: contract for contract in config["contracts"]}


def test_the_import_contracts_are_kept():
    result = subprocess.run([str(LINT_IMPORTS)], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_package_of_pipeline_is_a_layer():
    """A new top-level package must be placed in the layers (the contract is exhaustive, this says why it fails)."""
    packages = {p.name for p in (REPO / "pipeline").iterdir() if (p / "__init__.py").exists()}
    layers = {name.strip() for layer in contracts()["layers"]["layers"] for name in layer.split("|")}
    assert packages == layers
    assert contracts()["layers"]["exhaustive"] is True


def test_the_flow_runs_from_presentation_down_to_core():
    layers = [layer.replace(" ", "") for layer in contracts()["layers"]["layers"]]
    assert layers == ["cli", "search|kibana", "runners", "runs", "index", "enrich", "clean", "collect", "core"]
