"""QM9 read from the installed qm9pack's CSV (real rows): parsing, atomization energies against the CSV's own
fields, the parsed-copy cache, a malformed row, and a missing package."""

import csv
import importlib.util

import numpy as np
import pytest

from gennet.errors import ConfigError
from gennet.molecules import qm9
from tests.molecules.helpers import write_qm9_head


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_qm9_head(tmp_path_factory.mktemp("qm9"), rows=30)


def test_reads_rows_and_energies(files):
    data = qm9.load_qm9(files=files)
    assert len(data) == 90 and np.all(np.diff(data.index) > 0)
    with open(files[0], newline="") as handle:
        rows = {int(r["Index"]): r for r in csv.DictReader(handle)}
    for i in range(len(data)):
        row = rows.get(int(data.index[i]))
        if row is None:
            continue
        elements = [e.strip("'") for e in row["Elements"].strip("[]").split(",")]
        counts = [int(c) for c in row["Stoichiometry"].strip("[]").split(",")]  # H, C, N, O, F
        z = data.charges[i][data.charges[i] > 0]
        assert [qm9.ATOMIC_NUMBERS[e] for e in elements] == z.tolist()
        assert counts == [int((z == k).sum()) for k in (1, 6, 7, 8, 9)]
        atoms = sum(qm9.ATOM_REFERENCE_U0[k] * n for k, n in zip((1, 6, 7, 8, 9), counts))
        expected = (float(row["InternalEnergy_0K_au"]) - atoms) * qm9.HARTREE_TO_KCAL_MOL
        assert data.energy[i] == pytest.approx(expected, rel=1e-12)
        xyz = np.array([float(c) for c in row["XYZ_Ang"].replace("[", "").replace("]", "").split(",")]).reshape(-1, 3)
        np.testing.assert_array_equal(data.positions[i, : len(z)], xyz)
    assert np.all(data.energy < 0)  # bound molecules


def test_parsed_copy_cache(files, tmp_path):
    first = qm9.load_qm9(tmp_path, files=files)
    cached = list(tmp_path.glob("qm9_*.npz"))
    assert len(cached) == 1
    again = qm9.load_qm9(tmp_path, files=files)
    np.testing.assert_array_equal(first.positions, again.positions)
    # a changed file is another fingerprint: re-read, not the stale copy
    files[2].write_text(files[2].read_text().rsplit("\n", 2)[0] + "\n")
    assert len(qm9.load_qm9(tmp_path, files=files)) == len(first) - 1
    assert len(list(tmp_path.glob("qm9_*.npz"))) == 2


def test_malformed_molecule_is_named(files, tmp_path):
    lines = files[0].read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("'H'", "'Xx'", 1)
    bad = tmp_path / files[0].name
    bad.write_text("".join(lines))
    with pytest.raises(ValueError, match=rf"data: malformed molecule {files[0].name}:4"):
        qm9.load_qm9(files=[bad, *files[1:]])


def test_missing_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qm9pack" else real(name, *a))
    with pytest.raises(ConfigError, match=r"qm9pack.*\.\[chem\]"):
        qm9.qm9_csv_files()


def test_compact_copy_round_trip(files, tmp_path):
    data = qm9.load_qm9(files=files)
    back = qm9.load_compact(qm9.save_compact(data, tmp_path / "qm9.npz"))
    np.testing.assert_array_equal(back.index, data.index)
    np.testing.assert_array_equal(back.charges, data.charges)
    np.testing.assert_allclose(back.positions, data.positions, rtol=1e-7, atol=1e-7)  # float32 storage
    np.testing.assert_array_equal(back.energy, data.energy)
    with pytest.raises(ConfigError, match="cannot read"):
        qm9.load_compact(tmp_path / "missing.npz")
