"""The console's Models, Data and training, and Labeling pages in Debian's Chromium over a
real server: sign in with the admin key, open a model, promote its alias and roll it back
(the catalog follows), see the loss curve, watch a running run's progress move, open a
dataset's curation report, open Labeling; then every page in Chinese and at phone width,
with screenshots under build/screenshots/console-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.store import Store
from modelmint.store.catalog_tables import ModelAlias
from support.browser import live_server
from support.console_models import REPORT_TEXT, ModelsWorld, models_world

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Iterator[tuple[ModelsWorld, str]]:
    world = models_world(store, tmp_path)
    with live_server(world.app) as base:
        yield world, base


def _alias_target(world: ModelsWorld) -> int:
    with world.store.session() as s:
        return s.scalars(
            select(ModelAlias.model_version_id).where(
                ModelAlias.name == "micro", ModelAlias.alias == "production"
            )
        ).one()


def test_models_data_and_labeling_pages(
    served: tuple[ModelsWorld, str], request: pytest.FixtureRequest
) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    from playwright.sync_api import Page, expect, sync_playwright

    world, base = served
    backend = request.node.callspec.params.get("store_url", "sqlite")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        suffix = "" if backend == "sqlite" else f"-{backend}"
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}{suffix}.png"), full_page=True)

    def open_route(page: Page, route: str, rendered: str, ready: str | None = None) -> None:
        page.goto(f"{base}/console#/{route}")
        expect(page.locator("html")).to_have_attribute("data-rendered", rendered)
        if ready:  # an element only that route draws (two routes may share a page)
            expect(page.locator(ready).first).to_be_visible()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context(locale="en-US", viewport=LAPTOP)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{base}/console")
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.locator("#admin-key").fill(world.platform_key)
            page.locator("#admin-key").press("Enter")
            expect(page.locator("#sign-out")).to_be_visible()

            # Models: the list, then the model's page
            open_route(page, "models", "models")
            expect(page.locator("#models-list")).to_contain_text("production → v1")
            expect(page.locator("#serving")).to_contain_text("micro@production")
            shot(page, "models-en-laptop")
            page.locator("#models-list a", has_text="micro").click()
            expect(page.locator("#model-name")).to_have_text("micro")
            tree = page.locator("#lineage-tree")
            expect(
                tree.locator("li[data-model='micro:1'] li[data-model='micro:2']")
            ).to_be_visible()
            expect(tree).to_contain_text("tickets:1")
            expect(page.locator("#loss-chart svg polyline").first).to_be_attached()
            expect(page.locator("#evaluations a[data-file='report.html']")).to_be_visible()
            shot(page, "model-en-laptop")

            # promote production to v2, then roll it back: the catalog follows each click
            promote = page.locator("button[data-action='promote'][data-alias='production']")
            expect(page.locator("#promote-production")).to_have_value("2")
            promote.click()
            expect(page.locator("#action-status")).to_contain_text("now answers with micro:2")
            assert _alias_target(world) == world.v2.id
            rollback = page.locator("button[data-action='rollback'][data-alias='production']")
            expect(rollback).to_have_text("Roll back to v1")
            rollback.click()
            expect(page.locator("#action-status")).to_contain_text("now answers with micro:1")
            assert _alias_target(world) == world.v1.id
            # the world's first promotion (to v1), ours and its rollback
            expect(page.locator("#alias-history tbody tr")).to_have_count(3)
            expect(rollback).to_be_disabled()
            # the session cookie alone changes nothing: the page's CSRF token must come too
            forged = page.request.post(
                f"{base}/admin/v1/models/micro/aliases/production", data={"version": 2}
            )
            assert forged.status == 403, forged.text()
            assert _alias_target(world) == world.v1.id

            # a live canary from the form, then ended
            page.locator("#canary-candidate").select_option("micro:2")
            page.locator("#canary-percent").fill("25")
            page.locator("#canary-form button[type='submit']").click()
            expect(page.locator(".canary-current")).to_contain_text("25% to micro:2")
            assert [c.fraction for c in world.context.canaries] == [0.25]
            page.locator("button[data-action='end-canary']").click()
            expect(page.locator(".canary-current")).to_have_count(0)
            assert world.context.canaries == []

            # a running run: its curve, and its progress moving while the page polls
            open_route(page, f"runs/{world.live_run}", "runs")
            expect(page.locator("#run-progress")).to_have_text("4 / 10 (40%)")
            expect(page.locator("#run-chart svg polyline").first).to_be_attached()
            expect(page.locator("#run-live")).to_contain_text("refreshed")
            world.catalog.log_metrics(world.live_run, 5, {"loss": 2.4})
            expect(page.locator("#run-progress")).to_have_text("5 / 10 (50%)")
            shot(page, "run-en-laptop")

            # Data: the dataset and its curation report in a new tab
            open_route(page, "data", "data")
            expect(page.locator("#datasets")).to_contain_text("train 6 · test 2")
            expect(page.locator("#runs")).to_contain_text("micro:2")
            shot(page, "data-en-laptop")
            with page.expect_popup() as popup:
                page.locator("a[data-report='tickets:1']").click()
            report = popup.value
            expect(report.locator("body")).to_contain_text(REPORT_TEXT)
            report.close()

            # Labeling: the project, the feedback queue and the annotator page's link
            open_route(page, "labeling", "labeling")
            expect(page.locator("#label-projects")).to_contain_text("intents")
            expect(page.locator("#label-projects")).to_contain_text("2 / 6 (33%)")
            expect(page.locator("#feedback-new .value")).to_have_text("2")
            expect(page.locator("#annotator-link")).to_have_attribute("href", "/label")
            shot(page, "labeling-en-laptop")

            # Chinese, on a laptop and on a phone
            page.locator("#lang-toggle").click()
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            routes = [
                ("models", "models", "models", "#models-list"),
                ("models/micro", "models", "model", "#model-name"),
                (f"runs/{world.live_run}", "runs", "run", "#run-progress"),
                ("data", "data", "data", "#datasets"),
                ("labeling", "labeling", "labeling", "#label-projects"),
            ]
            for route, rendered, name, ready in routes:
                open_route(page, route, rendered, ready)
                shot(page, f"{name}-zh-laptop")
            expect(page.locator("#feedback-new .label")).to_have_text("待处理")
            page.set_viewport_size(PHONE)
            for lang in ("zh", "en"):
                for route, rendered, name, ready in routes:
                    open_route(page, route, rendered, ready)
                    shot(page, f"{name}-{lang}-phone")
                if lang == "zh":
                    page.locator("#lang-toggle").click()
                    expect(page.locator("html")).to_have_attribute("lang", "en")
            # nothing on the phone page is wider than the screen
            open_route(page, "models/micro", "models", "#model-name")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the model page scrolls sideways ({width}px)"
        finally:
            browser.close()
