"""Say at once when the fast kernels are being compiled, instead of pausing silently.

Numba compiles a kernel the first time it runs on a machine (about 10 s of CPU for a training
run) and caches the result beside the package, so later runs load it in a fraction of a second.
Numba announces each real compilation (not a load from its cache) as a ``numba:compile`` event;
the listener here prints one line on stderr at the first of them.
"""

from __future__ import annotations

import sys
from typing import IO

NOTICE = "linclass: compiling the fast kernels (once per installation; cached afterwards)"


def announce_compilation(stream: IO[str] | None = None) -> bool:
    """Print :data:`NOTICE` once when Numba starts compiling; False when the kernels are not Numba's."""
    from linclass.kernels import NumbaKernels, default_kernels

    if not isinstance(default_kernels(), NumbaKernels):
        return False
    from numba.core import event

    class FirstCompile(event.Listener):
        announced = False

        def on_start(self, compile_event) -> None:
            if not self.announced:
                self.announced = True
                print(NOTICE, file=sys.stderr if stream is None else stream, flush=True)

        def on_end(self, compile_event) -> None:
            pass

    event.register("numba:compile", FirstCompile())
    return True
