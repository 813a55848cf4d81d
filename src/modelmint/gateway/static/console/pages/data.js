// Data and training: dataset versions with their curation reports and the runs (#/data),
// and one run (#/runs/ID): its recipe, progress and metric curves, polled every few
// seconds while it is running (only the points logged since the last poll are fetched).
"use strict";

(() => {
  const W = {
    title: { en: "Data and training", zh: "数据与训练" },
    run_title: { en: "Run", zh: "运行" },
    datasets: { en: "Datasets", zh: "数据集" },
    dataset: { en: "Dataset", zh: "数据集" },
    records: { en: "Records", zh: "记录数" },
    splits: { en: "Splits", zh: "划分" },
    source: { en: "Source", zh: "来源" },
    created: { en: "Created (UTC)", zh: "创建时间 (UTC)" },
    report: { en: "Curation report", zh: "清洗报告" },
    open_report: { en: "report", zh: "报告" },
    runs: { en: "Runs", zh: "运行" },
    run: { en: "Run", zh: "运行" },
    kind: { en: "Kind", zh: "类型" },
    status: { en: "Status", zh: "状态" },
    model: { en: "Model made", zh: "产出模型" },
    step: { en: "Step", zh: "步数" },
    loss: { en: "Loss", zh: "损失" },
    started: { en: "Started (UTC)", zh: "开始时间 (UTC)" },
    finished: { en: "Finished (UTC)", zh: "结束时间 (UTC)" },
    back: { en: "Data and training", zh: "数据与训练" },
    progress: { en: "Progress", zh: "进度" },
    speed: { en: "Speed", zh: "速度" },
    eta: { en: "Time left", zh: "剩余时间" },
    error: { en: "Error", zh: "错误" },
    recipe: { en: "Recipe", zh: "配方" },
    final: { en: "Final metrics", zh: "最终指标" },
    curves: { en: "Loss curve", zh: "损失曲线" },
    other: { en: "Other metrics", zh: "其他指标" },
    live: { en: "Live: refreshed every {s} s while the run is running.", zh: "运行中，每 {s} 秒刷新。" },
    no_points: { en: "No metrics logged yet.", zh: "尚未记录指标。" },
    running: { en: "running", zh: "运行中" },
    succeeded: { en: "succeeded", zh: "成功" },
    failed: { en: "failed", zh: "失败" },
    steps_s: { en: "{n} steps/s", zh: "{n} 步/秒" },
    tokens_s: { en: "{n} tokens/s", zh: "{n} 词元/秒" },
  };
  const POLL_MS = 2000;
  const CURVE = ["loss", "eval_loss"];

  const { h, section, fill, when, modelLink } = MintConsole.dom; // shared DOM and text helpers (console.js)

  const num = (v, digits = 4) => (v === null || v === undefined ? "—" : String(+Number(v).toFixed(digits)));

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  const statusText = (ctx, s) => (W[s] ? ctx.t(W[s]) : s);

  function runsTable(box, ctx, runs) {
    ctx.table(
      box,
      [
        { key: "id", label: W.run, format: (v) => h("a", { href: `#/runs/${v}` }, `#${v}`) },
        { key: "kind", label: W.kind },
        { key: "status", label: W.status, format: (v) => h("span", { className: `run-${v}` }, statusText(ctx, v)) },
        { key: "dataset", label: W.dataset },
        { key: "model", label: W.model, format: modelLink },
        { key: "step", label: W.step, className: "num" },
        { key: "loss", label: W.loss, className: "num", format: (v) => num(v) },
        { key: "started_at", label: W.started, format: when },
        { key: "finished_at", label: W.finished, format: when },
      ],
      runs,
    );
  }

  // -- #/data ---------------------------------------------------------------------------------
  async function renderData(el, ctx) {
    const t = (k) => ctx.t(W[k]);
    const [datasets, runs] = await Promise.all([ctx.api("datasets"), ctx.api("runs?limit=100")]);
    const rows = datasets.data.flatMap((d) => d.versions);
    const box = section(el, t("datasets"), "datasets");
    ctx.table(
      box,
      [
        { key: "label", label: W.dataset },
        {
          key: "report_html",
          label: W.report,
          format: (url, row) =>
            url
              ? h("span", { className: "row" },
                  h("a", { href: url, target: "_blank", rel: "noopener", "data-report": row.label }, t("open_report")),
                  row.report_json ? h("a", { href: row.report_json, target: "_blank", rel: "noopener" }, "json") : null)
              : "—",
        },
        { key: "num_records", label: W.records, className: "num", format: (v) => ctx.number(v) },
        {
          key: "splits",
          label: W.splits,
          format: (v) => Object.entries(v).map(([k, n]) => `${k} ${ctx.number(n)}`).join(" · ") || "—",
        },
        { key: "source", label: W.source },
        { key: "created_at", label: W.created, format: when },
      ],
      rows,
    );
    runsTable(section(el, t("runs"), "runs"), ctx, runs.data);
  }

  // -- #/runs/ID ------------------------------------------------------------------------------
  function drawCurves(ctx, chartEl, otherEl, points) {
    const draw = (target, names) => {
      const steps = [...new Set(names.flatMap((n) => (points[n] || []).map((p) => p[0])))].sort((a, b) => a - b);
      const series = names.map((n) => {
        const at = new Map(points[n] || []);
        return { name: n, values: steps.map((s) => (at.has(s) ? at.get(s) : null)) };
      });
      ctx.chart(target, { type: "line", x: steps, series, unit: "", legend: true });
    };
    const curve = CURVE.filter((n) => points[n]);
    if (curve.length) draw(chartEl, curve);
    const other = Object.keys(points).filter((n) => !CURVE.includes(n) && /learning_rate|grad_norm/.test(n));
    otherEl.hidden = !other.length;
    if (other.length) draw(otherEl, other);
  }

  function facts(ctx, run) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    const progress = run.max_steps
      ? `${run.step ?? 0} / ${run.max_steps} (${Math.min(100, Math.round((100 * (run.step ?? 0)) / run.max_steps))}%)`
      : `${run.step ?? "—"}`;
    const speed = [
      run.steps_per_s ? t("steps_s", { n: num(run.steps_per_s, 2) }) : null,
      run.tokens_per_s ? t("tokens_s", { n: ctx.number(Math.round(run.tokens_per_s)) }) : null,
    ].filter(Boolean).join(" · ") || "—";
    const pairs = [
      ["kind", run.kind],
      ["status", h("span", { className: `run-${run.status}`, id: "run-status" }, statusText(ctx, run.status))],
      ["dataset", run.dataset || "—"],
      ["model", modelLink(run.model)],
      ["progress", h("span", { id: "run-progress" }, progress)],
      ["speed", speed],
      ["eta", run.status === "running" ? duration(run.eta_s) : "—"],
      ["started", when(run.started_at)],
      ["finished", when(run.finished_at)],
    ];
    if (run.error) pairs.push(["error", run.error]);
    return h("dl", { className: "facts" }, pairs.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
  }

  async function renderRun(el, ctx, id) {
    const t = (k, vars) => fill(ctx.t(W[k]), vars);
    let run = await ctx.api(`runs/${encodeURIComponent(id)}`);
    const points = {};
    const merge = (incoming) => {
      for (const [name, list] of Object.entries(incoming)) {
        const at = new Map(points[name] || []);
        for (const p of list) at.set(p.step, p.value);
        points[name] = [...at.entries()].sort((a, b) => a[0] - b[0]);
      }
    };
    merge(run.points);
    el.append(h("p", {}, h("a", { href: "#/data" }, `← ${t("back")}`)), h("h2", { id: "run-title" }, `#${run.id} ${run.kind}`));
    const factsBox = h("section", { className: "card", id: "run-facts" });
    const live = h("p", { className: "hint", id: "run-live" });
    const curves = section(el, t("curves"), "run-curves");
    const chartEl = h("div", { id: "run-chart" });
    const otherEl = h("div", { id: "run-other" });
    const empty = h("p", { className: "hint" }, t("no_points"));
    curves.append(chartEl, h("h3", {}, t("other")), otherEl, empty);
    el.insertBefore(factsBox, curves);
    const recipe = section(el, t("recipe"), "run-recipe");
    recipe.append(h("pre", { className: "secret" }, JSON.stringify(run.config, null, 2)));
    const final = section(el, t("final"), "run-final");

    const show = () => {
      factsBox.replaceChildren(facts(ctx, run), live);
      live.textContent = run.status === "running" ? t("live", { s: POLL_MS / 1000 }) : "";
      empty.hidden = Object.keys(points).length > 0;
      drawCurves(ctx, chartEl, otherEl, points);
      final.replaceChildren(h("h2", {}, t("final")), h("pre", { className: "secret" }, JSON.stringify(run.metrics, null, 2)));
      final.hidden = !Object.keys(run.metrics || {}).length;
    };
    show();
    if (run.status !== "running") return;
    let stopped = false;
    ctx.poll(async () => {
      if (stopped) return;
      // the last step again: a metric logged later at that step (eval_loss) is not missed
      const last = Math.max(-1, (run.step ?? 0) - 1);
      const next = await ctx.api(`runs/${encodeURIComponent(id)}?after_step=${last}`);
      merge(next.points);
      run = next;
      show();
      if (run.status !== "running") stopped = true; // finished: one last redraw, then quiet
    }, POLL_MS);
  }

  async function renderRuns(el, ctx) {
    const runs = await ctx.api("runs?limit=200");
    runsTable(section(el, ctx.t(W.runs), "runs"), ctx, runs.data);
  }

  MintConsole.page("data", {
    title: W.title,
    platformOnly: true,
    render: (el, ctx) => renderData(el, ctx),
  });

  MintConsole.page("runs", {
    title: W.run_title,
    platformOnly: true,
    nav: false, // reached from the Data and training page
    async render(el, ctx, params) {
      if (params.length) await renderRun(el, ctx, params[0]);
      else await renderRuns(el, ctx);
    },
  });
})();
