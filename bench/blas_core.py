#!/usr/bin/python3
"""The OpenBLAS core (kernel set) this process runs on: OpenBLAS chooses it
when it loads, from OPENBLAS_CORETYPE or its own look at the CPU, so a peer
that imported NumPy or PyTorch can say which one it got. Run as a script it
imports NumPy and prints the core NumPy gets under the current environment.
"""
import ctypes
import re


def corename():
    """The core of the libopenblas mapped into this process, or 'unknown'
    when none is (another BLAS) or it cannot be asked."""
    with open("/proc/self/maps") as maps:
        libs = sorted(set(re.findall(r"(/\S*libopenblas\S*\.so\S*)", maps.read())))
    if not libs:
        return "unknown"
    try:
        f = ctypes.CDLL(libs[0]).openblas_get_corename
    except (OSError, AttributeError):
        return "unknown"
    f.restype = ctypes.c_char_p
    return f().decode()


if __name__ == "__main__":
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS)

    print(corename())
