"""The polynomials of gradus-tensor's f32 erf kernel (crates/tensor/src/vmath/single.rs):
least-squares fits, weighted for relative error, on Chebyshev nodes, against
mpmath's erf and erfc at 40 digits.

    erf(x)/x            = P(x²),   x² in [0, 1],   degree 6
    erfc(x)·exp(x²)     = R(1/x),  1/x in [1/4, 1], degree 8

Run with a Python that has numpy and mpmath: python3 scripts/fit_erf.py
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 40


def chebyshev_nodes(a, b, n):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)


def fit(f, a, b, degree, nodes=400):
    xs = chebyshev_nodes(a, b, nodes)
    ys = np.array([float(f(mp.mpf(x))) for x in xs])
    basis = np.vander(xs, degree + 1, increasing=True)
    w = 1 / np.abs(ys)
    coefficients, *_ = np.linalg.lstsq(basis * w[:, None], ys * w, rcond=None)
    return coefficients


small = fit(lambda s: mp.erf(mp.sqrt(s)) / mp.sqrt(s) if s > 0 else 2 / mp.sqrt(mp.pi), 0, 1, 6)
large = fit(lambda t: mp.erfc(1 / t) * mp.exp(1 / t**2), 0.25, 1.0, 8)
print("P (lowest power first):", ", ".join(repr(float(np.float32(c))) for c in small))
print("R (lowest power first):", ", ".join(repr(float(np.float32(c))) for c in large))
