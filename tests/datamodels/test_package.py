"""The package surface: everything exported, and the cheap import stays cheap."""

import subprocess
import sys

import webbcal.datamodels as dm

CONTRACT = ["DQ", "GROUP_FLAGS", "FormatError", "atomic_write", "ExposureInfo", "Pointing",
            "RampModel", "ImageModel", "CubeModel", "MosaicModel", "Association", "read",
            "read_uncal", "read_image", "read_cube", "read_mosaic", "read_association"]


def test_contract_names_exported():
    for name in CONTRACT:
        assert name in dm.__all__ and getattr(dm, name) is not None


def test_dq_import_does_not_load_astropy():
    code = ("import sys; from webbcal.datamodels import DQ, FormatError; "
            "print(sorted(m for m in ('astropy', 'asdf', 'gwcs', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_format_error_is_webbcal_error():
    from webbcal.errors import WebbcalError

    assert issubclass(dm.FormatError, WebbcalError) and issubclass(dm.FormatError, ValueError)
