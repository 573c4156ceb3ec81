"""Debian's chromium, as Playwright must launch it here (it never downloads a browser of its own)."""

import pathlib

CHROMIUM = pathlib.Path("/usr/bin/chromium")

# Headless, and quiet on the network: without the background-networking flags chromium keeps
# trying hosts this machine cannot reach.
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


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
