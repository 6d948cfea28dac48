"""`make screenshots`: the README's pictures of the console, taken from the demo's data.

Starts the local stack on free ports, runs the demo's flow into it (local_stack/demo/flow.py: digits
v1 and v2, an alias moved and rolled back, a hostile upload, ResNet-18, a TensorFlow CNN), then
photographs the main pages in headless Chromium and writes small palette PNGs. Run it again after
a page changes.
"""
from __future__ import annotations

import argparse
import io
import json
import tempfile
import threading
from pathlib import Path

from local_stack.demo import browser
from local_stack.stack import REPO, Stack, StackConfig

WIDTH, MAX_HEIGHT = 1280, 1100
PAGES = [  # file, path, viewport width
    ("models", "/models", WIDTH),
    ("model", "/model?name=digits", WIDTH),
    ("model-tensorflow", "/model?name=cifar", WIDTH),
    ("rejected-upload", "/model?name=sneaky", WIDTH),
    ("compare", "/compare?name=digits&a=1&b=2", WIDTH),
    ("alias", "/alias?name=digits", WIDTH),
    ("endpoints", "/endpoints", WIDTH),
    ("alias-phone", "/alias?name=digits", 390),
]


def shoot(driver, url: str, width: int, out: Path) -> None:
    browser.set_viewport(driver, width, 800)
    driver.get(url)
    photograph(driver, width, out)


def photograph(driver, width: int, out: Path) -> None:
    """The page as it is now, as tall as its content (at most MAX_HEIGHT), as a palette PNG of a few dozen kB."""
    from PIL import Image

    height = min(MAX_HEIGHT, driver.execute_script("return document.documentElement.scrollHeight"))
    browser.set_viewport(driver, width, height)
    image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    image.quantize(colors=64).save(out, optimize=True)
    print(f"  {out} ({out.stat().st_size // 1024} KiB)")


def try_it(driver, console_url: str, out: Path) -> None:
    """The "Try it" page with an answer: two held-out digits through alias `digits`."""
    from selenium.webdriver.support.ui import WebDriverWait

    from local_stack.demo.sample_models import digits_split

    browser.set_viewport(driver, WIDTH, 800)
    driver.get(f"{console_url}/try?alias=digits")
    rows = digits_split().test_x[:2].tolist()
    driver.execute_script("document.getElementById('try-payload').value = arguments[0];",
                          json.dumps({"instances": rows}))
    driver.find_element("css selector", "form[action='/try'] button").click()
    WebDriverWait(driver, 120, poll_frequency=0.2).until(  # the answer is on the page (or why there is none)
        lambda d: d.find_elements("css selector", "#served, .problem"))
    problems = driver.find_elements("css selector", ".problem")
    if problems:
        raise RuntimeError(f"Try it answered with a problem: {problems[0].text}")
    photograph(driver, WIDTH, out)


def main(argv: list[str] | None = None) -> int:
    from local_stack.demo import flow

    parser = argparse.ArgumentParser(prog="python -m local_stack.demo.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console")
    args = parser.parse_args(argv)
    if browser.missing():
        print(f"error: {browser.missing()}")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    built: dict = {}
    config = StackConfig(workdir=REPO / ".local" / "screenshots").with_free_ports()
    with tempfile.TemporaryDirectory(prefix="screenshots-tf-") as tf_folder:
        models = threading.Thread(target=flow.build_models, args=(built, Path(tf_folder)), daemon=True)
        models.start()
        with Stack(config, say=lambda line: None) as stack:
            flow.run(stack, built, models)
            driver = browser.start()
            try:
                driver.get(stack.console.login_url)  # the console shows nothing to a browser that has not logged in
                print(f"Screenshots of {config.console_url}:")
                for name, path, width in PAGES:
                    shoot(driver, f"{config.console_url}{path}", width, args.out / f"{name}.png")
                try_it(driver, config.console_url, args.out / "try.png")
            finally:
                driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
