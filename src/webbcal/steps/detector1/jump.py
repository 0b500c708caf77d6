"""jump step: two-point-difference cosmic-ray detection and snowball flagging.

Parameter names and defaults are the official ``JumpStep``'s, except
``expand_large_events``, on by default as in NIRCam operations (the official
NIRCam parameter reference turns it on). ``maximum_cores`` and ``use_ellipses`` are
accepted so existing configurations carry over; webbcal's kernels use numba threads
and the official code no longer distinguishes ellipses from circles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webbcal.steps.base import StepParams, param
from webbcal.steps.detector1.dq_init import (
    SkippableStep, check_reference, require_ramp)

__all__ = ["JumpParams", "JumpStep"]


@dataclass(frozen=True)
class JumpParams(StepParams):
    """jump parameters (official names and defaults)."""

    rejection_threshold: float = param(4.0, "sigma threshold for a jump (>= 4 differences)")
    three_group_rejection_threshold: float = param(
        6.0, "sigma threshold for ramps with 3 usable groups")
    four_group_rejection_threshold: float = param(
        5.0, "sigma threshold for ramps with 4 usable groups")
    maximum_cores: str = param("none", "accepted for compatibility; numba threads are used")
    flag_4_neighbors: bool = param(True, "flag the 4 neighbours of jumps (IPC)")
    max_jump_to_flag_neighbors: float = param(
        1000.0, "jumps above this many sigma do not flag neighbours")
    min_jump_to_flag_neighbors: float = param(
        10.0, "jumps below this many sigma do not flag neighbours")
    after_jump_flag_dn1: float = param(0.0, "jumps above this DN flag groups after them (1)")
    after_jump_flag_time1: float = param(0.0, "seconds of groups flagged after such jumps (1)")
    after_jump_flag_dn2: float = param(0.0, "jumps above this DN flag groups after them (2)")
    after_jump_flag_time2: float = param(0.0, "seconds of groups flagged after such jumps (2)")
    expand_large_events: bool = param(True, "flag snowballs (NIRCam operational setting)")
    min_sat_area: float = param(1.0, "minimum area of a snowball's saturated core (pixels)")
    min_jump_area: float = param(5.0, "minimum area of a jump cluster for a snowball (pixels)")
    expand_factor: float = param(2.0, "enlargement of the snowball ellipse")
    use_ellipses: bool = param(False, "deprecated officially; accepted and ignored")
    sat_required_snowball: bool = param(True, "require a saturated core for snowballs")
    min_sat_radius_extend: float = param(
        2.5, "saturated cores with a larger minor axis are grown")
    sat_expand: int = param(2, "pixels added to the radius of grown saturated cores")
    edge_size: int = param(25, "no saturated core required this close to the edge (pixels)")
    max_extended_radius: int = param(200, "largest semi-axis of a flagged ellipse (pixels)")
    mask_snowball_core_next_int: bool = param(
        True, "flag snowball cores at the start of the next integration")
    snowball_time_masked_next_int: float = param(
        4000.0, "seconds of the next integration masked at snowball cores")
    minimum_groups: int = param(3, "ramps with fewer groups are not searched")
    min_diffs_single_pass: int = param(
        10, "with this many usable differences, a single pass without iteration")


class JumpStep(SkippableStep):
    """Flag JUMP_DET in the group DQ (see :mod:`webbcal.algorithms.detector1.jump`)."""

    name = "jump"
    status_keyword = "S_JUMP"
    Params = JumpParams
    reference_types = ("gain", "readnoise")

    def process(self, model, refs):
        from webbcal.algorithms.detector1.jump import detect_jumps

        require_ramp(model, self.name)
        p = self.params
        exp = model.exposure
        if model.data.shape[1] < max(p.minimum_groups, 3):
            self.skip_reason = (f"{model.data.shape[1]} groups per integration, "
                                f"fewer than {max(p.minimum_groups, 3)}")
            return model
        gain, readnoise = refs["gain"], refs["readnoise"]
        check_reference(model, gain, "gain", gain.data)
        check_reference(model, readnoise, "readnoise", readnoise.data)
        tgroup = float(exp.tgroup)

        def n_groups(seconds: float) -> int:
            return int(seconds // tgroup) if seconds > 0 and tgroup > 0 else 0

        res = detect_jumps(
            model.data, model.groupdq, model.pixeldq, gain.data, readnoise.data,
            nframes=int(exp.nframes),
            rejection_threshold=p.rejection_threshold,
            three_group_rejection_threshold=p.three_group_rejection_threshold,
            four_group_rejection_threshold=p.four_group_rejection_threshold,
            flag_4_neighbors=p.flag_4_neighbors,
            max_jump_to_flag_neighbors=p.max_jump_to_flag_neighbors,
            min_jump_to_flag_neighbors=p.min_jump_to_flag_neighbors,
            after_jump_flag_dn1=p.after_jump_flag_dn1,
            after_jump_flag_n1=n_groups(p.after_jump_flag_time1),
            after_jump_flag_dn2=p.after_jump_flag_dn2,
            after_jump_flag_n2=n_groups(p.after_jump_flag_time2),
            min_diffs_single_pass=p.min_diffs_single_pass,
            minimum_groups=p.minimum_groups,
            expand_large_events=p.expand_large_events,
            min_sat_area=p.min_sat_area, min_jump_area=p.min_jump_area,
            expand_factor=p.expand_factor, sat_required_snowball=p.sat_required_snowball,
            min_sat_radius_extend=p.min_sat_radius_extend, sat_expand=p.sat_expand,
            edge_size=p.edge_size, max_extended_radius=p.max_extended_radius,
            n_groups_masked_next_int=(n_groups(p.snowball_time_masked_next_int)
                                      if p.mask_snowball_core_next_int else 0),
            inplace=model.groupdq.dtype == np.uint8 and model.groupdq.flags.c_contiguous,
        )
        model.groupdq = res.groupdq
        model.pixeldq = res.pixeldq
        model.header.add_history(
            f"webbcal jump: {res.n_primary} primary jumps, {res.n_snowballs} snowballs")
        return model
