"""Scores rounded to significant digits, as numpy rounds them, in one compiled pass.

A value x is rounded as ``round(x * s) / s`` with ``s = 10 ** (digits - 1 - floor(log10|x|))``
(the power taken from a table that numpy's power computed). CSCV rounds 10^8 scores for 10,000
trials, and numpy's logarithm was most of that time, so the decimal exponent is found without
one: the binary exponent of |x| (its exponent bits, exact) brackets it to two whole numbers and one
comparison with the power of ten between them decides. That is floor(log10|x|) exactly unless
|x| lies within a relative 1e-9 of a power of ten (numpy's logarithm is within a few units in
the last place of the exact one, far closer than that) or is tiny (below 1e-290, where the
powers of ten lose digits as subnormal numbers): those few values take numpy's own logarithm,
so every result is the one numpy's steps give. Multiplication, rounding half to even and
division are the same IEEE operations compiled as in numpy.
"""
import functools
import math

import numpy as np

from canary.extras import require

numba = require("numba", "canary tune")

LOWEST_EXPONENT, HIGHEST_EXPONENT = -324, 308   # floor(log10(|x|)) of a finite nonzero double
BAND = 1e-9      # relative distance to a power of ten below which numpy's logarithm decides
TINY = 1e-290    # below it, too
# frexp(|x|) = (m, e), |x| = m * 2**e, 0.5 <= m < 1: floor(log10(|x|)) is floor((e - 1) * log10(2))
# or one more (2**(e - 1) is never within 5e-4 of a power of ten in a double's range, except 1)
_BINARY = np.arange(-1074, 1025)
_BELOW = np.array([math.floor((e - 1) * math.log10(2.0)) for e in _BINARY], dtype=np.int64)
with np.errstate(over="ignore"):
    _POWERS = 10.0 ** np.arange(LOWEST_EXPONENT, HIGHEST_EXPONENT + 2, dtype=float)   # 1e309: inf


@functools.cache
def _scales(digits):
    """10.0 ** (digits - 1 - e) for each decimal exponent e from LOWEST_EXPONENT up, computed by
    numpy's power as it computes each value alone."""
    with np.errstate(over="ignore"):   # inf for values below 1e-297, as their own power gives
        return 10.0 ** (digits - 1 - np.arange(LOWEST_EXPONENT, HIGHEST_EXPONENT + 1, dtype=float))


@numba.njit(cache=True, nogil=True)
def _round_known(values, scales, below, powers, out):
    """Round each value of `values` (1-d) into `out` whose decimal exponent its binary one and a
    comparison settle; returns the positions left to numpy's logarithm (infinities, NaN and
    zeros are copied as they are)."""
    bits = values.view(np.int64)
    unsure = np.empty(len(values), dtype=np.int64)
    left = 0
    for i in range(len(values)):
        x = values[i]
        a = abs(x)
        if not a < np.inf or a == 0.0:   # NaN, infinities, zeros
            out[i] = x
            continue
        if a < TINY:
            unsure[left] = i
            left += 1
            continue
        k = below[((bits[i] >> 52) & 0x7FF) - 1022 + 1074]   # frexp's exponent of a normal double
        if a >= powers[k + 1 - LOWEST_EXPONENT]:
            k += 1
        if a < powers[k - LOWEST_EXPONENT] * (1.0 + BAND) or a >= powers[k + 1 - LOWEST_EXPONENT] * (1.0 - BAND):
            unsure[left] = i
            left += 1
            continue
        s = scales[k - LOWEST_EXPONENT]
        out[i] = np.rint(x * s) / s
    return unsure[:left]


def significant(values, digits):
    """`values` rounded to `digits` significant digits (infinities and NaN as they are), each as
    ``np.round(x * s) / s`` with ``s = 10 ** (digits - 1 - floor(log10|x|))`` gives it."""
    values = np.asarray(values, dtype=float)
    flat = np.ascontiguousarray(values).reshape(-1)
    out = np.empty_like(flat)
    scales = _scales(digits)
    unsure = _round_known(flat, scales, _BELOW, _POWERS, out)
    if len(unsure):
        x = flat[unsure]
        scale = scales[(np.floor(np.log10(np.abs(x))) - LOWEST_EXPONENT).astype(np.intp)]
        out[unsure] = np.round(x * scale) / scale
    return out.reshape(values.shape)
