"""File-writing helpers of :func:`webbcal.simulate.world.simulate_world` (private)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from webbcal.simulate.detector import make_detector, make_references
from webbcal.simulate.ramps import simulate_ramp
from webbcal.simulate.scene import make_scene, render_rate

ARCSEC2_PER_SR = 206264.80624709636 ** 2


def readout_of(p, det):
    """(tframe, nframes, groupgap, ngroups, subarray, substrt, shape, noutputs)."""
    from webbcal.instrument import READOUT_PATTERNS, frame_time

    rp = READOUT_PATTERNS[p.readpatt]
    if p.window is None:
        size, sub, nout = 2048, "FULL", 4
    else:
        size, sub, nout = p.window[0], p.window[1], 1
    tframe = frame_time(size, size, nout)
    return dict(tframe=tframe, nframes=rp.nframes, groupgap=rp.groupgap, ngroups=p.ngroups,
                subarray=sub, substrt=(1, 1), shape=(size, size), noutputs=nout)


def scene_for(p, filters, boresight, rng):
    """Scene: sources in a circle around each detector window (all dithers covered)."""
    from webbcal.instrument import DetectorGeometry
    from webbcal.simulate.scene import Scene
    from webbcal.simulate.world import _detector_pointing

    parts = []
    margin = max(np.hypot(*np.array(p.dither_arcsec).T).max(), 0.0) + 4.0
    for det, _ in p.detectors:
        ro = readout_of(p, det)
        g = DetectorGeometry(det, _detector_pointing(det, boresight), substrt=ro["substrt"],
                             shape=ro["shape"])
        ras, decs = g.footprint()
        ra0, dec0 = float(np.mean(ras)), float(np.mean(decs))
        cosd = math.cos(math.radians(dec0))
        rad = float(np.max(np.hypot((ras - ra0) * cosd, decs - dec0))) * 3600 + margin
        area = math.pi * rad ** 2 / 3600
        parts.append(make_scene(ra0, dec0, rad, filters, rng=rng,
                                n_galaxies=int(rng.poisson(p.density * area)),
                                n_stars=int(rng.poisson(p.star_density * area)),
                                n_bright=max(2, int(round(3 * area)))))
    sources = np.concatenate([s.sources for s in parts])
    sources["id"] = np.arange(1, len(sources) + 1)
    flux = {f: np.concatenate([s.flux[f] for s in parts]) for f in filters}
    return Scene(sources=sources, flux=flux, sky=parts[0].sky)


def build_references(p, filters, seed, out, progress, *, threads=2):
    """Detectors (truth) and reference objects per detector.

    Detectors are independent (each draws from its own seeded generator) and numpy
    releases the GIL in the bulk work, so ``threads`` build them side by side; the
    result does not depend on it.
    """
    from concurrent.futures import ThreadPoolExecutor

    from webbcal.instrument import filter_info

    def one(k, det, filt):
        if progress is not None:
            progress(f"detector + references {det}", k, len(p.detectors))
        ro = readout_of(p, det)
        sim = make_detector(det, filters=[filt], seed=seed, substrt=ro["substrt"],
                            shape=ro["shape"])
        fi = filter_info(filt, detector=det)
        nfr = ro["ngroups"] * (ro["nframes"] + ro["groupgap"]) - ro["groupgap"]
        per_frame = nfr * ro["shape"][0] * ro["shape"][1] <= 64_000_000
        r = make_references(sim, filters=[filt], subarray=ro["subarray"],
                            readout={k2: ro[k2] for k2 in ("tframe", "nframes", "groupgap",
                                                           "ngroups")},
                            photmjsr={filt: fi.photmjsr}, pixar_sr=fi.pixar_sr,
                            pixar_a2=fi.pixar_sr * ARCSEC2_PER_SR, per_frame_dark=per_frame)
        r["_per_frame_dark"] = per_frame
        r["_readout"] = ro
        r["_filter"] = filt
        return det, sim, r

    jobs = [(k, det, filt) for k, (det, filt) in enumerate(p.detectors)]
    if threads > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(min(threads, len(jobs))) as pool:
            built = list(pool.map(lambda j: one(*j), jobs))
    else:
        built = [one(*j) for j in jobs]
    sims = {det: sim for det, sim, _ in built}
    refs = {det: r for det, _, r in built}
    return refs, sims


def write_cache(root, refs):
    """Write all references into a CRDS cache (returns ``CrdsCache``)."""
    from astropy.io import fits

    from webbcal.instrument import DETECTORS
    from webbcal.references import CacheEntry, write_crds_cache

    staging = Path(root).parent / ".staging_refs"
    staging.mkdir(parents=True, exist_ok=True)
    entries = []
    for det, r in refs.items():
        ch = DETECTORS[det].channel
        nout = str(r["_readout"]["noutputs"])
        for rt in ("mask", "gain", "readnoise", "superbias", "linearity", "saturation"):
            entries.append(CacheEntry(rt, r[rt], detector=det))
        dark_path = r["dark"].write(staging / f"jwst_nircam_dark_{det.lower()}.fits")
        if not r["_per_frame_dark"]:
            ro = r["_readout"]
            with fits.open(dark_path, mode="update") as h:
                h[0].header["NFRAMES"] = ro["nframes"]
                h[0].header["GROUPGAP"] = ro["groupgap"]
                h[0].header["NGROUPS"] = ro["ngroups"]
        entries.append(CacheEntry("dark", dark_path, detector=det, exp_type="NRC_IMAGE",
                                  noutputs=nout))
        entries.append(CacheEntry("distortion", r["distortion"], detector=det,
                                  exp_type="NRC_IMAGE", channel=ch))
        entries.append(CacheEntry("photom", r["photom"], detector=det))
        for f, flat in r["flat"].items():
            entries.append(CacheEntry("flat", flat, detector=det, filter=f, pupil="CLEAR"))
            entries.append(CacheEntry("area", r["area"][f], detector=det, filter=f,
                                      pupil="CLEAR"))
    cache = write_crds_cache(root, entries, context_name="jwst_0001.pmap")
    shutil.rmtree(staging, ignore_errors=True)
    return cache


def exposure_name(di, det):
    return f"jw{PROGRAM_ID}001001_02201_{di + 1:05d}_{det.lower()}"


PROGRAM_ID = "01345"


def simulate_exposure(p, det, filt, di, sim, scene, *, header_pointing, true_pointing, out,
                      seed, writer=None):
    """Render, simulate and write one uncal file plus its truth rate image.

    ``writer``: a ``concurrent.futures`` executor that writes the files while the caller
    goes on (the returned dict then holds its future under ``'written'``); None writes
    them before returning.
    """
    from astropy.io import fits

    from webbcal.datamodels import ExposureInfo, RampModel, atomic_write
    from webbcal.datamodels.tables import make_group_table, make_int_times_table
    from webbcal.instrument import DETECTORS, DetectorGeometry, filter_info
    from webbcal.simulate.psf import psf_model

    info = DETECTORS[det]
    ro = readout_of(p, det)
    fi = filter_info(filt, detector=det)
    geom = DetectorGeometry(det, true_pointing, substrt=ro["substrt"], shape=ro["shape"])
    psf = psf_model(filt, round(info.pixel_scale_arcsec, 5), round(fi.pivot_um, 3))
    rate, x, y = render_rate(scene, filt, geom, psf, photmjsr=fi.photmjsr,
                             pixar_sr=fi.pixar_sr, qe=sim.qe[filt], area=sim.area)
    ramp = simulate_ramp(rate, ngroups=ro["ngroups"], nframes=ro["nframes"],
                         groupgap=ro["groupgap"], tframe=ro["tframe"],
                         readnoise_dn=sim.readnoise, gain=sim.gain,
                         dark_dn_s=sim.dark_e_s / sim.gain, superbias_dn=sim.superbias,
                         linearity_coeffs=sim.linearity, saturation_dn=sim.saturation,
                         amp_offset_dn=30.0, even_odd_dn=3.0, bias_drift_dn=1.0,
                         one_over_f_dn=1.0, one_over_f_amp_dn=0.3, cr_rate=p.cr_rate,
                         snowball_rate=p.snowball_rate, substrt=ro["substrt"],
                         noutputs=ro["noutputs"], rng=[seed, di, info.sca_id],
                         deposit_cosmic_rays=p.deposit_cosmic_rays)
    base = exposure_name(di, det)
    tgroup = (ro["nframes"] + ro["groupgap"]) * ro["tframe"]
    nfr = ro["ngroups"] * (ro["nframes"] + ro["groupgap"]) - ro["groupgap"]
    start = 59934.5 + di * (nfr + 2) * ro["tframe"] / 86400.0
    ex = ExposureInfo(
        instrument="NIRCAM", detector=det, module=info.module, channel=info.channel,
        filter=filt, pupil="CLEAR", exp_type="NRC_IMAGE", readpatt=p.readpatt,
        nframes=ro["nframes"], groupgap=ro["groupgap"], ngroups=ro["ngroups"], nints=1,
        tframe=ro["tframe"], tgroup=tgroup, subarray=ro["subarray"],
        substrt1=ro["substrt"][0], substrt2=ro["substrt"][1], subsize1=ro["shape"][1],
        subsize2=ro["shape"][0], noutputs=ro["noutputs"], date_obs="2022-12-21",
        time_obs="12:00:00.000", expstart=start, pointing=header_pointing,
        apername=f"{info.siaf_name}_FULL")
    primary, sci = ex.to_headers()
    primary["PROGRAM"] = PROGRAM_ID
    primary["OBSERVTN"] = "001"
    primary["VISIT"] = "001"
    primary["VISITGRP"] = "02"
    primary["SEQ_ID"] = "2"
    primary["ACT_ID"] = "01"
    primary["EXPOSURE"] = f"{di + 1:05d}"
    primary["FILENAME"] = f"{base}_uncal.fits"
    primary["SCA_NUM"] = info.sca_id
    primary["PATTTYPE"] = "NONE"
    primary["NUMDTHPT"] = len(p.dither_arcsec)
    primary["PATT_NUM"] = di + 1
    primary["TARGNAME"] = "SIMULATED-EGS"
    primary["ORIGIN"] = "webbcal.simulate"
    sci["BUNIT"] = "DN"
    model = RampModel(data=ramp.data, group=make_group_table(ex),
                      int_times=make_int_times_table(ex), header=primary, sci_header=sci)
    uncal = out / f"{base}_uncal.fits"
    truth = out / "truth"

    def write():
        model.write(uncal)
        hdus = fits.HDUList([fits.PrimaryHDU(),
                             fits.ImageHDU((rate * sim.gain).astype(np.float32), name="RATE_E"),
                             fits.ImageHDU(rate, name="RATE_DN")])
        hdus[0].header["EXPNAME"] = base
        hdus[0].header["COMMENT"] = ("Noiseless true rate (QE/flat applied, no dark): RATE_E "
                                     "e-/s, RATE_DN linear DN/s")
        with atomic_write(truth / f"{base}_truth_rate.fits") as tmp:
            hdus.writeto(tmp)

    res = {"name": base, "uncal": uncal, "cal": out / f"{base}_cal.fits", "detector": det,
           "filter": filt, "dither": di, "x": x, "y": y, "ramp_truth": ramp.truth,
           "truth_rate": truth / f"{base}_truth_rate.fits"}
    if writer is None:
        write()
    else:
        res["written"] = writer.submit(write)
    return res


def write_associations(out, p, exposures, filters):
    """One image3 association per filter (members: the future ``*_cal.fits``)."""
    from webbcal.datamodels import Association

    paths = []
    for f in filters:
        cals = [e["cal"] for e in exposures if e["filter"] == f]
        product = f"jw{PROGRAM_ID}-o001_t001_nircam_clear-{f.lower()}"
        asn = Association.from_members(product, cals, asn_id="o001", program=PROGRAM_ID,
                                       relative_to=out)
        path = out / f"jw{PROGRAM_ID}-o001_image3_{f.lower()}_asn.json"
        asn.write(path)
        paths.append(path)
    return paths


def write_truth_tables(out, truth, p, scene, exposures, errs, rng, sims):
    """Source catalog, positions, events, bad pixels, pointing errors, Gaia-like catalog."""
    from astropy.table import Table

    src = scene.sources
    cat = Table({k: src[k] for k in src.dtype.names})
    for f, v in scene.flux.items():
        cat[f"flux_{f.lower()}"] = v
        cat[f"flux_{f.lower()}"].unit = "uJy"
    cat.meta["sky_MJy_sr"] = dict(scene.sky)
    cat.write(truth / "sources.ecsv", overwrite=True)

    rows = {"id": [], "exposure": [], "x": [], "y": []}
    for e in exposures:
        rows["id"].append(src["id"])
        rows["exposure"].append(np.full(len(src), e["name"]))
        rows["x"].append(e["x"])
        rows["y"].append(e["y"])
    Table({k: np.concatenate(v) for k, v in rows.items()}).write(truth / "positions.fits",
                                                                 overwrite=True)
    for e in exposures:
        rt = e["ramp_truth"]
        crs = Table(rt.cosmic_rays)
        if not p.deposit_cosmic_rays:  # the CR-free twin: hits drawn, not deposited
            crs.meta["DEPOSIT"] = False
        crs.write(truth / f"{e['name']}_cosmic_rays.fits", overwrite=True)
        Table(rt.snowballs).write(truth / f"{e['name']}_snowballs.ecsv", overwrite=True)
    for det, sim in sims.items():
        yy, xx = np.nonzero((sim.mask != 0) & ((sim.mask & np.uint32(2**31)) == 0))
        Table({"x": xx, "y": yy, "dq": sim.mask[yy, xx]}).write(
            truth / f"{det.lower()}_bad_pixels.fits", overwrite=True)
    Table({"dither": np.arange(len(errs)) + 1, "dra_arcsec": errs[:, 0],
           "ddec_arcsec": errs[:, 1]}).write(truth / "pointing_errors.ecsv", overwrite=True)

    # Gaia-like absolute catalog: stars, errors growing for faint ones
    stars = src[src["kind"] == "star"]
    f0 = scene.flux[sorted(scene.flux)[0]][src["kind"] == "star"]
    err_mas = np.clip(0.3 * (f0 / 300.0) ** -0.5, 0.2, 5.0)
    cosd = np.cos(np.deg2rad(stars["dec"]))
    gaia = Table({"source_id": stars["id"],
                  "ra": stars["ra"] + rng.normal(0, err_mas) / 3.6e6 / cosd,
                  "dec": stars["dec"] + rng.normal(0, err_mas) / 3.6e6,
                  "ra_error": err_mas, "dec_error": err_mas,
                  "phot_g_mean_mag": 23.9 - 2.5 * np.log10(f0)})
    gaia["ra_error"].unit = gaia["dec_error"].unit = "mas"
    path = out / "reference_catalog.ecsv"
    gaia.write(path, overwrite=True)
    return path
