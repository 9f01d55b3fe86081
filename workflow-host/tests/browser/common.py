"""What the browser tests share: a check that names its step, the axe-core script, and
the checks every screen gets (no horizontal scrolling, no serious accessibility
violation)."""
import os
import sys

# axe-core's script: AXE, else the copy the PyPI package axe-playwright-python ships.
AXE = os.environ.get("AXE", "")
if not AXE:
    try:
        import axe_playwright_python

        AXE = os.path.join(os.path.dirname(axe_playwright_python.__file__), "axe.min.js")
    except ImportError:
        if os.environ.get("CI"):
            print("FAIL: CI installs axe-playwright-python for the accessibility scan", file=sys.stderr)
            sys.exit(1)


def check(condition, what):
    """Exits non-zero, naming the step, unless `condition` holds."""
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def shown(locator, within_ms=10_000):
    """Whether `locator` is visible within `within_ms`: after a click that submits a form
    the next page may still be loading (a click waits for its navigation to begin, not
    to end), where `is_visible()` answers at once."""
    try:
        locator.wait_for(state="visible", timeout=within_ms)
        return True
    except Exception:  # Playwright's TimeoutError
        return False


def no_horizontal_scroll(page, what, width=360):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    check(scroll <= width, f"{what}: no horizontal scrolling at {width} px (scrollWidth {scroll})")


def accessible(page, what):
    """axe-core finds no serious or critical violation (skipped, said, without axe)."""
    if not AXE:
        print(f"SKIPPED: axe scan of {what} (no axe.min.js)")
        return
    page.add_script_tag(path=AXE)
    result = page.evaluate("async () => (await axe.run()).violations.map(v => [v.id, v.impact, v.nodes.length])")
    bad = [v for v in result if v[1] in ("serious", "critical")]
    check(not bad, f"{what}: axe finds no serious or critical violation ({bad})")
