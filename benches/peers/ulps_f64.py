"""The f64 half of `ulps` (benches/src/bin/ulps.rs): reads the (x, y) pairs
that `ulps f64 DIR` wrote and compares each y with the correctly rounded
value of the function at x, computed by mpmath at 40 digits.

Usage: python ulps_f64.py DIR   (needs mpmath)
"""
import os
import struct
import sys

import mpmath as mp

mp.mp.dps = 40

FUNCTIONS = {
    "exp": mp.exp,
    "ln": lambda x: mp.log(x) if x > 0 else (-mp.inf if x == 0 else mp.nan),
    "log1p": lambda x: mp.log1p(x) if x > -1 else (-mp.inf if x == -1 else mp.nan),
    "expm1": mp.expm1,
    "tanh": mp.tanh,
    "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
    "erf": mp.erf,
    "softplus": lambda x: mp.log1p(mp.exp(x)),
}


def key(v):
    i = struct.unpack("<q", struct.pack("<d", v))[0]
    return -(2**63) - i if i < 0 else i


def main():
    directory = sys.argv[1]
    print("| function | f64 values | largest error (ulp) | at | not correctly rounded |")
    print("|---|---|---|---|---|")
    for name, f in FUNCTIONS.items():
        path = os.path.join(directory, name + ".bin")
        data = open(path, "rb").read()
        worst, at, wrong, n = 0, 0.0, 0, len(data) // 16
        for i in range(n):
            x, y = struct.unpack_from("<dd", data, 16 * i)
            want = float(f(mp.mpf(x)))
            if want == y or (want != want and y != y):
                continue
            d = abs(key(y) - key(want))
            wrong += 1
            if d > worst:
                worst, at = d, x
        print(f"| {name} | {n} | {worst} | {at:.17g} | {100 * wrong / n:.3f}% |")


if __name__ == "__main__":
    main()
