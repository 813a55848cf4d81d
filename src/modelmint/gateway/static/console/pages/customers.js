// Customers: channels (platform only) and tenants; per tenant its wallet, budgets, API
// keys (create: the key is shown once; revoke) and invoices (view as HTML, download CSV).
// Everything through /admin/v1, which answers a channel's key only about its own tenants.
"use strict";

(() => {
  const W = {
    title: { en: "Customers", zh: "客户" },
    channels: { en: "Channels", zh: "渠道" },
    tenants: { en: "Tenants", zh: "租户" },
    name: { en: "Name", zh: "名称" },
    channel: { en: "Channel", zh: "渠道" },
    direct: { en: "direct", zh: "直客" },
    wholesaleBook: { en: "Wholesale book", zh: "批发价目表" },
    created: { en: "Created", zh: "创建时间" },
    billing: { en: "Billing", zh: "计费方式" },
    plan: { en: "Plan", zh: "套餐" },
    status: { en: "Status", zh: "状态" },
    active: { en: "active", zh: "正常" },
    suspended: { en: "suspended", zh: "已暂停" },
    revoked: { en: "revoked", zh: "已吊销" },
    expired: { en: "expired", zh: "已过期" },
    prepaid: { en: "prepaid", zh: "预付费" },
    postpaid: { en: "postpaid", zh: "后付费" },
    limits: { en: "Limits (rpm / tpm)", zh: "限额（每分钟请求 / Token）" },
    none: { en: "none", zh: "无" },
    back: { en: "← All customers", zh: "← 全部客户" },
    wallet: { en: "Wallet", zh: "钱包" },
    balance: { en: "Balance", zh: "余额" },
    paid: { en: "Paid", zh: "已付" },
    credit: { en: "Credit", zh: "赠送额度" },
    entries: { en: "Entries", zh: "流水" },
    kind: { en: "Kind", zh: "类型" },
    amount: { en: "Amount", zh: "金额" },
    note: { en: "Note", zh: "备注" },
    by: { en: "By", zh: "操作人" },
    expires: { en: "Expires", zh: "到期" },
    topUp: { en: "Top up", zh: "充值" },
    topUpAmount: { en: "Amount (e.g. 25.00)", zh: "金额（例如 25.00）" },
    postpaidWallet: { en: "Postpaid: billed by invoice, no wallet.", zh: "后付费：按发票结算，没有钱包。" },
    budgets: { en: "Budgets", zh: "预算" },
    period: { en: "Period", zh: "周期" },
    hard: { en: "Hard", zh: "硬限制" },
    yes: { en: "yes", zh: "是" },
    no: { en: "no", zh: "否" },
    spent: { en: "Spent", zh: "已用" },
    held: { en: "Held", zh: "预留" },
    key: { en: "Key", zh: "密钥" },
    keys: { en: "API keys", zh: "API 密钥" },
    prefix: { en: "Prefix", zh: "前缀" },
    models: { en: "Models", zh: "模型" },
    all: { en: "all", zh: "全部" },
    keyName: { en: "New key's name", zh: "新密钥名称" },
    createKey: { en: "Create key", zh: "创建密钥" },
    revoke: { en: "Revoke", zh: "吊销" },
    confirmRevoke: { en: "Really revoke?", zh: "确认吊销？" },
    revokedKey: { en: "Key {prefix} revoked: refused from the next request on.", zh: "密钥 {prefix} 已吊销，下一次请求起将被拒绝。" },
    newKeyTitle: { en: "Your new API key", zh: "新的 API 密钥" },
    newKeyHint: {
      en: "Copy it now: it is shown this once and cannot be shown again.",
      zh: "请立即复制：它只显示这一次，之后无法再次查看。",
    },
    copy: { en: "Copy", zh: "复制" },
    copied: { en: "Copied", zh: "已复制" },
    saved: { en: "I have stored it", zh: "我已保存" },
    invoices: { en: "Invoices", zh: "发票" },
    number: { en: "Number", zh: "编号" },
    total: { en: "Total", zh: "合计" },
    view: { en: "View", zh: "查看" },
    csv: { en: "CSV", zh: "CSV" },
    noInvoices: { en: "No invoices yet (mint invoices generate --period YYYY-MM).", zh: "暂无发票（mint invoices generate --period YYYY-MM）。" },
  };

  const { el, stat, fill, when: date } = MintConsole.dom; // shared DOM and text helpers (console.js)
  const enc = encodeURIComponent;

  function link(text, href) {
    const a = el("a", "", text);
    a.href = href;
    return a;
  }

  function section(parent, title, id) {
    const box = el("section");
    box.id = id;
    box.append(el("h2", "", title));
    parent.append(box);
    return box;
  }

  // -- the list ------------------------------------------------------------------------------
  async function renderList(root, ctx) {
    const platform = ctx.scope.kind === "platform";
    const [channels, tenants] = await Promise.all([
      platform ? ctx.api("channels") : Promise.resolve(null),
      ctx.api("tenants"),
    ]);
    if (channels) {
      const box = section(root, ctx.t(W.channels), "channels");
      ctx.table(
        box,
        [
          { key: "name", label: W.name },
          { key: "effective_wholesale_book", label: W.wholesaleBook },
          { key: "created_at", label: W.created, format: date },
        ],
        channels.data,
      );
    }
    const box = section(root, ctx.t(W.tenants), "tenants");
    ctx.table(
      box,
      [
        { key: "name", label: W.name, format: (v) => link(v, `#/customers/tenants/${enc(v)}`) },
        ...(platform ? [{ key: "channel", label: W.channel, format: (v) => v ?? ctx.t(W.direct) }] : []),
        { key: "billing", label: W.billing, format: (v) => ctx.t(W[v] || v) },
        { key: "effective_plan", label: W.plan },
        { key: "suspended", label: W.status, format: (v) => statusText(ctx, v ? "suspended" : "active") },
        { key: "created_at", label: W.created, format: date },
      ],
      tenants.data,
    );
  }

  function statusText(ctx, status) {
    const span = el("span", `status-${status}`, ctx.t(W[status] || status));
    return span;
  }

  // -- one tenant ----------------------------------------------------------------------------
  async function renderTenant(root, ctx, name) {
    // a tenant outside this key's scope is a 404: the shell shows "not found", no data
    const tenant = await ctx.api(`tenants/${enc(name)}`);
    const [keys, budgets, invoices, wallet] = await Promise.all([
      ctx.api(`keys?tenant=${enc(name)}`),
      ctx.api(`budgets?tenant=${enc(name)}`),
      ctx.api("invoices"),
      tenant.billing === "prepaid" ? ctx.api(`tenants/${enc(name)}/wallet`) : Promise.resolve(null),
    ]);
    root.append(link(ctx.t(W.back), "#/customers"));
    const head = el("div", "card");
    head.id = "tenant";
    const h = el("h2", "", tenant.name);
    h.id = "tenant-name";
    head.append(h);
    const facts = el("dl", "facts");
    const fact = (label, value) => {
      const dd = el("dd");
      if (value instanceof Node) dd.append(value);
      else dd.textContent = value;
      facts.append(el("dt", "", ctx.t(label)), dd);
    };
    fact(W.channel, tenant.channel ?? ctx.t(W.direct));
    fact(W.billing, ctx.t(W[tenant.billing] || tenant.billing));
    fact(W.plan, tenant.effective_plan);
    fact(W.limits, `${tenant.rpm_limit ?? ctx.t(W.none)} / ${tenant.tpm_limit ?? ctx.t(W.none)}`);
    fact(W.status, statusText(ctx, tenant.suspended ? "suspended" : "active"));
    head.append(facts);
    root.append(head);

    renderWallet(root, ctx, tenant, wallet);
    renderBudgets(root, ctx, budgets.data);
    renderKeys(root, ctx, tenant, keys.data);
    renderInvoices(root, ctx, invoices.data.filter((i) => i.bill_to === tenant.name));
  }

  function renderWallet(root, ctx, tenant, wallet) {
    const box = section(root, ctx.t(W.wallet), "wallet");
    if (!wallet) {
      box.append(el("p", "hint", ctx.t(W.postpaidWallet)));
      return;
    }
    const cards = el("div", "cards");
    cards.append(
      stat(ctx.t(W.balance), ctx.money(wallet.balance_micros), "wallet-balance"),
      stat(ctx.t(W.paid), ctx.money(wallet.paid_micros), "wallet-paid"),
      stat(ctx.t(W.credit), ctx.money(wallet.credit_micros), "wallet-credit"),
    );
    box.append(cards);
    // a top-up: money typed as text, turned into micro-units without a float
    const form = el("form", "row");
    const amount = el("input");
    amount.id = "topup-amount";
    amount.inputMode = "decimal";
    amount.placeholder = ctx.t(W.topUpAmount);
    amount.setAttribute("aria-label", ctx.t(W.topUpAmount));
    const button = el("button", "", ctx.t(W.topUp));
    button.type = "submit";
    form.append(amount, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const micros = toMicros(amount.value);
      if (micros === null || micros <= 0) {
        ctx.notify(ctx.t({ en: "Write an amount such as 25.00.", zh: "请输入金额，例如 25.00。" }), true);
        return;
      }
      button.disabled = true;
      try {
        await ctx.api(`tenants/${enc(tenant.name)}/wallet/topups`, { method: "POST", body: { amount_micros: micros } });
        ctx.navigate(`#/customers/tenants/${enc(tenant.name)}`);
      } catch (e) {
        ctx.notify(e.message, true);
        button.disabled = false;
      }
    });
    box.append(el("h3", "", ctx.t(W.topUp)), form, el("h3", "", ctx.t(W.entries)));
    ctx.table(
      box,
      [
        { key: "created_at", label: W.created, format: date },
        { key: "kind", label: W.kind },
        { key: "amount_micros", label: W.amount, className: "num", format: ctx.money },
        { key: "expires_at", label: W.expires, format: date },
        { key: "note", label: W.note },
        { key: "actor", label: W.by },
      ],
      [...wallet.entries].reverse(),
    );
  }

  function toMicros(text) {
    const m = /^\s*(\d{1,9})(?:[.,](\d{1,6}))?\s*$/.exec(text);
    if (!m) return null;
    return Number(m[1]) * 1e6 + Number((m[2] || "").padEnd(6, "0") || 0);
  }

  function renderBudgets(root, ctx, budgets) {
    const box = section(root, ctx.t(W.budgets), "budgets");
    ctx.table(
      box,
      [
        { key: "key_prefix", label: W.key, format: (v) => v ?? ctx.t(W.all) },
        { key: "amount_micros", label: W.amount, className: "num", format: ctx.money },
        { key: "period", label: W.period },
        { key: "hard", label: W.hard, format: (v) => ctx.t(v ? W.yes : W.no) },
        { key: "spent_micros", label: W.spent, className: "num", format: ctx.money },
        { key: "held_micros", label: W.held, className: "num", format: ctx.money },
      ],
      budgets,
    );
  }

  function renderKeys(root, ctx, tenant, keys) {
    const box = section(root, ctx.t(W.keys), "keys");
    const form = el("form", "row");
    const name = el("input");
    name.id = "new-key-name";
    name.maxLength = 200;
    name.placeholder = ctx.t(W.keyName);
    name.setAttribute("aria-label", ctx.t(W.keyName));
    const create = el("button", "primary", ctx.t(W.createKey));
    create.id = "create-key";
    create.type = "submit";
    form.append(name, create);
    box.append(form, el("p"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      create.disabled = true;
      try {
        const made = await ctx.api("keys", { method: "POST", body: { tenant: tenant.name, name: name.value.trim() } });
        showNewKey(ctx, made, () => ctx.navigate(`#/customers/tenants/${enc(tenant.name)}`));
      } catch (e) {
        ctx.notify(e.message, true);
        create.disabled = false;
      }
    });
    ctx.table(
      box,
      [
        { key: "prefix", label: W.prefix },
        { key: "name", label: W.name },
        { key: "status", label: W.status, format: (v) => statusText(ctx, v) },
        { key: "allowed_models", label: W.models, format: (v) => (v.length ? v.join(", ") : ctx.t(W.all)) },
        { key: "created_at", label: W.created, format: date },
        { key: "expires_at", label: W.expires, format: date },
        { key: "prefix", label: "", format: (prefix, row) => (row.status === "active" ? revokeButton(ctx, tenant, prefix) : "") },
      ],
      keys,
    ).id = "keys-table";
  }

  // two clicks, in the page (no browser confirm dialog): Revoke, then "Really revoke?"
  function revokeButton(ctx, tenant, prefix) {
    const b = el("button", "danger", ctx.t(W.revoke));
    b.type = "button";
    b.dataset.prefix = prefix;
    b.addEventListener("click", async () => {
      if (!b.classList.contains("confirm")) {
        b.classList.add("confirm");
        b.textContent = ctx.t(W.confirmRevoke);
        return;
      }
      b.disabled = true;
      try {
        await ctx.api(`keys/${enc(prefix)}/revoke`, { method: "POST" });
        ctx.navigate(`#/customers/tenants/${enc(tenant.name)}`);
        ctx.notify(fill(ctx.t(W.revokedKey), { prefix }), false);
      } catch (e) {
        ctx.notify(e.message, true);
        b.disabled = false;
      }
    });
    return b;
  }

  function showNewKey(ctx, made, onClose) {
    const dialog = el("dialog");
    dialog.id = "key-dialog";
    dialog.setAttribute("aria-labelledby", "key-dialog-title");
    const title = el("h2", "", ctx.t(W.newKeyTitle));
    title.id = "key-dialog-title";
    const secret = el("p", "secret", made.key);
    secret.id = "new-key-value";
    const copy = el("button", "", ctx.t(W.copy));
    copy.id = "copy-key";
    copy.type = "button";
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(made.key);
      } catch (e) {
        // no clipboard (plain http): select the text so Ctrl+C copies it
        const range = document.createRange();
        range.selectNodeContents(secret);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        document.execCommand && document.execCommand("copy");
      }
      copy.textContent = ctx.t(W.copied);
    });
    const close = el("button", "primary", ctx.t(W.saved));
    close.id = "close-key-dialog";
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove(); // the key leaves the page with the dialog
      onClose();
    });
    const actions = el("div", "row");
    actions.append(copy, close);
    dialog.append(title, el("p", "hint", ctx.t(W.newKeyHint)), secret, actions);
    document.body.append(dialog);
    dialog.showModal();
  }

  function renderInvoices(root, ctx, invoices) {
    const box = section(root, ctx.t(W.invoices), "invoices");
    if (!invoices.length) {
      box.append(el("p", "hint", ctx.t(W.noInvoices)));
      return;
    }
    ctx.table(
      box,
      [
        { key: "number", label: W.number },
        { key: "period", label: W.period },
        { key: "total_micros", label: W.total, className: "num", format: ctx.money },
        {
          key: "number",
          label: "",
          format: (number) => {
            const span = el("span", "row");
            const view = link(ctx.t(W.view), `/admin/v1/invoices/${enc(number)}/html`);
            view.target = "_blank";
            view.rel = "noopener";
            const csv = link(ctx.t(W.csv), `/admin/v1/invoices/${enc(number)}/csv`);
            csv.setAttribute("download", `${number}.csv`);
            span.append(view, csv);
            return span;
          },
        },
      ],
      invoices,
    );
  }

  MintConsole.page("customers", {
    title: W.title,
    platformOnly: false,
    async render(root, ctx, params) {
      if (params[0] === "tenants" && params[1]) return renderTenant(root, ctx, params[1]);
      if (params.length) {
        const e = new Error("not found");
        e.status = 404;
        throw e;
      }
      return renderList(root, ctx);
    },
  });
})();
