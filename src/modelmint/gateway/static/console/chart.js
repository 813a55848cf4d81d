// A small SVG chart with no dependency: line or bar, y axis with round ticks, x labels,
// a legend, and a hover title per x position listing every series' value. Good enough
// for money and counts over time. Drawn at the container's width (redrawn when it changes).
//   MintChart.render(el, {type: "line"|"bar", x: [labels], series: [{name, values}],
//                         unit: "money"|"count"|"s"|"%"|text, stacked?: bool}, {money, lang})
"use strict";

(() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  const HEIGHT = 220;
  const PAD = { top: 12, right: 12, bottom: 28, left: 64 };
  const drawn = new WeakMap(); // element -> what was drawn in it, to redraw on resize

  function node(name, attrs, parent) {
    const el = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (parent) parent.append(el);
    return el;
  }

  // round tick step: 1, 2 or 5 times a power of ten, about `count` ticks up to max
  function niceStep(max, count) {
    const raw = max / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const unit = raw / power;
    return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
  }

  function compact(n) {
    const abs = Math.abs(n);
    if (abs >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
    if (abs >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
    if (abs >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
    return String(+n.toFixed(abs < 1 && abs > 0 ? 3 : 2));
  }

  function formatter(unit, options) {
    if (unit === "money") return { tick: (v) => compactMoney(v), full: options.money };
    if (unit === "s") return { tick: (v) => `${compact(v)}s`, full: (v) => `${v.toFixed(3)} s` };
    if (unit === "%") return { tick: (v) => `${compact(v)}%`, full: (v) => `${v.toFixed(2)}%` };
    const suffix = unit && unit !== "count" ? ` ${unit}` : "";
    return {
      tick: (v) => compact(v),
      full: (v) => `${Mint.grouped(v)}${suffix}`,
    };
  }

  // micro-units on an axis: 1.2M micros is "1.2", 2500 micros is "0.0025"
  function compactMoney(micros) {
    const units = micros / 1e6;
    const abs = Math.abs(units);
    if (abs >= 1e6) return `${+(units / 1e6).toFixed(1)}M`;
    if (abs >= 1e4) return `${+(units / 1e3).toFixed(1)}k`;
    if (abs >= 1 || abs === 0) return String(+units.toFixed(2));
    return String(+units.toPrecision(2));
  }

  function draw(el, spec, options) {
    el.replaceChildren();
    el.classList.add("chart");
    const x = spec.x || [];
    const series = (spec.series || []).map((s) => ({
      name: s.name,
      values: (s.values || []).map((v) => (v === null || v === undefined ? null : Number(v))),
    }));
    const fmt = formatter(spec.unit, options);
    const width = Math.max(260, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600));
    const svg = node("svg", {
      viewBox: `0 0 ${width} ${HEIGHT}`,
      width,
      height: HEIGHT,
      role: "img",
      class: "chart-svg",
    });
    if (spec.title) node("title", {}, svg).textContent = spec.title;
    el.append(svg);
    const stacked = spec.type === "bar" && spec.stacked;
    let max = 0;
    let min = 0;
    for (let i = 0; i < x.length; i++) {
      let up = 0;
      let down = 0;
      for (const s of series) {
        const v = s.values[i] ?? 0;
        if (stacked) {
          if (v >= 0) up += v;
          else down += v;
        } else {
          max = Math.max(max, v);
          min = Math.min(min, v);
        }
      }
      if (stacked) {
        max = Math.max(max, up);
        min = Math.min(min, down);
      }
    }
    const hasData = series.some((s) => s.values.some((v) => v !== null && v !== 0));
    if (max === min) max = min + 1;
    // counts tick at whole numbers
    const step = spec.unit === "count" ? Math.max(1, niceStep(max - min, 4)) : niceStep(max - min, 4);
    const top = Math.ceil(max / step) * step;
    const bottom = Math.floor(min / step) * step;
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const y = (v) => PAD.top + plotH - ((v - bottom) / (top - bottom)) * plotH;
    const slot = x.length ? plotW / x.length : plotW;
    const cx = (i) => PAD.left + slot * (i + 0.5);

    // grid and y ticks
    const axis = node("g", { class: "axis" }, svg);
    for (let v = bottom; v <= top + step / 2; v += step) {
      node("line", { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: v === 0 ? "zero" : "grid" }, axis);
      const label = node("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, axis);
      label.textContent = fmt.tick(v);
    }
    // x labels: at most about one per 70 px
    const every = Math.max(1, Math.ceil(x.length / Math.max(1, Math.floor(plotW / 70))));
    for (let i = 0; i < x.length; i += every) {
      const label = node("text", { x: cx(i), y: HEIGHT - 8, "text-anchor": "middle" }, axis);
      label.textContent = x[i];
    }

    const plot = node("g", { class: "plot" }, svg);
    if (spec.type === "bar") {
      const groupW = slot * 0.8;
      const barW = stacked ? groupW : groupW / Math.max(1, series.length);
      const base = x.map(() => [0, 0]); // stacked: running top above and below zero
      series.forEach((s, k) => {
        const color = COLORS[k % COLORS.length];
        s.values.forEach((v, i) => {
          if (v === null || v === 0) return;
          let from = 0;
          if (stacked) {
            const side = v >= 0 ? 0 : 1;
            from = base[i][side];
            base[i][side] += v;
          }
          const x0 = cx(i) - groupW / 2 + (stacked ? 0 : k * barW);
          const y1 = y(from + v);
          const y0 = y(from);
          node("rect", {
            x: x0,
            y: Math.min(y0, y1),
            width: Math.max(1, barW - 1),
            height: Math.max(1, Math.abs(y0 - y1)),
            fill: color,
            class: "bar",
          }, plot);
        });
      });
    } else {
      series.forEach((s, k) => {
        const color = COLORS[k % COLORS.length];
        const points = s.values
          .map((v, i) => (v === null ? null : `${cx(i).toFixed(1)},${y(v).toFixed(1)}`))
          .filter(Boolean);
        if (points.length > 1) {
          node("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2, class: "line" }, plot);
        }
        s.values.forEach((v, i) => {
          if (v !== null) node("circle", { cx: cx(i), cy: y(v), r: points.length > 40 ? 1.5 : 2.5, fill: color }, plot);
        });
      });
    }

    // hover: one transparent column per x, titled with every value there
    const hover = node("g", { class: "hover" }, svg);
    x.forEach((label, i) => {
      const col = node("rect", {
        x: PAD.left + slot * i,
        y: PAD.top,
        width: slot,
        height: plotH,
        class: "hover-col",
        "data-index": i,
      }, hover);
      const lines = [label, ...series.map((s) => `${s.name}: ${s.values[i] === null ? "—" : fmt.full(s.values[i])}`)];
      node("title", {}, col).textContent = lines.join("\n");
    });

    if (!hasData) {
      const empty = node("text", { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, "text-anchor": "middle", class: "empty" }, svg);
      empty.textContent = options.lang === "zh" ? "暂无数据" : "No data";
    }

    if (series.length > 1 || spec.legend) {
      const legend = document.createElement("ul");
      legend.className = "legend";
      series.forEach((s, k) => {
        const li = document.createElement("li");
        const swatch = document.createElementNS(NS, "svg");
        swatch.setAttribute("width", "10");
        swatch.setAttribute("height", "10");
        node("rect", { width: 10, height: 10, fill: COLORS[k % COLORS.length] }, swatch);
        li.append(swatch, document.createTextNode(` ${s.name}`));
        legend.append(li);
      });
      el.append(legend);
    }
  }

  // Redrawn whenever its box changes width (a window resize, or a grid that gains
  // columns as its cards are added), so text stays its size instead of being scaled.
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const chart = drawn.get(entry.target);
      if (!chart) continue;
      const width = Math.floor(entry.contentRect.width);
      if (width > 0 && Math.abs(width - chart.width) > 1) {
        chart.width = width;
        draw(entry.target, chart.spec, chart.options);
      }
    }
  });

  window.MintChart = {
    render(el, spec, options = {}) {
      const opts = { money: (v) => String(v), lang: "en", ...options };
      draw(el, spec, opts);
      drawn.set(el, { spec, options: opts, width: Math.floor(el.clientWidth) });
      resized.observe(el);
    },
    niceStep,
  };
})();
