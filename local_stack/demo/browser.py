"""A headless Chromium for the console's browser tests and screenshots: Debian's `chromium` driven
through its own `chromedriver` (Selenium), so the driver always matches the browser and nothing
is downloaded. Without chromium the browser tests are skipped with the reason `missing()` gives;
`make test` installs it when it runs as root. It sits beside the screenshots, not in console/: the
console never drives a browser, and nothing imports console/.
"""
from __future__ import annotations

import shutil

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def missing() -> str | None:
    """Why a browser cannot run here, or None."""
    if not any(shutil.which(name) for name in CHROMIUM):
        return "chromium is not installed (apt-get install -y chromium chromium-driver)"
    if not shutil.which(DRIVER):
        return "chromedriver is not installed (apt-get install -y chromium-driver)"
    return None


def start(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    binary = next(shutil.which(name) for name in CHROMIUM if shutil.which(name))
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-extensions", "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    """An exact CSS viewport (a phone's 390 px, a laptop's 1280 px), whatever the window's frame."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
