// Labeling and feedback (#/labeling): label projects with their progress, how the model
// suggestions do, agreement and what waits for review; the API users' feedback queue by
// status and model. Annotators label on the annotator page (/label), linked from here.
"use strict";

(() => {
  const W = {
    title: { en: "Labeling", zh: "标注" },
    open_page: { en: "Open the annotator page", zh: "打开标注页面" },
    page_hint: {
      en: "Annotators sign in there with their token (mint label annotators add NAME).",
      zh: "标注员用自己的令牌在那里登录（mint label annotators add NAME）。",
    },
    projects: { en: "Label projects", zh: "标注项目" },
    project: { en: "Project", zh: "项目" },
    kind: { en: "Kind", zh: "类型" },
    dataset: { en: "Dataset", zh: "数据集" },
    progress: { en: "Finished items", zh: "已完成条目" },
    annotations: { en: "Labels", zh: "标注数" },
    annotators: { en: "Annotators", zh: "标注员" },
    accepted: { en: "Suggestions accepted", zh: "建议采纳率" },
    accuracy: { en: "Suggestion accuracy", zh: "建议准确率" },
    alpha: { en: "Agreement (α)", zh: "一致性 (α)" },
    review: { en: "To review", zh: "待复核" },
    feedback: { en: "Feedback from API users", zh: "API 用户反馈" },
    new: { en: "New", zh: "待处理" },
    accepted_fb: { en: "Accepted", zh: "已接受" },
    rejected: { en: "Rejected", zh: "已拒绝" },
    model: { en: "Model version", zh: "模型版本" },
    feedback_hint: {
      en: "Review it with mint feedback review; accepted feedback becomes training data (mint feedback export).",
      zh: "用 mint feedback review 审核；已接受的反馈可导出为训练数据（mint feedback export）。",
    },
  };

  const { h, section, stat } = MintConsole.dom; // shared DOM helpers (console.js)

  const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);

  async function render(el, ctx) {
    const t = (k) => ctx.t(W[k]);
    const data = await ctx.api("labeling");
    el.append(
      h("p", { className: "row" },
        h("a", { href: data.label_page, target: "_blank", rel: "noopener", id: "annotator-link", className: "button-link" }, t("open_page")),
        h("span", { className: "hint" }, t("page_hint"))),
    );
    const projects = section(el, t("projects"), "label-projects");
    ctx.table(
      projects,
      [
        { key: "name", label: W.project },
        { key: "kind", label: W.kind },
        { key: "dataset", label: W.dataset, format: (v, row) => (v ? `${v}${row.split ? ` / ${row.split}` : ""}` : "—") },
        {
          key: "finished",
          label: W.progress,
          className: "num",
          format: (v, row) => `${ctx.number(v)} / ${ctx.number(row.items)} (${pct(row.items ? v / row.items : null)})`,
        },
        { key: "annotations", label: W.annotations, className: "num", format: (v) => ctx.number(v) },
        { key: "per_annotator", label: W.annotators, format: (v) => Object.entries(v).map(([a, n]) => `${a} ${n}`).join(", ") || "—" },
        { key: "suggestions", label: W.accepted, className: "num", format: (v) => pct(v.accepted_share) },
        { key: "accuracy", label: W.accuracy, className: "num", format: (_, row) => pct(row.suggestions.accuracy) },
        { key: "agreement_alpha", label: W.alpha, className: "num", format: (v) => (v === null ? "—" : v.toFixed(2)) },
        { key: "to_review", label: W.review, className: "num" },
      ],
      data.projects,
    );
    const feedback = section(el, t("feedback"), "feedback");
    const counts = data.feedback.counts;
    feedback.append(
      h("div", { className: "cards" },
        stat(t("new"), ctx.number(counts.new ?? 0), "feedback-new"),
        stat(t("accepted_fb"), ctx.number(counts.accepted ?? 0), "feedback-accepted"),
        stat(t("rejected"), ctx.number(counts.rejected ?? 0), "feedback-rejected")),
      h("p", { className: "hint" }, t("feedback_hint")),
    );
    ctx.table(
      feedback,
      [
        { key: "model", label: W.model },
        { key: "new", label: W.new, className: "num" },
        { key: "accepted", label: W.accepted_fb, className: "num" },
        { key: "rejected", label: W.rejected, className: "num" },
      ],
      data.feedback.by_model.map((m) => ({ model: m.model, ...m.counts })),
    );
  }

  MintConsole.page("labeling", {
    title: W.title,
    platformOnly: true,
    render: (el, ctx) => render(el, ctx),
  });
})();
