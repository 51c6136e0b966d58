/**
 * The page's CSS. Vega writes colours as SVG presentation attributes, which any CSS rule
 * overrides: so axis, grid, legend and title colours follow the page's light/dark scheme,
 * and print always gets black on white. Series colours are chosen to read on both.
 */
export const style = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d1f23; --muted: #5b616b; --grid: #e4e6ea; --axis: #8a9099; --card: #f5f6f8; --border: #d9dce1; --warn: #fff4d6; --warn-border: #e0b545; --ok: #2e7d32; --bad: #c62828; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171a; --fg: #e6e7ea; --muted: #a4a9b2; --grid: #30343a; --axis: #7d838d; --card: #1d2024; --border: #363a41; --warn: #3a3120; --warn-border: #a8842e; --ok: #81c784; --bad: #ef9a9a; }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0 auto; max-width: 1120px; padding: 24px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
.summary { color: var(--muted); margin: 0 0 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 16px; }
figure.chart { margin: 0; padding: 14px; background: var(--card); border: 1px solid var(--border); border-radius: 8px; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 6px; }
.role-axis-label text, .role-legend-label text, .role-title-subtitle text { fill: var(--muted); }
.role-axis-title text, .role-legend-title text, .role-title-text text { fill: var(--fg); }
.role-axis-grid path, .role-axis-grid line { stroke: var(--grid); }
.role-axis-domain path, .role-axis-domain line, .role-axis-tick path, .role-axis-tick line { stroke: var(--axis); }
.mark-text.role-mark text[fill="black"], .mark-text.role-mark text[fill="#000"], .mark-text.role-mark text:not([fill]) { fill: var(--fg); }
.callout { padding: 12px 16px; border-radius: 8px; margin: 0 0 16px; border: 1px solid var(--border); background: var(--card); }
.callout.warn { background: var(--warn); border-color: var(--warn-border); }
.callout ul, #absent ul { margin: 0; padding-left: 20px; }
section { margin: 20px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--border); vertical-align: top; }
tr.outcome-ok td:nth-child(4) { color: var(--ok); }
tr:not(.outcome-ok) td:nth-child(4) { color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 10px; overflow: auto; font-size: 0.8rem; }
@media print {
  :root { --bg: #ffffff; --fg: #000000; --muted: #333333; --grid: #dddddd; --axis: #666666; --card: #ffffff; --border: #bbbbbb; --warn: #ffffff; --warn-border: #999999; --ok: #000000; --bad: #000000; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .charts { display: block; }
  figure.chart { margin: 0 0 12pt; border: none; padding: 0; }
  pre { white-space: pre-wrap; }
  section, table { break-inside: auto; }
  tr { break-inside: avoid; }
}
`;
