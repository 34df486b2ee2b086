"""Every notebook in ``notebooks/`` runs top to bottom on a CPU in ≤ 2 minutes (executed with nbclient).

The notebooks are found at collection time, so a new ``notebooks/*.ipynb`` is tested without editing this
file. Each one runs in a fresh ``python3`` kernel whose interpreter is the one running pytest
(``sys.executable``): a temporary kernelspec placed first on ``JUPYTER_PATH`` guarantees it, whatever
kernelspecs the user has installed; nothing is written to the home directory (Jupyter's runtime files and
IPython's profile go to a temporary directory too). The working directory of the kernel is a temporary
directory; the environment (``OMP_NUM_THREADS`` included) is inherited unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

pytestmark = pytest.mark.slow  # every notebook, run top to bottom

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
#: A hang guard per cell, not a speed target (time belongs in benchmarks; each notebook's wall time is printed and
#: recorded as the test's ``wall_time_s`` property): on a quiet 2-core CPU each notebook runs in well under 2 min.
CELL_TIMEOUT_S = 900
PROBE = "import json, sys; print(json.dumps([sys.executable, sys.prefix]))"


@pytest.fixture(scope="session")
def venv_kernel(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``python3`` kernelspec launching ``sys.executable``, shadowing any other for this session. Returns its name."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "data" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (gennet test interpreter)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(root / "data"), prepend=os.pathsep)  # searched before user and system dirs
        env.setenv("JUPYTER_RUNTIME_DIR", str(root / "runtime"))  # connection files
        env.setenv("IPYTHONDIR", str(root / "ipython"))  # the kernel's profile and history
        resolved = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        assert resolved.argv[0] == sys.executable, f"kernel {KERNEL_NAME!r} resolves to {resolved.argv}"
        yield KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have stored outputs or execution counts; clear them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_executes(
    path: Path, venv_kernel: str, tmp_path: Path, capsys: pytest.CaptureFixture, record_property
) -> None:
    notebook = nbformat.read(path, as_version=4)
    # First cell (in memory only): which interpreter does the kernel run?
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name=venv_kernel, resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    client.execute()  # raises nbclient.exceptions.CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start

    probe = "".join(out.get("text", "") for out in notebook.cells[0].outputs if out.output_type == "stream")
    executable, prefix = json.loads(probe)
    assert (executable, prefix) == (sys.executable, sys.prefix), f"kernel ran {executable} (prefix {prefix})"
    record_property("wall_time_s", round(elapsed, 2))
    with capsys.disabled():
        print(f"\n{path.name}: executed in {elapsed:.1f} s (kernel {executable})")
