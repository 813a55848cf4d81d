// What the console and the annotator page both need, kept in one place so the two pages
// talk to the server and look up their words the same way: calling the JSON API with the
// session's CSRF token and reading its OpenAI-shaped errors, filling in i18n.json strings
// (English when a word is missing), and grouping digits. Plain JS, no build step; each
// page loads it first, from /static/common/mint.js, and finds it as window.Mint.
"use strict";

(() => {
  const root = document.documentElement;
  const GROUPING = /\B(?=(\d{3})+(?!\d))/g;

  const $ = (id) => document.getElementById(id);

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k === name) return decodeURIComponent(v.join("="));
    }
    return "";
  }

  // An answer that is not 2xx: the server's message (from {"error": {...}}) or "HTTP 502"
  // when it sent none, with the status and the error's code.
  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // One call on the page's session cookie. The double-submit CSRF token is read from
  // `csrfCookie` on every call (signing in again changes it). JSON answers come back
  // parsed, 204 as null; anything else not 2xx throws an ApiError.
  async function request(url, { method = "GET", body, csrfCookie } = {}) {
    const headers = { "X-CSRF-Token": cookie(csrfCookie) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    const type = res.headers.get("content-type") || "";
    const data = type.includes("json") ? await res.json().catch(() => ({})) : await res.text();
    if (!res.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(error.message || `HTTP ${res.status}`, res.status, error.code);
    }
    return data;
  }

  // "{name}" in text, filled from vars
  const fill = (text, vars) =>
    Object.entries(vars || {}).reduce((t, [k, v]) => t.replaceAll(`{${k}}`, String(v)), text);

  // A word from i18n.json ({en: {...}, zh: {...}}): the language's, else English, else the
  // key itself, so a missing word shows as its key rather than as nothing.
  const word = (strings, lang, key, vars) =>
    fill(strings[lang][key] ?? strings.en[key] ?? key, vars);

  // The page's fixed words in `lang`: <html lang>, the title, every [data-i18n] text and
  // every [data-i18n-label] aria-label and tooltip, looked up through t(key).
  function translatePage(lang, t) {
    root.lang = lang === "zh" ? "zh-CN" : "en";
    root.dataset.lang = lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-label]")) {
      el.setAttribute("aria-label", t(el.dataset.i18nLabel));
      el.title = t(el.dataset.i18nLabel);
    }
  }

  // 1234567 -> "1,234,567"
  const grouped = (n) => String(n).replace(GROUPING, ",");

  window.Mint = { $, cookie, ApiError, request, fill, word, translatePage, grouped };
})();
