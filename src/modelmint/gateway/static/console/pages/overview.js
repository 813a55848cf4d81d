// Overview: requests, tokens, revenue, cost and margin over time (from
// /admin/v1/usage/series), the same split by model, channel or tenant, totals, and (for
// the platform) latency percentiles and error rates from /admin/v1/serving/metrics.
"use strict";

(() => {
  const W = {
    title: { en: "Overview", zh: "概览" },
    range24h: { en: "24 hours", zh: "24 小时" },
    range7d: { en: "7 days", zh: "7 天" },
    range30d: { en: "30 days", zh: "30 天" },
    groupBy: { en: "Split by", zh: "拆分维度" },
    model: { en: "Model", zh: "模型" },
    channel: { en: "Channel", zh: "渠道" },
    tenant: { en: "Tenant", zh: "租户" },
    requests: { en: "Requests", zh: "请求数" },
    tokens: { en: "Tokens", zh: "Token 数" },
    promptTokens: { en: "Prompt tokens", zh: "输入 Token" },
    completionTokens: { en: "Completion tokens", zh: "输出 Token" },
    revenue: { en: "Revenue", zh: "收入" },
    cost: { en: "Cost", zh: "成本" },
    margin: { en: "Margin", zh: "毛利" },
    money: { en: "Revenue, cost and margin", zh: "收入、成本与毛利" },
    inOut: { en: "in {in} · out {out}", zh: "输入 {in} · 输出 {out}" },
    platformRevenue: {
      en: "Platform revenue: retail of direct tenants plus wholesale of channel tenants.",
      zh: "平台收入：直客的零售额加渠道租户的批发额。",
    },
    channelRevenue: {
      en: "Revenue: what your tenants were billed. Cost: what you pay the platform (wholesale).",
      zh: "收入：向你的租户收取的费用。成本：你支付给平台的批发费用。",
    },
    computeCost: { en: "Cost: compute time of the output tokens.", zh: "成本：输出 Token 的算力时间。" },
    unknownCost: {
      en: "Cost is unknown: set MINT_HARDWARE_COST_PER_HOUR on the server.",
      zh: "成本未知：请在服务器上设置 MINT_HARDWARE_COST_PER_HOUR。",
    },
    unmeasured: { en: "Not measured (costed at zero): {models}", zh: "未测吞吐（成本按零计）：{models}" },
    byGroup: { en: "By {group}", zh: "按{group}" },
    revenueBy: { en: "Revenue by {group}", zh: "按{group}的收入" },
    requestsBy: { en: "Requests by {group}", zh: "按{group}的请求数" },
    name: { en: "Name", zh: "名称" },
    latency: { en: "Latency and errors", zh: "延迟与错误" },
    latencyHint: {
      en: "Since this server process started; percentiles estimated from histogram buckets.",
      zh: "自本服务进程启动以来；分位数由直方图分桶估算。",
    },
    ttft: { en: "TTFT p50 / p95 / p99", zh: "首 Token p50 / p95 / p99" },
    itl: { en: "ITL p50 / p95 / p99", zh: "Token 间隔 p50 / p95 / p99" },
    e2e: { en: "End-to-end p50 / p95 / p99", zh: "端到端 p50 / p95 / p99" },
    errors: { en: "Errors", zh: "错误数" },
    errorRate: { en: "Error rate", zh: "错误率" },
    outcomes: { en: "Outcomes", zh: "结果分布" },
    noServing: { en: "No requests served yet.", zh: "尚未处理任何请求。" },
  };
  const RANGES = {
    "24h": { bucket: "hour", ms: 24 * 3600e3, label: W.range24h },
    "7d": { bucket: "day", ms: 7 * 86400e3, label: W.range7d },
    "30d": { bucket: "day", ms: 30 * 86400e3, label: W.range30d },
  };
  const choice = { range: "24h", group: "model" }; // kept while the console is open

  const { el, stat, fill } = MintConsole.dom; // shared DOM and text helpers (console.js)

  function label(iso, bucket) {
    // buckets are UTC: "14:00" for hours, "01-15" for days
    return bucket === "hour" ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10);
  }

  function segmented(ctx, options, current, onPick) {
    const box = el("div", "segmented");
    for (const [value, words] of options) {
      const b = el("button", "", ctx.t(words));
      b.type = "button";
      b.dataset.value = value;
      b.setAttribute("aria-pressed", String(value === current));
      b.addEventListener("click", () => onPick(value));
      box.append(b);
    }
    return box;
  }

  function chartCard(ctx, parent, title, spec) {
    const card = el("div", "card");
    card.append(el("h3", "", title));
    const area = el("div");
    card.append(area);
    parent.append(card);
    ctx.chart(area, { title, ...spec });
    return card;
  }

  const seconds = (v) => (v === null || v === undefined ? "—" : v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`);
  const triple = (l) => `${seconds(l.p50_s)} / ${seconds(l.p95_s)} / ${seconds(l.p99_s)}`;

  async function render(root, ctx) {
    const platform = ctx.scope.kind === "platform";
    if (!platform && choice.group === "channel") choice.group = "model";
    const toolbar = el("div", "toolbar");
    const body = el("div");
    root.append(toolbar, body);

    const rangeBox = segmented(
      ctx,
      Object.entries(RANGES).map(([k, r]) => [k, r.label]),
      choice.range,
      (v) => {
        choice.range = v;
        ctx.navigate("#/overview");
      },
    );
    rangeBox.id = "range";
    const groups = [["model", W.model], ...(platform ? [["channel", W.channel]] : []), ["tenant", W.tenant]];
    const groupSelect = el("select");
    groupSelect.id = "group";
    groupSelect.setAttribute("aria-label", ctx.t(W.groupBy));
    for (const [value, words] of groups) {
      const o = el("option", "", ctx.t(words));
      o.value = value;
      o.selected = value === choice.group;
      groupSelect.append(o);
    }
    groupSelect.addEventListener("change", () => {
      choice.group = groupSelect.value;
      ctx.navigate("#/overview");
    });
    toolbar.append(rangeBox, el("span", "hint", ctx.t(W.groupBy)), groupSelect);

    async function load() {
      const range = RANGES[choice.range];
      const until = new Date();
      const since = new Date(until.getTime() - range.ms);
      const query = new URLSearchParams({
        since: since.toISOString(),
        until: until.toISOString(),
        bucket: range.bucket,
        group: choice.group,
      });
      const [series, serving] = await Promise.all([
        ctx.api(`usage/series?${query}`),
        platform ? ctx.api("serving/metrics") : Promise.resolve(null),
      ]);
      if (!ctx.isLive || ctx.isLive()) draw(body, ctx, series, serving, range.bucket);
    }
    await load();
    ctx.poll(load, 15000);
  }

  function draw(body, ctx, series, serving, bucket) {
    body.replaceChildren();
    const total = series.total;
    const x = series.buckets.map((b) => label(b, bucket));
    const cards = el("div", "cards");
    cards.append(
      stat(ctx.t(W.requests), ctx.number(total.requests), "total-requests"),
      stat(
        ctx.t(W.tokens),
        ctx.number(total.total_tokens),
        "total-tokens",
        fill(ctx.t(W.inOut), { in: ctx.number(total.prompt_tokens), out: ctx.number(total.completion_tokens) }),
      ),
      stat(ctx.t(W.revenue), ctx.money(total.revenue_micros), "total-revenue"),
      stat(ctx.t(W.cost), ctx.money(total.cost_micros), "total-cost"),
      stat(ctx.t(W.margin), ctx.money(total.margin_micros), "total-margin"),
    );
    body.append(cards);
    const notes = el("p", "hint");
    notes.id = "basis";
    const parts = [series.perspective === "platform" ? ctx.t(W.platformRevenue) : ctx.t(W.channelRevenue)];
    if (series.expense_basis === "compute") parts.push(ctx.t(W.computeCost));
    if (series.expense_basis === "unknown") parts.push(ctx.t(W.unknownCost));
    if (series.unmeasured.length) parts.push(fill(ctx.t(W.unmeasured), { models: series.unmeasured.join(", ") }));
    notes.textContent = parts.join(" ");
    body.append(notes);

    const charts = el("div", "charts");
    body.append(charts);
    const pick = (points, key) => points.map((p) => p[key]);
    chartCard(ctx, charts, ctx.t(W.requests), {
      type: "bar",
      x,
      unit: "count",
      series: [{ name: ctx.t(W.requests), values: pick(series.totals, "requests") }],
    }).id = "chart-requests";
    chartCard(ctx, charts, ctx.t(W.tokens), {
      type: "bar",
      stacked: true,
      x,
      unit: "count",
      series: [
        { name: ctx.t(W.promptTokens), values: pick(series.totals, "prompt_tokens") },
        { name: ctx.t(W.completionTokens), values: pick(series.totals, "completion_tokens") },
      ],
    }).id = "chart-tokens";
    const moneySeries = [{ name: ctx.t(W.revenue), values: pick(series.totals, "revenue_micros") }];
    if (series.expense_basis !== "unknown") {
      moneySeries.push(
        { name: ctx.t(W.cost), values: pick(series.totals, "cost_micros") },
        { name: ctx.t(W.margin), values: pick(series.totals, "margin_micros") },
      );
    }
    chartCard(ctx, charts, ctx.t(W.money), { type: "line", x, unit: "money", series: moneySeries }).id = "chart-money";

    const groupName = ctx.t(W[series.group]);
    const lower = ctx.lang === "zh" ? groupName : groupName.toLowerCase();
    const top = series.groups.slice(0, 8); // the chart's palette; the table lists them all
    chartCard(ctx, charts, fill(ctx.t(W.revenueBy), { group: lower }), {
      type: "line",
      x,
      unit: "money",
      legend: true,
      series: top.map((g) => ({ name: g.name, values: pick(g.points, "revenue_micros") })),
    }).id = "chart-revenue-by";
    chartCard(ctx, charts, fill(ctx.t(W.requestsBy), { group: lower }), {
      type: "bar",
      stacked: true,
      x,
      unit: "count",
      legend: true,
      series: top.map((g) => ({ name: g.name, values: pick(g.points, "requests") })),
    }).id = "chart-requests-by";

    body.append(el("h2", "", fill(ctx.t(W.byGroup), { group: lower })));
    const byGroup = el("div");
    byGroup.id = "by-group";
    body.append(byGroup);
    const num = "num";
    ctx.table(
      byGroup,
      [
        { key: "name", label: groupName },
        { key: "requests", label: W.requests, className: num, format: ctx.number },
        { key: "prompt_tokens", label: W.promptTokens, className: num, format: ctx.number },
        { key: "completion_tokens", label: W.completionTokens, className: num, format: ctx.number },
        { key: "revenue_micros", label: W.revenue, className: num, format: ctx.money },
        { key: "cost_micros", label: W.cost, className: num, format: ctx.money },
        { key: "margin_micros", label: W.margin, className: num, format: ctx.money },
      ],
      series.groups.map((g) => ({ name: g.name, ...g.total })),
    );
    body.append(el("p", "hint", ctx.t({ en: "Times in UTC.", zh: "时间为 UTC。" })));

    if (serving) {
      body.append(el("h2", "", ctx.t(W.latency)), el("p", "hint", ctx.t(W.latencyHint)));
      const box = el("div");
      box.id = "serving";
      body.append(box);
      if (!serving.data.length) box.append(el("p", "hint", ctx.t(W.noServing)));
      else {
        ctx.table(
          box,
          [
            { key: "model", label: W.model },
            { key: "ttft", label: W.ttft, className: num, format: triple },
            { key: "itl", label: W.itl, className: num, format: triple },
            { key: "e2e", label: W.e2e, className: num, format: triple },
            { key: "requests", label: W.requests, className: num, format: ctx.number },
            { key: "errors", label: W.errors, className: num, format: ctx.number },
            {
              key: "error_rate",
              label: W.errorRate,
              className: num,
              format: (v) => (v === null ? "—" : `${(v * 100).toFixed(2)}%`),
            },
            {
              key: "outcomes",
              label: W.outcomes,
              format: (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ") || "—",
            },
          ],
          serving.data,
        );
      }
    }
  }

  MintConsole.page("overview", { title: W.title, platformOnly: false, render });
})();
