"""Stage-3 (image3) steps: tweakreg, skymatch, outlier_detection, resample, source_catalog.

They pass an :class:`~webbcal.steps.image3._library.ExposureLibrary` along (built from
an association file by :func:`load_library`), holding one exposure in memory at a time.
"""
