// The console's shell: sign-in, navigation by hash route, language, the error banner, and
// the `ctx` every page is given. Plain JS, no build step. Pages live in pages/*.js and
// register themselves with MintConsole.page(name, {title, platformOnly, render}).
// Everything shown comes from JSON and is put on the page as text (never as HTML). What the
// annotator page needs too (calling the server, words, digit grouping) is in
// /static/common/mint.js (window.Mint), loaded first.
"use strict";

(() => {
  const CSRF_COOKIE = "mint_console_csrf";
  const LANG_COOKIE = "mint_console_lang";
  const ADMIN = "/admin/v1/";
  // nav order for the pages we know of; any other registered page follows
  const NAV_ORDER = ["overview", "models", "customers", "data", "runs", "labeling"];
  const root = document.documentElement;
  const { $, ApiError } = window.Mint;
  const pages = new Map();
  const state = {
    lang: root.dataset.lang === "zh" ? "zh" : "en",
    strings: { en: {}, zh: {} },
    me: null, // /console/api/me
    generation: 0, // bumped on every render: a stale page's polls stop
    route: null,
  };

  // -- pages register here (before the shell starts: the scripts are deferred, in order) --
  function domElement(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "className") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  // the short form of domElement: a tag, an optional class and optional text
  function textElement(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }
  // a titled card of a page, appended to `parent`; returns it to fill
  function card(parent, title, id) {
    const box = domElement("section", { className: "card", id });
    box.append(domElement("h2", {}, title));
    parent.append(box);
    return box;
  }
  const shortTime = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "—");
  // a figure under its label (a .stat box), with an optional smaller line under it
  function stat(label, value, id, sub) {
    const box = domElement("div", { className: "stat", id });
    box.append(textElement("div", "label", label), textElement("div", "value", value));
    if (sub) box.append(textElement("div", "sub", sub));
    return box;
  }
  // a NAME:VERSION label as a link to that model's page ("—" for none)
  const modelLink = (label) =>
    label
      ? domElement("a", { href: `#/models/${encodeURIComponent(String(label).replace(/:\d+$/, ""))}` }, label)
      : "—";

  window.MintConsole = {
    page(name, definition) {
      pages.set(name, { name, ...definition });
      if (state.me) renderNav();
    },
    // (filled in below) goes to a route, rendering again if it is the current one
    navigate: null,
  };

  // -- words ------------------------------------------------------------------------------
  function s(key, vars) {
    return Mint.word(state.strings, state.lang, key, vars);
  }

  // A page's own string: {en, zh} -> the current language's (English when missing).
  function pick(words) {
    if (words == null) return "";
    if (typeof words === "string") return words;
    return words[state.lang] ?? words.en ?? "";
  }

  function applyStrings() {
    Mint.translatePage(state.lang, s);
    renderWho();
  }

  function setLanguage(lang) {
    state.lang = lang;
    localStorage.setItem(LANG_COOKIE, lang);
    // a cookie too, so the server renders the next page load in this language
    document.cookie = `${LANG_COOKIE}=${lang}; path=/; max-age=31536000; SameSite=Strict`;
    applyStrings();
    if (state.me) {
      renderNav();
      render();
    }
  }

  // -- talking to the server --------------------------------------------------------------
  const request = (url, options) => Mint.request(url, { ...options, csrfCookie: CSRF_COOKIE });

  // ctx.api: a path under /admin/v1 ("tenants" or "/admin/v1/tenants"), or any absolute path
  async function api(path, options) {
    const url = path.startsWith("/") ? path : ADMIN + path;
    try {
      return await request(url, options);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) signedOut();
      throw e;
    }
  }

  // -- the banner ----------------------------------------------------------------------------
  function banner(message, isError = true) {
    $("banner-text").textContent = message;
    $("banner").classList.toggle("info", !isError);
    $("banner").hidden = !message;
  }

  // -- formatting ----------------------------------------------------------------------------
  // integer micro-units -> "1,234.50" (two decimals, more when they are not zero)
  function money(micros) {
    if (micros === null || micros === undefined) return "—";
    const n = Math.round(Number(micros));
    const sign = n < 0 ? "-" : "";
    const abs = Math.abs(n);
    const whole = Mint.grouped(Math.floor(abs / 1e6));
    let frac = String(abs % 1e6).padStart(6, "0").replace(/0+$/, "");
    frac = frac.padEnd(2, "0");
    return `${sign}${whole}.${frac}`;
  }

  function number(n) {
    if (n === null || n === undefined) return "—";
    return Mint.grouped(n);
  }

  // -- tables --------------------------------------------------------------------------------
  function cell(td, value) {
    if (value instanceof Node) td.append(value);
    else td.textContent = value === null || value === undefined ? "—" : String(value);
  }

  // columns: [{key, label: {en, zh}, format?: (value, row) => string | Node, className?}]
  function table(el, columns, rows) {
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    const t = document.createElement("table");
    const head = t.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement("th");
      th.textContent = pick(c.label);
      if (c.className) th.className = c.className;
      head.append(th);
    }
    const body = t.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const c of columns) {
        const td = tr.insertCell();
        if (c.className) td.className = c.className;
        td.dataset.key = c.key;
        cell(td, c.format ? c.format(row[c.key], row) : row[c.key]);
      }
    }
    if (!rows.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = columns.length;
      td.className = "empty";
      td.textContent = s("no_data");
    }
    wrap.append(t);
    el.append(wrap);
    return t;
  }

  // -- navigation ----------------------------------------------------------------------------
  function visible(page) {
    return !(page.platformOnly && state.me && state.me.scope.kind !== "platform");
  }

  function navPages() {
    const known = NAV_ORDER.filter((n) => pages.has(n)).map((n) => pages.get(n));
    const others = [...pages.values()].filter((p) => !NAV_ORDER.includes(p.name));
    return [...known, ...others].filter((p) => p.nav !== false && visible(p));
  }

  function renderNav() {
    const nav = $("nav");
    nav.replaceChildren();
    for (const page of navPages()) {
      const a = document.createElement("a");
      a.href = `#/${page.name}`;
      a.textContent = pick(page.title);
      a.dataset.page = page.name;
      if (state.route && state.route.name === page.name) a.setAttribute("aria-current", "page");
      nav.append(a);
    }
  }

  function renderWho() {
    const me = state.me;
    if (!me) {
      $("who").textContent = "";
      return;
    }
    $("who").textContent =
      me.scope.kind === "platform" ? s("platform") : s("channel", { name: me.scope.channel });
  }

  function parseRoute() {
    const hash = location.hash.replace(/^#\/?/, "");
    const parts = hash.split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    return { name: parts[0] || "overview", params: parts.slice(1) };
  }

  function navigate(hash) {
    const target = hash.startsWith("#") ? hash : `#${hash.startsWith("/") ? "" : "/"}${hash}`;
    if (location.hash === target) render();
    else location.hash = target;
  }

  window.MintConsole.navigate = navigate;
  // Small helpers every page uses: build elements, cards and figures, fill {placeholders},
  // show a time, link a model version to its page.
  window.MintConsole.dom = {
    h: domElement,
    el: textElement,
    section: card,
    stat,
    fill: Mint.fill,
    when: shortTime,
    modelLink,
  };

  function closeMenu() {
    $("nav").classList.remove("open");
    $("nav-toggle").setAttribute("aria-expanded", "false");
  }

  function showNotFound(el) {
    el.replaceChildren();
    const p = document.createElement("p");
    p.className = "not-found";
    p.textContent = s("not_found");
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = s("not_found_hint");
    el.append(p, hint);
  }

  function makeCtx(generation) {
    const live = () => generation === state.generation;
    return {
      api,
      t: pick,
      lang: state.lang,
      scope: { ...state.me.scope },
      me: state.me,
      chart: (el, spec) => window.MintChart.render(el, spec, { lang: state.lang, money }),
      table,
      navigate,
      money,
      number,
      notify: (message, isError = false) => banner(message, isError),
      isLive: live,
      // repeats fn every ms while this page is shown (stops when the user navigates away)
      poll(fn, ms) {
        const tick = async () => {
          if (!live()) return;
          if (!document.hidden) {
            try {
              await fn();
            } catch (e) {
              if (live()) banner(`${s("error")}: ${e.message}`);
            }
          }
          if (live()) setTimeout(tick, ms);
        };
        setTimeout(tick, ms);
      },
    };
  }

  async function render() {
    if (!state.me) return;
    const route = parseRoute();
    state.route = route;
    const generation = ++state.generation;
    closeMenu();
    renderNav();
    banner("");
    const view = $("view");
    view.replaceChildren();
    root.dataset.rendered = "";
    const page = pages.get(route.name);
    if (!page || !visible(page)) {
      $("page-title").textContent = s("not_found");
      showNotFound(view);
      root.dataset.rendered = route.name;
      return;
    }
    $("page-title").textContent = pick(page.title);
    document.title = `${pick(page.title)} · ${s("title")}`;
    const el = document.createElement("div");
    el.className = `page page-${page.name}`;
    view.append(el);
    const loading = document.createElement("p");
    loading.className = "hint loading";
    loading.textContent = s("loading");
    el.append(loading);
    try {
      await page.render(el, makeCtx(generation), route.params);
      loading.remove();
    } catch (e) {
      if (generation !== state.generation) return;
      // a page throws a 404 (from ctx.api, or its own with .status = 404): "not found",
      // and nothing the page may have drawn before stays on screen
      if (e && e.status === 404) showNotFound(el);
      else if (!(e && e.status === 401)) {
        loading.remove();
        banner(`${s("error")}: ${e.message}`);
      }
    }
    if (generation === state.generation) root.dataset.rendered = route.name;
  }

  // -- signing in and out --------------------------------------------------------------------
  function showSignIn(message) {
    state.me = null;
    state.generation++;
    $("app").hidden = true;
    $("nav").hidden = true;
    $("sign-out").hidden = true;
    $("nav-toggle").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
    renderWho();
    $("admin-key").focus();
  }

  function signedOut() {
    if (state.me) showSignIn(s("signed_out"));
  }

  function showApp(me) {
    state.me = me;
    $("sign-in").hidden = true;
    $("app").hidden = false;
    $("nav").hidden = false;
    $("nav-toggle").hidden = false;
    $("sign-out").hidden = false;
    $("admin-key").value = "";
    renderWho();
    renderNav();
    render();
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("admin-key").value.trim();
    if (!key) return;
    $("sign-in-error").textContent = s("signing_in");
    try {
      const me = await request("/console/session", { method: "POST", body: { key } });
      showApp(me);
    } catch (e) {
      $("sign-in-error").textContent = e.message;
    }
  }

  async function signOut() {
    try {
      await request("/console/session/logout", { method: "POST" });
    } catch (e) {
      // the cookie may already be gone; the page reloads into the sign-in form either way
    }
    location.reload();
  }

  // -- start ---------------------------------------------------------------------------------
  async function start() {
    const saved = localStorage.getItem(LANG_COOKIE);
    if (saved === "en" || saved === "zh") state.lang = saved;
    try {
      state.strings = await (await fetch("/console/static/i18n.json")).json();
    } catch (e) {
      // without the strings the keys show; the console still works
    }
    applyStrings();
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("banner-close").addEventListener("click", () => banner(""));
    $("lang-toggle").addEventListener("click", () =>
      setLanguage(state.lang === "zh" ? "en" : "zh"),
    );
    $("nav-toggle").addEventListener("click", () => {
      const open = !$("nav").classList.contains("open");
      $("nav").classList.toggle("open", open);
      $("nav-toggle").setAttribute("aria-expanded", String(open));
    });
    window.addEventListener("hashchange", render);
    let me = null;
    if (root.dataset.signedIn === "true") {
      try {
        me = await request("/console/api/me");
      } catch (e) {
        me = null;
      }
    }
    if (me) showApp(me);
    else showSignIn();
    root.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
