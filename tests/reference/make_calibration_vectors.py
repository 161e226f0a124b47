#!/usr/bin/env python3
"""Write tests/fixtures/calibration.json, the reference values for src/estimator/calibration.rs.

Run from the crate root (takes about two minutes):

    python3 tests/reference/make_calibration_vectors.py

Needs numpy, scipy, the reference package soft-entropy 0.1.5 and mpmath (`pip install mpmath`).
soft_entropy/__init__.py imports torch, so temp_calibration.py is loaded as a bare file; set
SOFT_ENTROPY_TEMP_CALIBRATION to its path if the package cannot be located.

The file holds three kinds of record:
  * "calibration": for every (m, d) on the grid, the reference find_eps (or its error message), the
    reference exact-mode eps (null where scipy raises or returns NaN: `ive` underflows beyond
    d ~ 900), and the leading-order eps 1/sqrt(2 d ln m) as numpy.py computes it;
  * "kl": the reference KL_lower_bound, KL_upper_bound and KL_exact (null where NaN) at a few eps,
    next to a 40-digit mpmath value of the exact KL that does not go through scipy at all;
  * "mp_exact_eps": the root of exact KL = ln m solved in mpmath, including the large d where the
    reference cannot answer, plus small d as a cross-check of scipy.
Floats are written with repr, so they round-trip exactly.
"""

import importlib.util
import json
import math
import os
import warnings

import mpmath as mp
import numpy as np
import scipy

M_GRID = [2, 4, 6, 8, 10, 16, 50, 100, 117, 256, 1000]
D_GRID = [2, 3, 4, 8, 16, 32, 64, 128, 256, 384, 576, 768, 1024, 2048, 4096, 5120]
KL_D_GRID = D_GRID + [8192, 16384]
KL_EPS_GRID = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 1.0]
MP_ROOTS = (
    [(d, m) for d in [1024, 2048, 4096, 5120, 8192, 16384] for m in [10, 100, 1000]]
    + [(d, m) for d in [2, 4, 8, 16, 64, 256] for m in [2, 10, 100, 1000]]
    + [(3, m) for m in M_GRID]
)
MP_DPS = 40

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "calibration.json")


