"""Stage 3 algorithms: output grid, resampling, outlier rejection, sky matching, alignment, catalogs."""
