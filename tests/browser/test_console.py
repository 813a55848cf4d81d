"""The console in Debian's Chromium, driven by Playwright over a real server with a micro
model: the platform signs in, creates a tenant's API key (read from the shown-once
dialog), the key calls /v1/chat/completions, the overview shows that request, its tokens
and its revenue (usage x price); the key is revoked in the console and the next call is
refused. A channel's admin key cannot reach another channel's tenant by URL. Every page
is photographed in English and Chinese at laptop and phone width."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelmint.catalog import Catalog
from modelmint.commerce import PLATFORM, Scope, format_money
from modelmint.commerce.accounts import AdminKeys, Channels, Tenants
from modelmint.commerce.pricing import PriceBooks
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.observability.serving_metrics import ServingMetrics
from modelmint.serving import Engine
from modelmint.store import Store
from support.browser import live_server
from support.gateway import gateway_settings
from support.helpers import build_micro_model

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PEPPER = b"console-test-pepper"
INPUT, OUTPUT = 1_000_000, 2_000_000  # acme's price per million tokens: 1 and 2
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    base: str
    platform_key: str
    north_key: str

    @property
    def north_prefix(self) -> str:
        return self.north_key.split("-")[1]


@pytest.fixture(scope="module")
def micro_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("micro"))


@pytest.fixture
def site(store: Store, tmp_path: Path, micro_dir: Path) -> Iterator[Site]:
    artifacts = tmp_path / "artifacts"
    catalog = Catalog(store, artifacts)
    ref = catalog.add_model_version(
        "micro",
        catalog.staging_dir("m"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    metrics = ServingMetrics()
    engine = Engine.load(micro_dir, observer=metrics.observer(ref.label))
    served = ServedModel(id="micro", label=ref.label, model_version_id=ref.id, engine=engine)
    settings = gateway_settings(tmp_path, PEPPER)
    app = create_app(
        build_gateway(settings, models={"micro": served}, store=store, metrics=metrics)
    )
    # the customers: acme (direct, priced), and one tenant in each of two channels
    prices = PriceBooks(store)
    prices.ensure_book(PLATFORM, "standard")
    prices.set_price(PLATFORM, "standard", "micro", INPUT, OUTPUT)
    tenants, channels = Tenants(store), Channels(store)
    tenants.create("acme")
    for name in ("north", "south"):
        channels.create(PLATFORM, name)
        tenants.create(f"{name}-shop", channel=name, billing="prepaid")
    admin = AdminKeys(store, PEPPER)
    platform_key = admin.create(Scope(actor="test"), "root").key
    north_key = admin.create(channels.scope_for("north", "test"), "north").key

    with live_server(app) as base:
        yield Site(base, platform_key, north_key)


def _chat(base: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": "micro",
            "messages": [{"role": "user", "content": "hello"}],
            "max_tokens": 6,
        },
        timeout=30,
    )


def test_sign_in_create_key_call_see_revenue_revoke_and_channel_isolation(
    site: Site, request: pytest.FixtureRequest
) -> None:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `make setup` installs it (apt-get install chromium)"
    )
    from playwright.sync_api import Page, expect, sync_playwright

    backend = request.node.callspec.params.get("store_url", "sqlite")
    suffix = "" if backend == "sqlite" else f"-{backend}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}{suffix}.png"), full_page=True)

    def go(page: Page, route: str) -> None:
        # cleared first, so the wait below is for this route's render, not the last one's
        page.evaluate(
            "r => { document.documentElement.dataset.rendered = ''; MintConsole.navigate(r) }",
            route,
        )
        expect(page.locator("html")).to_have_attribute("data-rendered", route.split("/")[1])

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            # -- the sign-in page, both languages and widths ------------------------------
            for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
                for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
                    page = browser.new_page(locale=locale, viewport=viewport)
                    page.goto(f"{site.base}/console")
                    expect(page.locator("html")).to_have_attribute("data-ready", "true")
                    expect(page.locator("#sign-in")).to_be_visible()
                    expect(page.locator("#sign-in h1")).to_have_text(
                        "Sign in to the console" if lang == "en" else "登录控制台"
                    )
                    shot(page, f"signin-{lang}-{width}")
                    page.close()

            context = browser.new_context(locale="en-US", viewport=LAPTOP)
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{site.base}/console")
            expect(page.locator("html")).to_have_attribute("data-ready", "true")
            page.locator("#admin-key").fill("mma-000000000000-wrong")
            page.keyboard.press("Enter")
            expect(page.locator("#sign-in-error")).to_contain_text("Incorrect admin key")
            page.locator("#admin-key").fill(site.platform_key)
            page.keyboard.press("Enter")
            expect(page.locator("html")).to_have_attribute("data-rendered", "overview")
            expect(page.locator("#who")).to_have_text("platform")
            expect(page.locator("#total-requests .value")).to_have_text("0")

            # -- a key for acme, shown once ----------------------------------------------
            go(page, "#/customers")
            expect(page.locator("#channels")).to_contain_text("north")
            page.locator("#tenants a", has_text="acme").click()
            expect(page.locator("html")).to_have_attribute("data-rendered", "customers")
            expect(page.locator("#tenant-name")).to_have_text("acme")
            page.locator("#new-key-name").fill("from the console")
            page.locator("#create-key").click()
            dialog = page.locator("#key-dialog")
            expect(dialog).to_be_visible()
            api_key = page.locator("#new-key-value").inner_text().strip()
            assert api_key.startswith("mm-")
            shot(page, "key-dialog-en-laptop")
            page.locator("#copy-key").click()
            expect(page.locator("#copy-key")).to_have_text("Copied")
            assert page.evaluate("navigator.clipboard.readText()") == api_key
            page.locator("#close-key-dialog").click()
            expect(dialog).to_have_count(0)  # the key left the page with its dialog
            prefix = api_key.split("-")[1]
            row = page.locator("#keys-table tr", has_text=prefix)
            expect(row).to_contain_text("active")
            expect(page.locator("body")).not_to_contain_text(api_key)

            # -- the key works; the overview shows the request, its tokens, its revenue --
            r = _chat(site.base, api_key)
            assert r.status_code == 200, r.text
            usage = r.json()["usage"]
            p, c = usage["prompt_tokens"], usage["completion_tokens"]
            revenue = -(-(p * INPUT + c * OUTPUT) // 1_000_000)
            go(page, "#/overview")
            expect(page.locator("#total-requests .value")).to_have_text("1")
            expect(page.locator("#total-tokens .value")).to_have_text(str(p + c))
            expect(page.locator("#total-tokens .sub")).to_have_text(f"in {p} · out {c}")
            expect(page.locator("#total-revenue .value")).to_have_text(format_money(revenue))
            expect(page.locator("#by-group")).to_contain_text("micro:1")
            expect(page.locator("#serving")).to_contain_text("micro:1")
            last_hour = page.locator("#chart-requests .hover-col title").last
            expect(last_hour).to_contain_text("Requests: 1")
            page.select_option("#group", "tenant")
            expect(page.locator("#by-group")).to_contain_text("acme")
            page.locator("#range button[data-value='7d']").click()
            expect(page.locator("#total-revenue .value")).to_have_text(format_money(revenue))
            page.locator("#range button[data-value='24h']").click()
            expect(page.locator("#total-requests .value")).to_have_text("1")

            # -- revoke it in the console: the next call is refused -----------------------
            go(page, "#/customers/tenants/acme")
            revoke = page.locator(f"button[data-prefix='{prefix}']")
            revoke.click()
            expect(revoke).to_have_text("Really revoke?")
            revoke.click()
            expect(page.locator("#keys-table tr", has_text=prefix)).to_contain_text("revoked")
            expect(page.locator("#banner")).to_contain_text("revoked")
            refused = _chat(site.base, api_key)
            assert refused.status_code == 401, refused.text

            # an invoice for the month, viewable and downloadable with the session
            period = time.strftime("%Y-%m", time.gmtime())
            made = httpx.post(
                f"{site.base}/admin/v1/invoices/generate",
                headers={"Authorization": f"Bearer {site.platform_key}"},
                json={"period": period},
            )
            assert made.status_code == 200, made.text
            go(page, "#/customers/tenants/acme")  # the same route: rendered again
            invoice_links = page.locator("#invoices a")
            expect(invoice_links).to_have_count(2)
            for link in (invoice_links.nth(0), invoice_links.nth(1)):
                href = link.get_attribute("href")
                assert href and page.request.get(f"{site.base}{href}").status == 200, href

            # -- every page, both languages, laptop and phone -------------------------------
            for lang in ("en", "zh"):
                if lang == "zh":
                    page.locator("#lang-toggle").click()
                    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
                    expect(page.locator("#page-title")).to_have_text("概览")
                for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
                    page.set_viewport_size(viewport)
                    for route, name in (
                        ("#/overview", "overview"),
                        ("#/customers", "customers"),
                        ("#/customers/tenants/acme", "tenant"),
                    ):
                        go(page, route)
                        if name == "overview":
                            expect(page.locator("#total-requests .value")).to_have_text("1")
                        shot(page, f"{name}-{lang}-{width}")
                        if width == "phone":
                            scroll = page.evaluate("document.documentElement.scrollWidth")
                            assert scroll <= PHONE["width"], f"{name} is {scroll}px wide on a phone"
                    if width == "phone":
                        expect(page.locator("#nav")).to_be_hidden()  # folded into the menu
                        page.locator("#nav-toggle").click()
                        expect(page.locator("#nav a[data-page='customers']")).to_be_visible()
                        shot(page, f"menu-{lang}-phone")
                        page.locator("#nav a[data-page='overview']").click()
                        expect(page.locator("#nav")).to_be_hidden()
            # the language is remembered across a reload
            page.set_viewport_size(LAPTOP)
            page.reload()
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            page.locator("#lang-toggle").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")

            # -- a channel's admin key: its own tenant, not another channel's -------------
            page.locator("#sign-out").click()
            expect(page.locator("#sign-in")).to_be_visible()
            page.locator("#admin-key").fill(site.north_key)
            page.keyboard.press("Enter")
            expect(page.locator("html")).to_have_attribute("data-rendered", "overview")
            expect(page.locator("#who")).to_have_text("channel north")
            expect(page.locator("#serving")).to_have_count(0)  # platform only
            go(page, "#/customers")
            expect(page.locator("#tenants")).to_contain_text("north-shop")
            expect(page.locator("#view")).not_to_contain_text("south-shop")
            expect(page.locator("#view")).not_to_contain_text("acme")
            expect(page.locator("#channels")).to_have_count(0)
            go(page, "#/customers/tenants/south-shop")
            expect(page.locator(".not-found")).to_have_text("Not found.")
            expect(page.locator("#tenant")).to_have_count(0)
            expect(page.locator("#keys, #wallet, #invoices")).to_have_count(0)
            shot(page, "channel-not-found-en-laptop")
            assert page.request.get(f"{site.base}/admin/v1/tenants/south-shop").status == 404
            assert page.request.get(f"{site.base}/admin/v1/tenants/north-shop").status == 200
            go(page, "#/customers/tenants/north-shop")
            expect(page.locator("#tenant-name")).to_have_text("north-shop")
            # a prepaid tenant's wallet: a top-up typed as money lands in micro-units
            expect(page.locator("#wallet-balance .value")).to_have_text("0.00")
            page.locator("#topup-amount").fill("25.5")
            page.locator("#topup-amount").press("Enter")
            expect(page.locator("#wallet-balance .value")).to_have_text("25.50")
            expect(page.locator("#wallet")).to_contain_text(f"channel:north:{site.north_prefix}")
            shot(page, "channel-tenant-en-laptop")
            context.close()
        finally:
            browser.close()
