"""Screenshots of the playground's main views for the README: python scripts/playground_screenshots.py.

Serves the page with linclass's own server, drives Debian's Chromium with Playwright and writes
PNGs into docs/images/.
"""

from __future__ import annotations

import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from linclass.app.playground import make_server

WIDTH = 1440
OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def main() -> None:
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 1300})
        page.goto(url)
        page.wait_for_selector("html[data-ready='1']")
        page.evaluate("window.playground.set({seed: 4, noise: 0.7, count: 18, testFraction: 0.2})")
        page.evaluate("window.playground.step(12)")
        page.evaluate("window.playground.set({selected: 3, showGradient: true})")
        bottom = page.locator("#plot-column").bounding_box()
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": bottom["y"] + bottom["height"] + 10}
        page.screenshot(path=OUT / "playground.png", clip=clip)
        page.locator("#explain").screenshot(path=OUT / "playground-explain.png")
        page.locator("#race-section").screenshot(path=OUT / "playground-race.png")
        page.locator("#penalty-section").screenshot(path=OUT / "playground-penalties.png")
        page.locator("#landscape-section").screenshot(path=OUT / "playground-landscape.png")
        # a point exactly on a hinge corner: the check marks b[1] red and names the points
        page.evaluate(
            "window.playground.set({loss: 'svm', reg: 0, testPoints: [], W: [[0, 0], [0, 0], [0, 0]],"
            " b: [0, -1, 0], points: [[0.5, 1, 0], [-1, 0.25, 0], [1.5, -0.5, 1]]})"
        )
        page.locator("#gradcheck-section").screenshot(path=OUT / "playground-gradcheck.png")
        browser.close()
    server.shutdown()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
