"""Fixtures shared by the test files.

Session-scoped ones exist once however many files use them: one Chromium and one local server for the
playground's browser tests. ``exact_matmul`` gives the torch tests float32 products at full precision
(no TF32), as their 1e-5 equality with NumPy needs.
"""

from __future__ import annotations

import signal
import threading
import warnings

import pytest

# A suite started in the background (``nohup``, ``&`` in a script) gets SIGINT ignored, and its
# child processes inherit that: the tests that interrupt training or stop the playground with
# SIGINT need Python's own handler, as an interactive run has it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def exact_matmul():
    """``torch.set_float32_matmul_precision("highest")`` for the test, restored afterwards."""
    import torch

    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(previous)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playground_url():
    """The playground served by linclass's own server on a free loopback port."""
    from linclass.app.playground import make_server

    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PlaygroundPage:
    """One fresh tab on the playground that records console errors and every request."""

    def __init__(self, browser, url: str):
        self.base_url = url
        self.context = browser.new_context(viewport={"width": 1500, "height": 1300}, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, hash_: str = "") -> PlaygroundPage:
        self.page.goto(self.base_url + hash_)
        self.page.wait_for_selector("html[data-ready='1']")
        return self

    def state(self) -> dict:
        return self.page.evaluate("window.playground.state()")

    def set(self, **fields) -> dict:
        return self.page.evaluate("(fields) => window.playground.set(fields)", fields)

    def call(self, name: str, *args):
        return self.page.evaluate(f"(args) => window.playground.{name}(...args)", list(args))


@pytest.fixture
def playground(browser, playground_url):
    """An opened playground tab; the test fails if the page logged a console error."""
    tab = PlaygroundPage(browser, playground_url)
    yield tab
    tab.context.close()
    if tab.errors:
        pytest.fail(f"the page logged console errors: {tab.errors}")


# Per-worker memory limit of the Dask test clusters: well above a worker's own footprint (~240 MB
# with the Numba kernels loaded; a worker the nanny restarts loads them again, and at 400 MiB such
# workers were seen crossing the terminate threshold in a fresh environment), below the out-of-core
# test's data (4 x this limit).
CLUSTER_MEMORY_LIMIT = 512 * 2**20


def _local_dask_client(set_as_default: bool):
    """A client on ``LocalCluster(n_workers=2, threads_per_worker=1)`` on 127.0.0.1; closed after use.

    Only the nanny's terminate threshold applies: nothing is spilled or paused, so a worker that
    held more than its share of the data would be killed and restarted, which the out-of-core
    test checks does not happen.
    """
    import dask
    from distributed import Client, LocalCluster

    memory = {"target": False, "spill": False, "pause": False, "terminate": 0.95}
    with dask.config.set({f"distributed.worker.memory.{key}": value for key, value in memory.items()}), \
            warnings.catch_warnings():
        # without a dashboard the scheduler still serves HTTP (health checks), on 8787 or, when
        # another cluster holds it, on a free port, which it warns about
        warnings.filterwarnings("ignore", message="Port 8787 is already in use")
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=CLUSTER_MEMORY_LIMIT,
        )
        client = Client(cluster, set_as_default=set_as_default)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def dask_client():
    """The cluster tests' shared client, the default one (one local cluster per session, started on first use)."""
    yield from _local_dask_client(set_as_default=True)


@pytest.fixture(scope="module")
def own_dask_client():
    """A fresh cluster for one test module, beside the shared one (not the default client: tests
    name it, ``DaskKernels(own_dask_client)``). For the tests that kill workers, so that the shared
    cluster never loses one, and for the out-of-core test, whose workers must start without
    anything earlier tests left in their memory (pandas and pyarrow alone take ~100 MB)."""
    yield from _local_dask_client(set_as_default=False)
