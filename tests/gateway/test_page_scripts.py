"""The console and the annotator page load the helpers they share (static/common/mint.js)
before their own scripts, every script and stylesheet a page names is served, the pages'
Content-Security-Policy lets same-origin scripts run, and every helper a script takes from
``Mint`` or ``MintConsole.dom`` is one that is defined there: a helper renamed or dropped
on one side fails here rather than as a blank page in a browser."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelmint.store import Store
from support.annotate import label_site

STATIC = Path(str(files("modelmint.gateway").joinpath("static")))
PAGES = {"/console": "/console/static/console.js", "/label": "/label/static/annotate.js"}
SHARED = "/static/common/mint.js"


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    return TestClient(label_site(store, tmp_path).app)  # the console's services come with it


def _names_in(braces: str) -> set[str]:
    """``{ a, b: c, d }`` (a destructuring or an object literal) -> {"a", "b", "d"}."""
    return {part.split(":")[0].strip() for part in braces.strip("{} \n").split(",") if part.strip()}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_shared_helpers_load_first_and_every_asset_is_served(
    client: TestClient, page: str
) -> None:
    r = client.get(page)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src" not in csp  # same-origin scripts run
    scripts = re.findall(r'<script src="([^"]+)"', r.text)
    assert scripts[0] == SHARED
    assert PAGES[page] in scripts
    for asset in [*scripts, *re.findall(r'<link rel="stylesheet" href="([^"]+)"', r.text)]:
        got = client.get(asset)
        assert got.status_code == 200, asset
        kind = "javascript" if asset.endswith(".js") else "css"
        assert kind in got.headers["content-type"], asset
    assert client.get("/static/common/missing.js").status_code == 404


def test_every_helper_a_script_takes_is_defined() -> None:
    shared = (STATIC / "common" / "mint.js").read_text(encoding="utf-8")
    exported = _names_in(re.search(r"window\.Mint = (\{[^}]*\})", shared, re.S).group(1))
    console = (STATIC / "console" / "console.js").read_text(encoding="utf-8")
    dom = _names_in(re.search(r"MintConsole\.dom = (\{[^}]*\})", console, re.S).group(1))
    scripts = [
        STATIC / "annotate" / "annotate.js",
        *sorted((STATIC / "console").rglob("*.js")),
    ]
    taken_from_mint: set[str] = set()
    taken_from_dom: set[str] = set()
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        taken_from_mint |= set(re.findall(r"\bMint\.(\w+)", text))
        for braces in re.findall(r"const (\{[^}]*\}) = window\.Mint;", text):
            taken_from_mint |= _names_in(braces)
        for braces in re.findall(r"const (\{[^}]*\}) = MintConsole\.dom;", text):
            taken_from_dom |= _names_in(braces)
    assert {"request", "word", "translatePage", "$"} <= taken_from_mint  # both pages use them
    assert taken_from_mint <= exported, taken_from_mint - exported
    assert {"h", "el", "section"} <= taken_from_dom
    assert taken_from_dom <= dom, taken_from_dom - dom