def load_reference():
    path = os.environ.get("SOFT_ENTROPY_TEMP_CALIBRATION")
    if path is None:
        # find_spec on a top-level package locates it without running its __init__ (torch).
        spec = importlib.util.find_spec("soft_entropy")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("soft_entropy not found; pip install soft-entropy==0.1.5")
        path = os.path.join(list(spec.submodule_search_locations)[0], "temp_calibration.py")
    spec = importlib.util.spec_from_file_location("temp_calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def num(x):
    """A finite float, or None (JSON null) for NaN/inf."""
    x = float(x)
    return x if math.isfinite(x) else None


# ---- mpmath exact KL, independent of scipy -------------------------------------------------------
# KL = kappa*A - ln F with F = 0F1(; nu+1; kappa^2/4) = Gamma(nu+1) (2/kappa)^nu I_nu(kappa) (the vMF
# normaliser relative to the uniform probability measure) and A = I_{nu+1}/I_nu = kappa F'/((nu+1) 2 F).


def kl_mp_series(eps, d):
    eps = mp.mpf(eps)
    nu = mp.mpf(d) / 2 - 1
    k = 1 / eps
    z = k * k / 4
    f0 = mp.hyp0f1(nu + 1, z, maxterms=10**7)
    f1 = mp.hyp0f1(nu + 2, z, maxterms=10**7)
    return k * k / (2 * (nu + 1)) * f1 / f0 - mp.log(f0)


def kl_mp_quad(eps, d):
    """Same KL from the integral I_nu(k) ~ int_{-1}^{1} (1-t^2)^(nu-1/2) e^(k t) dt, with s = 1 - t.

    The 0F1 series needs ~kappa terms and stalls at kappa = 1e6; quadrature split around the peak
    of the integrand does not. A = E[t] = 1 - E[s] under that weight."""
    eps = mp.mpf(eps)
    nu = mp.mpf(d) / 2 - 1
    k = 1 / eps
    a = nu - mp.mpf(1) / 2

    def log_w(s):
        return a * mp.log(s * (2 - s)) - k * s

    if a > 0:
        s_peak = (2 * (k + a) - mp.sqrt(4 * (k + a) ** 2 - 8 * k * a)) / (2 * k)
    else:
        s_peak = min(1 / k, mp.mpf(1))
    pts = [mp.mpf(0)]
    for f in [mp.mpf(1) / 64, mp.mpf(1) / 16, mp.mpf(1) / 4, mp.mpf(1) / 2, 1, 2, 4, 8, 16, 32, 64, 128]:
        x = s_peak * f
        if pts[-1] < x < 2:
            pts.append(x)
    pts.append(mp.mpf(2))
    l0 = log_w(s_peak)
    i0 = mp.quad(lambda s: mp.exp(log_w(s) - l0), pts)
    i1 = mp.quad(lambda s: s * mp.exp(log_w(s) - l0), pts)
    log_c = mp.loggamma(nu + 1) - mp.log(mp.pi) / 2 - mp.loggamma(nu + mp.mpf(1) / 2)
    ln_f = log_c + k + l0 + mp.log(i0)
    return k * (1 - i1 / i0) - ln_f


def kl_mp(eps, d):
    if 1 / eps <= 1e4:
        return kl_mp_series(eps, d)
    return kl_mp_quad(eps, d)


def mp_root(d, m):
    """Root of exact KL(eps) = ln m; KL decreases in eps. Bracket from the leading-order guess, then
    bisect in log eps far below double precision."""
    target = mp.log(m)
    f = lambda e: kl_mp(e, d) - target
    lo = hi = mp.mpf(1) / mp.sqrt(2 * d * math.log(m))
    while f(lo) < 0:
        lo /= 1.5
    while f(hi) > 0:
        hi *= 1.5
    for _ in range(110):
        mid = mp.sqrt(lo * hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return mp.sqrt(lo * hi)


def to_json(out):
    """JSON with one record per line: small, and diffs stay readable."""
    parts = []
    for key, value in out.items():
        if isinstance(value, list):
            rows = ",\n".join("  " + json.dumps(rec, allow_nan=False) for rec in value)
            parts.append(f" {json.dumps(key)}: [\n{rows}\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main():
    mp.mp.dps = MP_DPS
    ref = load_reference()
    warnings.simplefilter("ignore")  # ive underflow, 0*log(0) at d = 2: recorded as null

    # Two independent mpmath routes must agree before either is trusted.
    for d in [2, 3, 64, 1024, 16384]:
        for eps in [1e-4, 1e-2, 1.0]:
            a, b = kl_mp_series(eps, d), kl_mp_quad(eps, d)
            assert abs(a - b) <= mp.mpf(10) ** -20 * abs(a), (d, eps, a, b)

    calibration = []
    for m in M_GRID:
        for d in D_GRID:
            rec = {"m": m, "d": d}
            try:
                rec["find_eps"] = num(ref.find_eps(m, d))
                rec["find_eps_error"] = None
            except ValueError as e:
                rec["find_eps"] = None
                rec["find_eps_error"] = str(e)
            try:
                rec["exact"] = num(ref.sphere_temp_calibration(m, d, mode="exact"))
            except (ValueError, RuntimeError):
                rec["exact"] = None
            rec["leading_order"] = 1.0 / math.sqrt(2 * d * math.log(m))
            calibration.append(rec)

    kl = []
    for d in KL_D_GRID:
        for eps in KL_EPS_GRID:
            kl.append({
                "d": d,
                "eps": eps,
                "lower": num(ref.KL_lower_bound(eps, d)),
                "upper": num(ref.KL_upper_bound(eps, d)),
                "exact_scipy": num(ref.KL_exact(eps, d)),
                "exact_mp": float(kl_mp(eps, d)),
            })

    roots = [{"d": d, "m": m, "eps": float(mp_root(d, m))} for d, m in MP_ROOTS]

    out = {
        "about": "reference values for src/estimator/calibration.rs; regenerate with "
                 "tests/reference/make_calibration_vectors.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "mpmath": mp.__version__,
                     "reference": "soft-entropy 0.1.5 soft_entropy/temp_calibration.py"},
        "mp_dps": MP_DPS,
        "calibration": calibration,
        "kl": kl,
        "mp_exact_eps": roots,
    }
    with open(OUT, "w") as fh:
        fh.write(to_json(out))
    print(f"wrote {os.path.normpath(OUT)}: {len(calibration)} calibrations, {len(kl)} KL points, "
          f"{len(roots)} mpmath roots")


if __name__ == "__main__":
    main()
