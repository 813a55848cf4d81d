// The annotator page: sign in, pick a project, label one item at a time from the
// keyboard. Plain JS, no build step; everything shown comes from /label/api (JSON) and
// is put on the page as text (never as HTML). Calling the server and looking up words go
// through /static/common/mint.js (window.Mint), shared with the console and loaded first.
"use strict";

(() => {
  const API = "/label/api";
  const CSRF_COOKIE = "mint_label_csrf";
  const ACCEPT_KEY = " "; // Space accepts the model's suggestion (shown on the button)
  const root = document.documentElement;
  const state = {
    lang: root.dataset.lang === "zh" ? "zh" : "en",
    strings: { en: {}, zh: {} },
    me: null,
    projects: [],
    project: null, // the open project (from /projects)
    item: null,
    chosen: new Set(), // multilabel: labels turned on
    shownAt: 0,
    busy: false,
    screen: "none",
    said: null, // the last message, by key
  };
  const { $ } = window.Mint;

  // -- words ------------------------------------------------------------------------------
  function t(key, vars) {
    return Mint.word(state.strings, state.lang, key, vars);
  }

  function applyStrings() {
    Mint.translatePage(state.lang, t);
    renderHelp();
    if (state.said) say(state.said.key, state.said.isError);
    if (state.screen === "projects") renderProjects();
    if (state.screen === "labeling") {
      renderProjectHead();
      if (state.item) renderItem(false);
    }
  }

  async function setLanguage(lang) {
    state.lang = lang;
    localStorage.setItem("mint_label_lang", lang);
    applyStrings();
    if (state.me) {
      try {
        await api("POST", "/me/language", { language: lang }); // remembered for next time
      } catch (e) {
        flash(e.message, true);
      }
    }
  }

  // -- talking to the server ----------------------------------------------------------------
  class SignedOut extends Error {}

  const request = (method, url, body) =>
    Mint.request(url, { method, body, csrfCookie: CSRF_COOKIE });

  // /label/api: a 401 there means the session ended (signed out elsewhere, or revoked)
  async function api(method, path, body) {
    try {
      return await request(method, API + path, body);
    } catch (e) {
      if (e instanceof Mint.ApiError && e.status === 401) throw new SignedOut(e.message);
      throw e;
    }
  }

  const projectPath = (name) => `/projects/${encodeURIComponent(name)}`;

  function flash(message, isError) {
    state.said = null;
    const el = $("status");
    el.textContent = message;
    el.classList.toggle("error", !!isError);
  }

  // A message in the page's words, said again in the other language after a switch.
  function say(key, isError) {
    flash(t(key), isError);
    state.said = { key, isError };
  }

  async function guarded(fn) {
    if (state.busy) return;
    state.busy = true;
    try {
      await fn();
    } catch (e) {
      if (e instanceof SignedOut) {
        state.me = null;
        showSignIn();
        say("signed_out", true);
      } else {
        flash(`${t("error")}: ${e.message}`, true);
      }
    } finally {
      state.busy = false;
    }
  }

  // -- screens ------------------------------------------------------------------------------
  function show(screen) {
    // a focused field of the screen being hidden (the token box) would keep taking keys
    // until the browser gets round to moving focus away: drop it now
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    state.screen = screen;
    $("sign-in").hidden = screen !== "sign-in";
    $("projects").hidden = screen !== "projects";
    $("labeling").hidden = screen !== "labeling";
    $("sign-out").hidden = !state.me;
    $("who").textContent = state.me ? state.me.name : "";
  }

  function showSignIn() {
    show("sign-in");
    $("token").focus();
  }

  async function signIn(token) {
    try {
      state.me = await request("POST", "/label/session", { token });
    } catch (e) {
      say("bad_token", true);
      return;
    }
    if (state.me.language !== state.lang) {
      state.lang = state.me.language;
      applyStrings();
    }
    flash("");
    await openProjects();
  }

  async function signOut() {
    await request("POST", "/label/session/logout");
    state.me = null;
    state.item = null;
    showSignIn();
  }

  async function openProjects() {
    state.projects = await api("GET", "/projects");
    state.project = null;
    state.item = null;
    show("projects");
    renderProjects();
    if (state.projects.length === 1) await openProject(state.projects[0].name);
  }

  function renderProjects() {
    const list = $("project-list");
    list.replaceChildren();
    state.projects.forEach((p, i) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.project = p.name;
      if (i < 9) b.append(kbd(String(i + 1)));
      b.append(` ${p.name} `);
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = `${t("kind_" + p.kind)} · ${t("progress", p.progress)} · ${t("mine", p.progress)}`;
      b.append(meta);
      b.addEventListener("click", () => guarded(() => openProject(p.name)));
      li.append(b);
      list.append(li);
    });
    $("no-projects").hidden = state.projects.length > 0;
  }

  function skipped(name) {
    return JSON.parse(sessionStorage.getItem(`mint_label_skip:${name}`) || "[]");
  }

  async function openProject(name) {
    state.project = state.projects.find((p) => p.name === name);
    show("labeling");
    renderProjectHead();
    $("guidelines").open = state.project.progress.mine === 0; // read them before the first
    await nextItem();
  }

  function renderProjectHead() {
    const p = state.project;
    $("project-name").textContent = p.name;
    $("project-kind").textContent = t("kind_" + p.kind);
    $("guidelines-text").textContent = p.guidelines || t("no_guidelines");
    renderProgress(p.progress);
  }

  function renderProgress(progress) {
    state.project.progress = progress;
    $("progress-bar").max = Math.max(progress.items, 1);
    $("progress-bar").value = progress.finished;
    $("progress-text").textContent = t("progress", progress);
    $("mine-text").textContent = t("mine", progress);
  }

  async function nextItem() {
    const p = state.project;
    const res = await api("POST", projectPath(p.name) + "/next", { skip: skipped(p.name) });
    renderProgress(res.progress);
    state.item = res.item;
    $("item-box").hidden = !res.item;
    $("done").hidden = !!res.item;
    if (res.item) renderItem(true);
  }

  // -- one item -------------------------------------------------------------------------------
  function kbd(text) {
    const k = document.createElement("kbd");
    k.textContent = text;
    return k;
  }

  function asText(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ");
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  }

  function button(label, key, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    if (key) b.append(kbd(key), " ");
    b.append(label);
    b.addEventListener("click", onClick);
    return b;
  }

  function renderItem(fresh) {
    const p = state.project;
    const item = state.item;
    if (fresh) {
      state.chosen = new Set();
      state.shownAt = performance.now();
      // a button still focused from the last item would also take Space or Enter
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    }
    $("item-title").textContent = t("item", { position: item.position + 1 });
    const fields = $("fields");
    fields.replaceChildren();
    const names = Object.keys(item.content);
    fields.classList.toggle("side-by-side", p.kind === "preference");
    for (const name of names) {
      const box = document.createElement("section");
      box.className = "field";
      const h = document.createElement("h3");
      h.textContent = name;
      const body = document.createElement("div");
      body.className = "text";
      body.textContent = asText(item.content[name]);
      box.append(h, body);
      fields.append(box);
    }
    const has = item.suggestion !== null && item.suggestion !== undefined;
    $("suggestion").hidden = !has;
    $("no-suggestion").hidden = has;
    if (has) {
      $("suggestion-value").textContent = asText(item.suggestion);
      $("suggestion-confidence").textContent =
        item.confidence === null ? "" : `${t("confidence")} ${Math.round(item.confidence * 100)}%`;
    }
    renderControls(fresh);
  }

  function renderControls(fresh) {
    const p = state.project;
    const box = $("controls");
    const oldText = $("correction");
    const draft = oldText && !fresh ? oldText.value : null;
    box.replaceChildren();
    box.classList.toggle("column", p.kind === "correction");
    if (p.kind === "classification") {
      p.labels.forEach((label, i) =>
        box.append(button(label, i < 9 ? String(i + 1) : "", () => submit(label))),
      );
    } else if (p.kind === "multilabel") {
      p.labels.forEach((label, i) => {
        const b = button(label, i < 9 ? String(i + 1) : "", () => toggle(label));
        b.dataset.label = label;
        b.setAttribute("aria-pressed", String(state.chosen.has(label)));
        box.append(b);
      });
      box.append(submitButton("Enter", () => submit([...state.chosen])));
    } else if (p.kind === "rating") {
      for (let n = 1; n <= 5; n++) box.append(button(String(n), String(n), () => submit(n)));
    } else if (p.kind === "preference") {
      box.append(button(t("prefer_a"), "A", () => submit("A")));
      box.append(button(t("prefer_b"), "B", () => submit("B")));
    } else if (p.kind === "correction") {
      const label = document.createElement("label");
      label.htmlFor = "correction";
      label.textContent = t("correction_label");
      const area = document.createElement("textarea");
      area.id = "correction";
      area.value = draft ?? correctionStart(state.item);
      box.append(label, area, submitButton("Ctrl+Enter", () => submit(area.value)));
    }
  }

  function submitButton(key, onClick) {
    const b = button(t("submit"), key, onClick);
    b.classList.add("primary");
    b.id = "submit";
    return b;
  }

  // The model's answer to correct: its suggestion, else the item's answer field (or last).
  function correctionStart(item) {
    if (typeof item.suggestion === "string") return item.suggestion;
    const c = item.content;
    const key = "answer" in c ? "answer" : Object.keys(c).pop();
    return key ? asText(c[key]) : "";
  }

  function toggle(label) {
    if (state.chosen.has(label)) state.chosen.delete(label);
    else state.chosen.add(label);
    for (const b of $("controls").querySelectorAll("button[data-label]"))
      b.setAttribute("aria-pressed", String(state.chosen.has(b.dataset.label)));
  }

  function submit(value) {
    return guarded(async () => {
      if (!state.item) return;
      const seconds = Math.min((performance.now() - state.shownAt) / 1000, 86400);
      const path = `${projectPath(state.project.name)}/items/${state.item.id}/label`;
      const res = await api("POST", path, { value, seconds });
      const key = { accepted: "saved_accepted", overrode: "saved_overrode" }[res.suggestion_use];
      say(key || "saved");
      renderProgress(res.progress);
      await nextItem();
    });
  }

  function accept() {
    if (state.item && state.item.suggestion !== null && state.item.suggestion !== undefined)
      submit(state.item.suggestion);
  }

  function skip() {
    return guarded(async () => {
      if (!state.item) return;
      const name = state.project.name;
      const list = skipped(name);
      list.push(state.item.id);
      sessionStorage.setItem(`mint_label_skip:${name}`, JSON.stringify(list));
      const res = await api("POST", `${projectPath(name)}/items/${state.item.id}/skip`);
      renderProgress(res.progress);
      say("skipped");
      await nextItem();
    });
  }

  // -- help -----------------------------------------------------------------------------------
  function shortcuts() {
    const kind = state.project ? state.project.kind : null;
    const rows = [];
    if (state.screen === "projects") rows.push(["1–9", t("k_open_project")]);
    if (kind === "classification") rows.push(["1–9", t("k_digits_classification")]);
    if (kind === "multilabel")
      rows.push(["1–9", t("k_digits_multilabel")], ["Enter", t("k_enter_multilabel")]);
    if (kind === "rating") rows.push(["1–5", t("k_digits_rating")]);
    if (kind === "preference") rows.push(["A / B, ← / →", t("k_preference")]);
    if (kind === "correction") rows.push(["E", t("k_edit")], ["Ctrl+Enter", t("k_ctrl_enter")]);
    if (kind) rows.push([t("accept_key"), t("k_accept")], ["S", t("k_skip")], ["P", t("k_projects")]);
    rows.push(["?", t("k_help")], ["L", t("k_language")], ["Esc", t("k_escape")]);
    return rows;
  }

  function renderHelp() {
    const table = $("help-table");
    table.replaceChildren();
    for (const [key, what] of shortcuts()) {
      const tr = document.createElement("tr");
      const a = document.createElement("td");
      a.append(kbd(key));
      const b = document.createElement("td");
      b.textContent = what;
      tr.append(a, b);
      table.append(tr);
    }
  }

  function toggleHelp(open) {
    renderHelp();
    $("help").hidden = !(open ?? $("help").hidden);
  }

  // -- keys -----------------------------------------------------------------------------------
  function onKey(e) {
    if (e.repeat || e.altKey || e.isComposing) return;
    const inText = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement;
    if (e.key === "Escape") {
      if (!$("help").hidden) toggleHelp(false);
      else if (inText) e.target.blur();
      return;
    }
    if (inText) {
      if (e.target.id === "correction" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submit(e.target.value);
      }
      return;
    }
    if (e.ctrlKey || e.metaKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === "?") {
      e.preventDefault();
      return toggleHelp();
    }
    if (!$("help").hidden) return; // the help covers the page: its keys wait
    if (key === "l") return void setLanguage(state.lang === "zh" ? "en" : "zh");
    if (state.screen === "projects") {
      const n = Number(key);
      if (n >= 1 && n <= 9 && state.projects[n - 1])
        guarded(() => openProject(state.projects[n - 1].name));
      return;
    }
    if (state.screen !== "labeling") return;
    if (key === "p") return void guarded(openProjects);
    if (!state.item) return;
    const kind = state.project.kind;
    const labels = state.project.labels;
    if (key === ACCEPT_KEY) {
      e.preventDefault(); // Space would also scroll or press the focused button
      return accept();
    }
    if (key === "s") return void skip();
    const n = Number(key);
    const digit = key >= "1" && key <= "9" ? n : 0;
    if (kind === "classification" && digit && labels[digit - 1]) return void submit(labels[digit - 1]);
    if (kind === "multilabel" && digit && labels[digit - 1]) return toggle(labels[digit - 1]);
    if (kind === "multilabel" && key === "Enter") {
      e.preventDefault();
      return void submit([...state.chosen]);
    }
    if (kind === "rating" && digit >= 1 && digit <= 5) return void submit(digit);
    if (kind === "preference" && (key === "a" || key === "ArrowLeft")) return void submit("A");
    if (kind === "preference" && (key === "b" || key === "ArrowRight")) return void submit("B");
    if (kind === "correction" && key === "e") {
      e.preventDefault();
      $("correction").focus();
    }
  }

  // -- start ----------------------------------------------------------------------------------
  async function start() {
    state.strings = await (await fetch("/label/static/i18n.json")).json();
    const saved = localStorage.getItem("mint_label_lang");
    if (root.dataset.signedIn !== "true" && (saved === "en" || saved === "zh")) state.lang = saved;
    applyStrings();
    $("sign-in-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const token = $("token").value.trim();
      $("token").value = "";
      guarded(() => signIn(token));
    });
    $("lang-toggle").addEventListener("click", () => setLanguage(state.lang === "zh" ? "en" : "zh"));
    $("help-toggle").addEventListener("click", () => toggleHelp());
    $("show-help").addEventListener("click", () => toggleHelp(true));
    $("help").addEventListener("click", (e) => e.target === $("help") && toggleHelp(false));
    $("sign-out").addEventListener("click", () => guarded(signOut));
    $("to-projects").addEventListener("click", () => guarded(openProjects));
    $("accept").addEventListener("click", accept);
    $("skip").addEventListener("click", skip);
    document.addEventListener("keydown", onKey);
    if (root.dataset.signedIn === "true") {
      await guarded(async () => {
        state.me = await api("GET", "/me");
        await openProjects();
      });
    } else {
      showSignIn();
    }
    root.dataset.ready = "true"; // the page is wired (tests wait for this)
  }

  start();
})();
