/**
 * Charts for the benchmark report: Vega-Lite specs compiled and rendered to SVG in Node (vega's
 * headless renderer: no browser, no canvas, no network — the data is inline).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type Row = Record<string, string | number | null>;

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 480, background: 'white' } as const;

/** Horizontal bars: one per row, `value` along x, optionally coloured by `color`. */
export function barChart(
  title: string,
  rows: Row[],
  o: { category: string; value: string; valueTitle: string; color?: string },
): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: o.category, type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field: o.value, type: 'quantitative', title: o.valueTitle },
      ...(o.color ? { color: { field: o.color, type: 'nominal', title: null, legend: { labelLimit: 400 } } } : {}),
    },
  } as TopLevelSpec;
}

/** Grouped bars: `series` side by side within each `category` (e.g. p50 and p95 per case). */
export function groupedBarChart(
  title: string,
  rows: Row[],
  o: { category: string; series: string; value: string; valueTitle: string },
): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: o.category, type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      yOffset: { field: o.series, type: 'nominal' },
      x: { field: o.value, type: 'quantitative', title: o.valueTitle },
      color: { field: o.series, type: 'nominal', title: null, legend: { labelLimit: 400 } },
    },
  } as TopLevelSpec;
}

/** Lines with points: `y` over `x`, one line per `series`, with an optional horizontal rule (a limit). */
export function lineChart(
  title: string,
  rows: Row[],
  o: {
    x: string;
    xTitle: string;
    y: string;
    yTitle: string;
    series: string;
    rule?: { y: number; label: string };
    yScale?: 'symlog' | 'linear';
  },
): TopLevelSpec {
  const lines = {
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: o.x, type: 'quantitative', title: o.xTitle, axis: { format: 'd', tickMinStep: 1 } },
      y: { field: o.y, type: 'quantitative', title: o.yTitle, scale: { type: o.yScale ?? 'symlog' } },
      color: { field: o.series, type: 'nominal', title: null, legend: { labelLimit: 400 } },
    },
  };
  const rule = o.rule && {
    data: { values: [{ limit: o.rule.y, label: o.rule.label }] },
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'limit', type: 'quantitative' } } },
      {
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray' },
        encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' }, x: { value: 0 } },
      },
    ],
  };
  return { ...base, title, data: { values: rows }, layer: rule ? [lines, rule] : [lines] } as TopLevelSpec;
}
