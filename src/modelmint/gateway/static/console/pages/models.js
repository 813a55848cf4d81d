// The Models page: every model with its versions (#/models) and one model (#/models/NAME):
// versions, the lineage tree (dataset -> run -> version -> children), aliases with promote
// and roll back, the live canary split, loss curves and evaluations with their reports.
// Everything shown is put on the page as text.
"use strict";

(() => {
  const W = {
    title: { en: "Models", zh: "模型" },
    serving: { en: "Served by this server", zh: "本服务器提供的模型" },
    served_name: { en: "Name clients send", zh: "客户端使用的名称" },
    answered_by: { en: "Answered by", zh: "应答版本" },
    canary: { en: "Canary", zh: "金丝雀" },
    models: { en: "Models", zh: "模型" },
    name: { en: "Name", zh: "名称" },
    kind: { en: "Kind", zh: "类型" },
    versions: { en: "Versions", zh: "版本" },
    latest: { en: "Latest", zh: "最新" },
    aliases: { en: "Aliases", zh: "别名" },
    parameters: { en: "Parameters", zh: "参数量" },
    size: { en: "Size", zh: "大小" },
    created: { en: "Created (UTC)", zh: "创建时间 (UTC)" },
    version: { en: "Version", zh: "版本" },
    parent: { en: "Made from", zh: "来源模型" },
    run: { en: "Run", zh: "运行" },
    dataset: { en: "Dataset", zh: "数据集" },
    served: { en: "On this server", zh: "本服务器" },
    evaluations: { en: "Evaluations", zh: "评估" },
    loaded: { en: "loaded", zh: "已加载" },
    canary_for: { en: "canary for {names}", zh: "{names} 的金丝雀" },
    all_models: { en: "All models", zh: "全部模型" },
    lineage: { en: "Lineage", zh: "谱系" },
    lineage_hint: {
      en: "Dataset → run → version, and the versions made from each (compressed, adapters, fine-tunes).",
      zh: "数据集 → 运行 → 版本，以及由各版本派生的版本（压缩、适配器、微调）。",
    },
    alias: { en: "Alias", zh: "别名" },
    points_to: { en: "Points to", zh: "指向" },
    updated: { en: "Updated (UTC)", zh: "更新时间 (UTC)" },
    promote: { en: "Promote", zh: "发布" },
    promote_to: { en: "Promote to", zh: "发布到" },
    rollback: { en: "Roll back to v{v}", zh: "回滚到 v{v}" },
    no_rollback: { en: "Nothing to roll back", zh: "无可回滚" },
    rollback_col: { en: "Roll back", zh: "回滚" },
    new_alias: { en: "New alias", zh: "新别名" },
    alias_name: { en: "alias, e.g. production", zh: "别名，例如 production" },
    history: { en: "Alias history", zh: "别名历史" },
    action: { en: "Action", zh: "操作" },
    from: { en: "From", zh: "从" },
    to: { en: "To", zh: "到" },
    actor: { en: "By", zh: "操作者" },
    at: { en: "At (UTC)", zh: "时间 (UTC)" },
    promote_word: { en: "promote", zh: "发布" },
    rollback_word: { en: "rollback", zh: "回滚" },
    canary_title: { en: "Canary split on this server", zh: "本服务器的金丝雀分流" },
    canary_hint: {
      en: "Sends a share of the requests for a served name to another loaded version, live. It lasts until this server stops.",
      zh: "把某个名称的一部分请求实时转给另一个已加载的版本，直到本服务器停止。",
    },
    not_served: {
      en: "This server does not serve {name}: start `mint serve --model {name}` to split its traffic.",
      zh: "本服务器未提供 {name}：用 `mint serve --model {name}` 启动后才能分流。",
    },
    only_one: {
      en: "Only versions this server has loaded can take a share: start `mint serve` with another `--model {name}:V` to load one.",
      zh: "只有本服务器已加载的版本才能分流：用 `mint serve` 再加一个 `--model {name}:V` 来加载。",
    },
    split: { en: "Split", zh: "分流对象" },
    candidate: { en: "Candidate", zh: "候选版本" },
    percent: { en: "Percent", zh: "百分比" },
    set_canary: { en: "Set canary", zh: "设置金丝雀" },
    end_canary: { en: "End canary", zh: "结束金丝雀" },
    current: { en: "{name}: {p}% to {candidate} (rest: {model})", zh: "{name}：{p}% 转给 {candidate}（其余：{model}）" },
    loss: { en: "Training loss", zh: "训练损失" },
    no_curves: { en: "No training run with logged loss.", zh: "没有记录损失的训练运行。" },
    suite: { en: "Suite", zh: "评估套件" },
    split_col: { en: "Split", zh: "划分" },
    metrics: { en: "Metrics", zh: "指标" },
    files: { en: "Report", zh: "报告" },
    none_yet: { en: "None yet.", zh: "暂无。" },
    saved: { en: "Done.", zh: "已完成。" },
    unchanged: { en: "{spec} already names v{v}: nothing changed.", zh: "{spec} 已指向 v{v}，未做更改。" },
    live_now: { en: "{spec} now answers with {label} on this server.", zh: "{spec} 现在在本服务器上由 {label} 应答。" },
    not_loaded: {
      en: "{spec} now names {label} in the catalog; this server has not loaded it, so it switches at its next start.",
      zh: "目录中 {spec} 已指向 {label}；本服务器未加载该版本，将在下次启动时切换。",
    },
    catalog_only: {
      en: "{spec} now names {label} in the catalog; servers that serve it switch at their next start.",
      zh: "目录中 {spec} 已指向 {label}；提供它的服务器将在下次启动时切换。",
    },
    canary_set: { en: "{name}: {p}% now goes to {candidate}.", zh: "{name}：{p}% 的请求现在转给 {candidate}。" },
    canary_ended: { en: "The canary on {name} ended.", zh: "{name} 的金丝雀已结束。" },
  };

  const { h, section, fill, when, modelLink } = MintConsole.dom; // shared DOM and text helpers (console.js)

  const modelName = (label) => String(label).replace(/:\d+$/, "");

  function bytes(n) {
    if (n === null || n === undefined) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${i ? v.toFixed(1) : v} ${units[i]}`;
  }

  function compact(n) {
    if (n === null || n === undefined) return "—";
    if (n >= 1e9) return `${+(n / 1e9).toFixed(2)}B`;
    if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
    if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
    return String(n);
  }

  function metricText(metrics, limit = 4) {
    const parts = Object.entries(metrics || {})
      .slice(0, limit)
      .map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : +v.toFixed(4)}`);
    return parts.join(" · ") || "—";
  }

  // -- the list ---------------------------------------------------------------------------
  async function renderList(el, ctx) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    const data = await ctx.api("models");
    const models = section(el, t("models"), "models-list");
    ctx.table(
      models,
      [
        { key: "name", label: W.name, format: (v) => h("a", { href: `#/models/${encodeURIComponent(v)}` }, v) },
        { key: "kind", label: W.kind },
        { key: "count", label: W.versions, className: "num" },
        { key: "latest", label: W.latest },
        { key: "aliases", label: W.aliases },
        { key: "params", label: W.parameters, className: "num" },
        { key: "size", label: W.size, className: "num" },
        { key: "created", label: W.created },
        { key: "served", label: W.served },
      ],
      data.data.map((m) => {
        const last = m.versions[m.versions.length - 1];
        const aliases = m.versions.flatMap((v) => v.aliases.map((a) => `${a} → v${v.version}`));
        const served = m.versions.flatMap((v) => v.serving.names);
        return {
          name: m.name,
          kind: m.kind,
          count: m.versions.length,
          latest: `v${last.version}`,
          aliases: aliases.join(", ") || "—",
          params: compact(last.num_parameters),
          size: bytes(last.size_bytes),
          created: when(last.created_at),
          served: served.join(", ") || "—",
        };
      }),
    );
    const serving = section(el, t("serving"), "serving");
    ctx.table(
      serving,
      [
        { key: "name", label: W.served_name },
        { key: "model", label: W.answered_by, format: modelLink },
        {
          key: "canary",
          label: W.canary,
          format: (v, row) => (v ? `${row.canary_percent}% → ${v}` : "—"),
        },
      ],
      data.serving.names,
    );
  }

  // -- one model ----------------------------------------------------------------------------
  function versionsTable(box, ctx, m) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    ctx.table(
      box,
      [
        { key: "version", label: W.version, format: (v) => `v${v}` },
        { key: "kind", label: W.kind },
        { key: "num_parameters", label: W.parameters, className: "num", format: compact },
        { key: "size_bytes", label: W.size, className: "num", format: bytes },
        { key: "created_at", label: W.created, format: when },
        { key: "parent", label: W.parent, format: modelLink },
        {
          key: "run",
          label: W.run,
          format: (v) => (v ? h("a", { href: `#/runs/${v.id}` }, `#${v.id} ${v.kind}`) : "—"),
        },
        { key: "dataset", label: W.dataset, format: (v) => (v ? h("a", { href: "#/data" }, v) : "—") },
        { key: "aliases", label: W.aliases, format: (v) => v.join(", ") || "—" },
        {
          key: "serving",
          label: W.served,
          format: (s) => {
            const parts = [...s.names];
            if (s.canary_for.length) parts.push(t("canary_for", { names: s.canary_for.join(", ") }));
            if (!parts.length && s.loaded) parts.push(t("loaded"));
            return parts.join("; ") || "—";
          },
        },
        {
          key: "evaluations",
          label: W.evaluations,
          format: (evs) => evs.map((e) => `${e.suite}: ${metricText(e.metrics, 2)}`).join("; ") || "—",
        },
      ],
      m.versions,
    );
  }

  function lineageTree(box, ctx, nodes) {
    box.append(h("p", { className: "hint" }, ctx.t(W.lineage_hint)));
    const item = (n) => {
      const line = h("div", { className: "node" });
      if (n.dataset) line.append(h("a", { href: "#/data", className: "lin-dataset" }, n.dataset), " → ");
      if (n.run) line.append(h("a", { href: `#/runs/${n.run.id}`, className: "lin-run" }, `#${n.run.id} ${n.run.kind}`), " → ");
      const label = n.this_model ? h("strong", {}, n.model) : modelLink(n.model);
      line.append(label, h("span", { className: "hint" }, ` (${n.kind})`));
      const li = h("li", { "data-model": n.model }, line);
      if (n.children.length) li.append(h("ul", {}, n.children.map(item)));
      return li;
    };
    box.append(h("ul", { className: "tree", id: "lineage-tree" }, nodes.map(item)));
  }

  function aliasesSection(box, ctx, m, act) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    const versions = m.versions.map((v) => v.version);
    const select = (chosen, id) =>
      h(
        "select",
        { id, "aria-label": t("version") },
        [...versions].reverse().map((v) => h("option", { value: v, selected: v === chosen }, `v${v}`)),
      );
    const rows = m.aliases.map((a) => {
      const other = [...versions].reverse().find((v) => v !== a.version) ?? a.version;
      const pick = select(other, `promote-${a.alias}`);
      const promote = h(
        "button",
        {
          type: "button",
          className: "primary",
          "data-action": "promote",
          "data-alias": a.alias,
          onclick: () => act(`models/${encodeURIComponent(m.name)}/aliases/${encodeURIComponent(a.alias)}`, { version: Number(pick.value) }),
        },
        t("promote"),
      );
      const back = h(
        "button",
        {
          type: "button",
          "data-action": "rollback",
          "data-alias": a.alias,
          disabled: a.rollback_to === null,
          onclick: () => act(`models/${encodeURIComponent(m.name)}/aliases/${encodeURIComponent(a.alias)}/rollback`),
        },
        a.rollback_to === null ? t("no_rollback") : t("rollback", { v: a.rollback_to }),
      );
      return { ...a, promote: h("span", { className: "row" }, pick, promote), back };
    });
    ctx.table(
      box,
      [
        { key: "alias", label: W.alias },
        { key: "version", label: W.points_to, format: (v) => `v${v}` },
        { key: "updated_at", label: W.updated, format: when },
        { key: "promote", label: W.promote_to },
        { key: "back", label: W.rollback_col },
      ],
      rows,
    );
    const name = h("input", { id: "new-alias", placeholder: t("alias_name"), maxlength: 100, pattern: "[A-Za-z0-9][A-Za-z0-9._-]*" });
    const pick = select(versions[versions.length - 1], "new-alias-version");
    const add = h("form", { className: "row toolbar", id: "new-alias-form" }, h("strong", {}, t("new_alias")), name, pick,
      h("button", { type: "submit", className: "primary" }, t("promote")));
    add.addEventListener("submit", (e) => {
      e.preventDefault();
      const alias = name.value.trim();
      if (alias) act(`models/${encodeURIComponent(m.name)}/aliases/${encodeURIComponent(alias)}`, { version: Number(pick.value) });
    });
    box.append(add);
  }

  function historySection(box, ctx, m) {
    const t = (k) => ctx.t(W[k]);
    ctx.table(
      box,
      [
        { key: "alias", label: W.alias },
        { key: "action", label: W.action, format: (v) => t(`${v}_word`) || v },
        { key: "from_version", label: W.from, format: (v) => (v ? `v${v}` : "—") },
        { key: "to_version", label: W.to, format: (v) => (v ? `v${v}` : "—") },
        { key: "actor", label: W.actor },
        { key: "at", label: W.at, format: when },
      ],
      m.alias_history,
    );
  }

  function canarySection(box, ctx, m, act) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    box.append(h("p", { className: "hint" }, t("canary_hint")));
    const mine = m.serving.names.filter((n) => modelName(n.model) === m.name);
    if (!mine.length) {
      box.append(h("p", { className: "hint", id: "canary-unavailable" }, t("not_served", { name: m.name })));
      return;
    }
    for (const n of mine.filter((n) => n.canary)) {
      box.append(
        h("p", { className: "row canary-current", "data-name": n.name },
          t("current", { name: n.name, p: n.canary_percent, candidate: n.canary, model: n.model }),
          h("button", { type: "button", className: "danger", "data-action": "end-canary",
            onclick: () => act(`canary/${encodeURIComponent(n.name)}`, undefined, "DELETE") }, t("end_canary"))),
      );
    }
    const primary = h("select", { id: "canary-name", "aria-label": t("split") },
      mine.map((n) => h("option", { value: n.name }, `${n.name} (${n.model})`)));
    const candidate = h("select", { id: "canary-candidate", "aria-label": t("candidate") });
    const fillCandidates = () => {
      const current = mine.find((n) => n.name === primary.value);
      candidate.replaceChildren(
        ...m.serving.loaded.filter((l) => !current || l !== current.model).map((l) => h("option", { value: l }, l)),
      );
    };
    primary.addEventListener("change", fillCandidates);
    fillCandidates();
    const percent = h("input", { id: "canary-percent", type: "number", min: 1, max: 100, step: "any", value: 10, "aria-label": t("percent") });
    const form = h("form", { className: "row toolbar", id: "canary-form" },
      h("label", {}, t("split"), " ", primary), h("label", {}, t("candidate"), " ", candidate),
      h("label", {}, t("percent"), " ", percent, " %"),
      h("button", { type: "submit", className: "primary" }, t("set_canary")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!candidate.value) return;
      act("canary", { name: primary.value, candidate: candidate.value, percent: Number(percent.value) }, "PUT");
    });
    box.append(form);
    if (!candidate.options.length) box.append(h("p", { className: "hint" }, t("only_one", { name: m.name })));
  }

  function curvesSection(box, ctx, m) {
    const curves = m.loss_curves;
    if (!curves.length) {
      box.append(h("p", { className: "hint" }, ctx.t(W.no_curves)));
      return;
    }
    const steps = [...new Set(curves.flatMap((c) => Object.values(c.series).flat().map((p) => p.step)))].sort((a, b) => a - b);
    const series = [];
    for (const c of curves) {
      for (const [metric, points] of Object.entries(c.series)) {
        const at = new Map(points.map((p) => [p.step, p.value]));
        series.push({ name: `${c.model} ${metric}`, values: steps.map((s) => (at.has(s) ? at.get(s) : null)) });
      }
    }
    const chart = h("div", { id: "loss-chart" });
    box.append(chart);
    ctx.chart(chart, { type: "line", x: steps, series, unit: "", legend: true });
  }

  function evaluationsSection(box, ctx, m) {
    ctx.table(
      box,
      [
        { key: "model", label: W.version, format: (v) => v },
        { key: "suite", label: W.suite },
        { key: "dataset", label: W.dataset },
        { key: "split", label: W.split_col },
        { key: "metrics", label: W.metrics, format: (v) => metricText(v, 6) },
        { key: "created_at", label: W.created, format: when },
        {
          key: "files",
          label: W.files,
          format: (files) =>
            h("span", { className: "row" }, Object.entries(files).map(([f, url]) =>
              h("a", { href: url, target: "_blank", rel: "noopener", "data-file": f }, f))),
        },
      ],
      m.evaluations,
    );
  }

  async function renderModel(el, ctx, name) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    const m = await ctx.api(`models/${encodeURIComponent(name)}`);
    el.replaceChildren();
    // every change re-reads the model and says what happened (after the page is redrawn)
    // what a change did, in the page's language (the server's own note, in English, is
    // kept as the status line's title)
    const describe = (r, method) => {
      if (!r) return t("saved");
      if (r.alias !== undefined) {
        const vars = { spec: `${r.name}@${r.alias}`, label: `${r.name}:${r.version}`, v: r.version };
        if (!r.changed && !r.live) return t("unchanged", vars);
        if (r.live) return t("live_now", vars);
        const served = m.serving.names.some((n) => n.name === vars.spec);
        return t(served ? "not_loaded" : "catalog_only", vars);
      }
      if (method === "DELETE") return t("canary_ended", { name: r.name });
      return t("canary_set", { name: r.name, p: r.percent, candidate: r.candidate });
    };
    const act = async (path, body, method = "POST") => {
      try {
        const result = await ctx.api(path, { method, body });
        await renderModel(el, ctx, name);
        const note = describe(result, method);
        const status = el.querySelector("#action-status");
        status.textContent = note;
        status.title = (result && result.note) || "";
        ctx.notify(note, false);
      } catch (e) {
        ctx.notify(e.message, true);
        const status = el.querySelector("#action-status");
        if (status) status.textContent = e.message;
      }
    };
    el.append(
      h("p", {}, h("a", { href: "#/models" }, `← ${t("all_models")}`)),
      h("h2", { id: "model-name" }, m.name),
      h("p", { id: "action-status", className: "hint", role: "status" }),
    );
    versionsTable(section(el, t("versions"), "versions"), ctx, m);
    lineageTree(section(el, t("lineage"), "lineage"), ctx, m.lineage);
    aliasesSection(section(el, t("aliases"), "aliases"), ctx, m, act);
    canarySection(section(el, t("canary_title"), "canary"), ctx, m, act);
    curvesSection(section(el, t("loss"), "loss"), ctx, m);
    evaluationsSection(section(el, t("evaluations"), "evaluations"), ctx, m);
    historySection(section(el, t("history"), "alias-history"), ctx, m);
  }

  MintConsole.page("models", {
    title: W.title,
    platformOnly: true,
    async render(el, ctx, params) {
      if (params.length) await renderModel(el, ctx, params[0]);
      else await renderList(el, ctx);
    },
  });
})();
