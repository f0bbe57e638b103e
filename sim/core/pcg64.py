"""numpy's PCG64 float32 uniforms, computed four generator steps at a time.

``uniforms(bit_generator, n)`` returns exactly ``Generator(bit_generator).random(n, dtype=float32)``
(``tests/test_pcg64.py`` checks it bit for bit), about three times as fast: the random streams draw
several million of these every simulated month. PCG64 is a 128-bit linear congruential generator
(state ← state × M + inc, mod 2¹²⁸) whose output is the XSL-RR permutation of each new state:
the two 64-bit halves XORed and rotated right by the state's top six bits. numpy makes two float32
uniforms from each output, the low 32-bit word first, each as (word >> 8) × 2⁻²⁴.

One step depends on the one before, so a single sequence waits on its multiplications. Four lanes
hold states k, k+1, k+2 and k+3 and each advances four steps at once (state ← state × M⁴ + c₄, with
c₄ = inc × (M³ + M² + M + 1)), so the processor works on four independent products at a time. The
outputs' 32-bit words are written first, into the result's own memory, and turned into floats in
a second pass: that pass is a plain element-wise loop the compiler makes into vector instructions
(one word at a time inside the first loop, the conversions took a quarter of the time). The
state and the generator's use are the bit generator's own (its documented ``state`` dictionary);
the bit generator itself is not advanced (a stream's generator is made for one draw only).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341  # PCG's default 128-bit multiplier
_MOD = 1 << 128
_LANES = 4
_WORD = (1 << 64) - 1
_MULTIPLIER_LANES = pow(_MULTIPLIER, _LANES, _MOD)           # M⁴: four steps at once
_INCREMENT_SUM = sum(pow(_MULTIPLIER, k, _MOD) for k in range(_LANES)) % _MOD  # 1 + M + M² + M³

_LOW32 = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)
_58 = np.uint64(58)
_64 = np.uint64(64)
_63 = np.uint64(63)
_8 = np.uint32(8)
_TWO_M24 = np.float32(1.0 / 16777216.0)


@njit(inline="always")
def _mul_add(s_hi, s_lo, m_hi, m_lo, c_hi, c_lo):  # pragma: no cover (compiled)
    """(s × m + c) mod 2¹²⁸ on 64-bit halves; the high half of s_lo × m_lo from 32-bit products."""
    a_lo, a_hi = s_lo & _LOW32, s_lo >> _32
    b_lo, b_hi = m_lo & _LOW32, m_lo >> _32
    p0, p1, p2, p3 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (p0 >> _32) + (p1 & _LOW32) + (p2 & _LOW32)
    hi = p3 + (p1 >> _32) + (p2 >> _32) + (mid >> _32) + s_lo * m_hi + s_hi * m_lo
    lo = s_lo * m_lo
    low = lo + c_lo
    return hi + c_hi + np.uint64(low < lo), low


@njit(inline="always")
def _output(s_hi, s_lo):  # pragma: no cover (compiled)
    """PCG's XSL-RR output of a state."""
    x = s_hi ^ s_lo
    rot = s_hi >> _58
    return (x >> rot) | (x << ((_64 - rot) & _63))


@njit(inline="always")
def _put(words, j, s_hi, s_lo):  # pragma: no cover (compiled)
    """The two 32-bit words of one output at ``j`` and ``j + 1``: low word first."""
    r = _output(s_hi, s_lo)
    words[j] = np.uint32(r & _LOW32)
    words[j + 1] = np.uint32(r >> _32)


@njit("void(uint64[::1], float32[::1])", cache=True, nogil=True)
def _fill(c, out):  # pragma: no cover (compiled)
    """``out`` filled from the generator whose state, multiplier, increment, four-step multiplier
    and four-step increment are ``c`` (each as high and low 64-bit halves)."""
    s_hi, s_lo, m_hi, m_lo, i_hi, i_lo, m4_hi, m4_lo, c4_hi, c4_lo = (c[0], c[1], c[2], c[3], c[4], c[5],
                                                                      c[6], c[7], c[8], c[9])
    n = out.size
    words = out.view(np.uint32)  # the outputs' words, then (below) each word's float in its place
    a_hi, a_lo = _mul_add(s_hi, s_lo, m_hi, m_lo, i_hi, i_lo)  # the states of outputs 0, 1, 2, 3
    b_hi, b_lo = _mul_add(a_hi, a_lo, m_hi, m_lo, i_hi, i_lo)
    c_hi, c_lo = _mul_add(b_hi, b_lo, m_hi, m_lo, i_hi, i_lo)
    d_hi, d_lo = _mul_add(c_hi, c_lo, m_hi, m_lo, i_hi, i_lo)
    quads = n // 8  # four outputs, eight uniforms
    for q in range(quads):
        j = 8 * q
        _put(words, j, a_hi, a_lo)
        _put(words, j + 2, b_hi, b_lo)
        _put(words, j + 4, c_hi, c_lo)
        _put(words, j + 6, d_hi, d_lo)
        a_hi, a_lo = _mul_add(a_hi, a_lo, m4_hi, m4_lo, c4_hi, c4_lo)
        b_hi, b_lo = _mul_add(b_hi, b_lo, m4_hi, m4_lo, c4_hi, c4_lo)
        c_hi, c_lo = _mul_add(c_hi, c_lo, m4_hi, m4_lo, c4_hi, c4_lo)
        d_hi, d_lo = _mul_add(d_hi, d_lo, m4_hi, m4_lo, c4_hi, c4_lo)
    s_hi, s_lo = a_hi, a_lo  # the state of output 4 × quads: the rest one step at a time
    j = 8 * quads
    while j + 1 < n:
        _put(words, j, s_hi, s_lo)
        s_hi, s_lo = _mul_add(s_hi, s_lo, m_hi, m_lo, i_hi, i_lo)
        j += 2
    if j < n:  # an odd count ends with the low word of one more output
        words[j] = np.uint32(_output(s_hi, s_lo) & _LOW32)
    for j in range(n):  # each word's float: its top 24 bits × 2⁻²⁴, in place
        out[j] = np.float32(np.int32(words[j] >> _8)) * _TWO_M24


def _halves(*values: int) -> list[int]:
    return [h for v in values for h in (v >> 64, v & _WORD)]


def uniforms(bit_generator: np.random.PCG64, n: int) -> np.ndarray:
    """``n`` float32 uniforms on [0, 1): those ``Generator(bit_generator).random(n, float32)``
    gives a fresh PCG64 (no buffered 32-bit word)."""
    return uniforms_from(*fresh_state(bit_generator), n)


def fresh_state(bit_generator: np.random.PCG64) -> tuple[int, int]:
    """The (state, increment) of a fresh PCG64 bit generator."""
    state = bit_generator.state
    if state["bit_generator"] != "PCG64" or state["has_uint32"]:
        raise ValueError("uniforms() takes a fresh PCG64 bit generator")
    return state["state"]["state"], state["state"]["inc"]


def uniforms_from(s: int, inc: int, n: int) -> np.ndarray:
    """``n`` float32 uniforms from the PCG64 whose state is ``s`` and increment ``inc``."""
    out = np.empty(n, dtype=np.float32)
    constants = _halves(s, _MULTIPLIER, inc, _MULTIPLIER_LANES, inc * _INCREMENT_SUM % _MOD)
    _fill(np.array(constants, dtype=np.uint64), out)
    return out
