"""The annotator page in Debian's Chromium, driven by Playwright over a real server: an
annotator signs in with a token and labels with the keyboard only — overrides one
suggestion, accepts another with Space, skips an item, switches to Chinese — and the
exported labels are exactly those, with accepted/overrode recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelmint.labeling import Annotations, export_labels, final_labels
from modelmint.store import LabelItem, Store
from support.annotate import LabelSite, label_site
from support.browser import live_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def served(store: Store, tmp_path: Path) -> Iterator[tuple[LabelSite, str]]:
    site = label_site(store, tmp_path)
    with live_server(site.app) as base:
        yield site, base


def _items(store: Store) -> dict[int, int]:
    """Item id by dataset position, for the ``intents`` project."""
    with store.session() as s:
        return {i.position: i.id for i in s.query(LabelItem).filter(LabelItem.project_id == 1)}


def test_keyboard_labeling_with_suggestions_and_chinese_ui(
    served: tuple[LabelSite, str], store: Store, request: pytest.FixtureRequest
) -> None:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium; `make setup` "
        "installs it (apt-get install chromium)"
    )
    from playwright.sync_api import expect, sync_playwright

    site, base = served
    by_pos = _items(store)
    notes = Annotations(store)
    # the queue serves suggested items least confident first: position 2, then 0
    notes.set_suggestion(by_pos[2], "account", 0.3, "classifier")  # wrong: to be overridden
    notes.set_suggestion(by_pos[0], "refund", 0.9, "classifier")  # right: to be accepted
    _, token = site.services.annotators.create("li", projects=["intents"])
    backend = request.node.callspec.params.get("store_url", "sqlite")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(locale="en-US", viewport={"width": 1000, "height": 800})
            page.set_default_timeout(10_000)
            page.goto(f"{base}/label")
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            expect(page.locator("#sign-in")).to_be_visible()
            expect(page.locator("#token")).to_be_focused()
            page.keyboard.type(token)
            page.keyboard.press("Enter")

            # the one project opens by itself; the least confident suggestion comes first
            text = page.locator("#fields .text").first
            expect(text).to_have_text("Where is my package?")
            expect(page.locator("#suggestion-value")).to_have_text("account")
            expect(page.locator("#suggestion-confidence")).to_have_text("confidence 30%")
            expect(page.locator("#accept")).to_contain_text("Space")
            expect(page.locator("#progress-text")).to_have_text("0/6 items done")
            page.screenshot(path=str(SCREENSHOTS / f"annotate-en-{backend}.png"), full_page=True)
            page.keyboard.press("2")  # shipping: overrides the suggestion

            expect(text).to_have_text("I want a refund for my order")
            expect(page.locator("#status")).to_have_text("Saved: overrode the suggestion")
            expect(page.locator("#suggestion-confidence")).to_have_text("confidence 90%")
            page.keyboard.press("Space")  # accepts "refund"

            expect(text).to_have_text("我想退款，订单号 12345")
            expect(page.locator("#status")).to_have_text("Saved: accepted the suggestion")
            expect(page.locator("#mine-text")).to_have_text("you labeled 2")
            expect(page.locator("#no-suggestion")).to_be_visible()
            page.keyboard.press("s")  # skip

            expect(text).to_have_text("我的快递到哪里了？")
            page.keyboard.press("l")  # Chinese
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.locator("#no-suggestion")).to_have_text("此条目没有模型建议。")
            expect(page.locator("#skip")).to_contain_text("跳过")
            expect(page.locator("#progress-text")).to_have_text("已完成 2/6 条")
            expect(page.locator("#status")).to_have_text("已跳过")  # said again in zh
            page.screenshot(path=str(SCREENSHOTS / f"annotate-zh-{backend}.png"), full_page=True)
            page.keyboard.press("?")
            expect(page.locator("#help")).to_be_visible()
            expect(page.locator("#help-table")).to_contain_text("采纳模型建议")
            page.screenshot(path=str(SCREENSHOTS / f"annotate-zh-help-{backend}.png"))
            page.keyboard.press("Escape")
            expect(page.locator("#help")).to_be_hidden()
            page.keyboard.press("2")  # shipping, no suggestion shown

            expect(text).to_have_text("How do I reset my password")
            page.keyboard.press("3")  # account
            expect(text).to_have_text("怎么修改密码")
            expect(page.locator("#mine-text")).to_have_text("你已标注 4 条")

            # a phone: nothing wider than the screen
            page.set_viewport_size({"width": 390, "height": 844})
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page is {width}px wide on a 390px phone"
            page.screenshot(path=str(SCREENSHOTS / f"annotate-phone-{backend}.png"))
        finally:
            browser.close()

    final = final_labels(store, "intents")
    assert final.labels == {
        by_pos[2]: "shipping",
        by_pos[0]: "refund",
        by_pos[3]: "shipping",
        by_pos[4]: "account",
    }
    uses = {pos: [a.suggestion_use for a in notes.for_item(by_pos[pos])] for pos in range(6)}
    assert uses == {2: ["overrode"], 0: ["accepted"], 1: [], 3: ["none"], 4: ["none"], 5: []}
    assert all(a.annotator == "li" for pos in (0, 2, 3, 4) for a in notes.for_item(by_pos[pos]))
    report = notes.suggestion_report("intents")
    assert (report.accepted, report.overrode, report.correct, report.checked) == (1, 1, 1, 2)

    exported = export_labels(store, site.catalog, "intents", "intents-labeled")
    records = exported.dataset.read_split("train")
    assert {r["id"]: r["label"] for r in records} == {
        "r1": "refund",
        "r3": "shipping",
        "r4": "shipping",
        "r5": "account",
    }
    assert exported.unfinished == 2  # the skipped item and the one left open


def test_every_kind_from_the_keyboard(served: tuple[LabelSite, str], store: Store) -> None:
    """Multilabel (digits toggle, Enter submits), rating (1-5), preference (→ and A),
    correction (Space accepts the suggestion; E edits, Ctrl+Enter submits), and the
    project list (digits open a project, P goes back)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make setup` installs it"
    from playwright.sync_api import expect, sync_playwright

    site, base = served
    projects = site.services.projects
    labels = ["refund", "shipping", "account"]
    projects.create("multi", "tickets", kind="multilabel", labels=labels)
    projects.create("pref", "tickets", kind="preference", fields={"a": "text", "b": "lang"})
    fix = projects.create("fix", "tickets", kind="correction")
    notes = Annotations(store)
    with store.session() as s:
        first_fix = s.query(LabelItem).filter_by(project_id=fix.id, position=0).one().id
    notes.set_suggestion(first_fix, "I want a refund for my order, please.", 0.6, "zero-shot")
    _, token = site.services.annotators.create("kim")  # every project

    def ids(project: str) -> dict[int, int]:
        p = projects.get(project)
        with store.session() as s:
            return {i.position: i.id for i in s.query(LabelItem).filter_by(project_id=p.id)}

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(locale="en-US")
            page.set_default_timeout(10_000)
            page.goto(f"{base}/label")
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            names = page.locator("#project-list button")
            expect(names).to_have_count(5)  # fix, intents, multi, other, pref
            title = page.locator("#item-title")

            page.keyboard.press("3")  # multi
            expect(title).to_have_text("Item 1")
            page.keyboard.press("1")
            page.keyboard.press("3")
            page.keyboard.press("1")
            page.keyboard.press("1")  # on, off, on again
            expect(page.locator("button[data-label=refund]")).to_have_attribute(
                "aria-pressed", "true"
            )
            page.keyboard.press("Enter")
            expect(title).to_have_text("Item 2")
            page.keyboard.press("p")
            expect(page.locator("#projects")).to_be_visible()
            expect(names.nth(2)).to_contain_text("you labeled 1")

            page.keyboard.press("4")  # other: a rating
            expect(title).to_have_text("Item 1")
            page.keyboard.press("4")
            expect(title).to_have_text("Item 2")
            page.keyboard.press("p")
            expect(page.locator("#projects")).to_be_visible()

            page.keyboard.press("5")  # pref
            expect(title).to_have_text("Item 1")
            page.keyboard.press("ArrowRight")
            expect(title).to_have_text("Item 2")
            page.keyboard.press("a")
            expect(title).to_have_text("Item 3")
            page.keyboard.press("p")
            expect(page.locator("#projects")).to_be_visible()

            page.keyboard.press("1")  # fix: the suggestion is the text to start from
            expect(page.locator("#correction")).to_have_value(
                "I want a refund for my order, please."
            )
            page.keyboard.press("Space")
            expect(title).to_have_text("Item 2")
            expect(page.locator("#correction")).to_have_value("我想退款，订单号 12345")
            page.keyboard.press("e")
            expect(page.locator("#correction")).to_be_focused()
            page.keyboard.press("ControlOrMeta+a")
            page.keyboard.type("我想退款。")
            page.keyboard.press("Control+Enter")
            expect(title).to_have_text("Item 3")
        finally:
            browser.close()

    def given(project: str, pos: int) -> list[tuple[object, str]]:
        return [(a.value, a.suggestion_use) for a in notes.for_item(ids(project)[pos])]

    assert given("multi", 0) == [(["refund", "account"], "none")]
    assert given("other", 0) == [(4, "none")]
    assert given("pref", 0) == [("B", "none")] and given("pref", 1) == [("A", "none")]
    assert given("fix", 0) == [("I want a refund for my order, please.", "accepted")]
    assert given("fix", 1) == [("我想退款。", "none")]
