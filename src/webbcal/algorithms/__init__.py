"""Pure algorithms: numpy arrays in, typed results out, no I/O and no datamodels.

Subpackages follow the pipeline stages (``detector1``, ``image2``, ``image3``); numba
kernels live in private ``_*kernels.py`` modules next to the functions that wrap them,
so importing this package does not import numba.
"""
