"""ECCN 3A090 classification derived from a chip's TPP and die area (pure).

The thresholds are those of 15 CFR 774 Supp. 1, ECCN 3A090 (set by BIS, 88 FR 73458, 25 Oct 2023):

  3A090.a  TPP >= 4800; or TPP >= 1600 and performance density (PD) >= 5.92
  3A090.b  TPP >= 2400 and < 4800 and PD >= 1.6 and < 5.92; or TPP >= 1600 and PD >= 3.2 and < 5.92

PD = TPP / applicable die area (mm2). The class is typed nowhere: it follows from the figures, so a
corrected figure corrects the class. Where the die area is unpublished, the class is derived over every
die area up to a physical bound; where that still leaves "not controlled" possible, or the TPP itself is
unconfirmed, the answer is "unconfirmed", never "no".
"""

from __future__ import annotations

A = "3A090.a"
B = "3A090.b"
A_OR_B = "3A090.a or 3A090.b"  # controlled either way; which paragraph depends on the unknown area
NOT_3A090 = "not 3A090"
UNCONFIRMED = "unconfirmed"
CONTROLLED = frozenset({A, B, A_OR_B})

TPP_A = 4800.0
TPP_A_DENSE = 1600.0
PD_A = 5.92
TPP_B1 = 2400.0
PD_B1 = 1.6
PD_B2 = 3.2


def classify(tpp: float, die_area_mm2: float) -> str:
    """The 3A090 paragraph of a chip with known TPP and applicable die area."""
    pd = tpp / die_area_mm2
    if tpp >= TPP_A or (tpp >= TPP_A_DENSE and pd >= PD_A):
        return A
    if (TPP_B1 <= tpp < TPP_A and PD_B1 <= pd < PD_A) or (
        tpp >= TPP_A_DENSE and PD_B2 <= pd < PD_A
    ):
        return B
    return NOT_3A090


def classify_bounded(tpp: float | None, die_area_mm2: float | None, max_area_mm2: float) -> str:
    """The class as far as the known figures decide it.

    Unknown TPP: unconfirmed. Known TPP and area: exact. Known TPP, unknown area: PD falls as the area
    grows, so the class over areas (0, max_area] runs from the smallest area (highest PD) to the
    largest; the answer is that class if both ends agree, "a or b" if both ends are controlled, and
    unconfirmed if the largest area could leave the chip uncontrolled.
    """
    if tpp is None:
        return UNCONFIRMED
    if die_area_mm2 is not None:
        return classify(tpp, die_area_mm2)
    if tpp < TPP_A_DENSE:
        return NOT_3A090  # no area can bring it in: every paragraph needs TPP >= 1600
    smallest = classify(tpp, 1e-9)
    largest = classify(tpp, max_area_mm2)
    if smallest == largest:
        return smallest
    if largest in CONTROLLED:
        return A_OR_B
    return UNCONFIRMED


def performance_density(tpp: float | None, die_area_mm2: float | None) -> float | None:
    if tpp is None or die_area_mm2 is None or die_area_mm2 <= 0:
        return None
    return tpp / die_area_mm2
