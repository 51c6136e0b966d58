/**
 * The HTML report in a real browser: a real scaled-down sweep writes a results file and a
 * report, `bstune report` makes another from the file, and Debian's headless Chromium opens
 * each from a file:// URL. Asserted: no console error and no network request, every chart has
 * drawn marks, a screenshot is not blank, dark mode and print change the colours.
 * Chromium comes from .ci/install-chromium; without it (outside CI) the test says it is skipped.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runCli, tmpDir } from './helpers/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (run .ci/install-chromium)`;
if (missing && process.env.CI) throw new Error(`report browser test: ${missing}; CI must install it`);
if (missing) console.warn(`SKIPPED report-browser.test.ts: ${missing}`);

interface Visit {
  errors: string[];
  requests: string[];
  charts: { id: string; marks: number; drawn: number }[];
  page: Page;
}

describe.skipIf(missing !== null)(`HTML report in headless Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let profile: string;
  let ctx: BrowserContext;

  beforeAll(async () => {
    dir = tmpDir();
    // A real sweep, cut down: two sizes, two seeds each (for ± bands), one epoch, 300 digits.
    const r = await runCli(['sweep', '--sizes', '32,64', '--repeats', '2', '--epochs', '1', '--train-limit', '300', '--memory-limit', '1MiB', '--out', 'runs.jsonl', '--html', 'sweep.html'], { cwd: dir, timeoutMs: 240_000 });
    expect(r.stderr.split('\n').filter((l) => l.startsWith('bstune: error'))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`report: ${join(dir, 'sweep.html')}`);
    profile = mkdtempSync(join(tmpdir(), 'bstune-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
  }, 300_000);

  afterAll(async () => {
    await ctx?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function visit(file: string): Promise<Visit> {
    const page = await ctx.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => { if (!q.url().startsWith('file:')) requests.push(q.url()); });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figs) => figs.map((f) => {
      // Data marks only (not axes or legends): vega gives them role-mark.
      const shapes = [...f.querySelectorAll('svg .role-mark path, svg .role-mark line, svg .role-mark text')];
      const drawn = shapes.filter((s) => {
        const b = (s as SVGGraphicsElement).getBBox();
        return (s.getAttribute('d') ?? 'x') !== '' && (b.width > 0 || b.height > 0);
      });
      return { id: f.getAttribute('data-chart') ?? '?', marks: shapes.length, drawn: drawn.length };
    }));
    return { errors, requests, charts, page };
  }

  /** Fraction of pixels that differ from the most common colour, decoded by the browser itself. */
  async function inkFraction(png: Buffer): Promise<number> {
    const page = await ctx.newPage();
    try {
      return await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const counts = new Map<number, number>();
        for (let i = 0; i < d.length; i += 4) {
          const k = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        const top = Math.max(...counts.values());
        return 1 - top / (d.length / 4);
      }, png.toString('base64'));
    } finally {
      await page.close();
    }
  }

  it('the report sweep --html wrote: every chart drawn, no console error, no network, not blank', async () => {
    const v = await visit(join(dir, 'sweep.html'));
    expect(v.errors).toEqual([]);
    expect(v.requests).toEqual([]);
    expect(v.charts.map((c) => c.id)).toEqual(['memory', 'throughput', 'accuracy', 'loss', 'time-to-target', 'noise']);
    for (const c of v.charts) expect(c.drawn, `chart ${c.id} has drawn marks`).toBeGreaterThan(0);
    // The ± band (two seeds per size) and the memory limit are there.
    expect(await v.page.locator('#chart-throughput .mark-area.role-mark path').count()).toBe(1);
    expect(await v.page.locator('#chart-memory text', { hasText: 'memory limit 1 MiB' }).count()).toBe(1);
    const ink = await inkFraction(await v.page.screenshot({ fullPage: true }));
    expect(ink).toBeGreaterThan(0.02);
    // Noise scale per epoch: epoch 0 (initial weights) and 1, one line per size.
    expect(await v.page.locator('#chart-noise .mark-symbol.role-mark path').count()).toBe(4);
    await v.page.close();
  });

  it('bstune report from the results file: the same charts, CSVs, a torn line reported as skipped', async () => {
    const torn = join(dir, 'torn.jsonl');
    writeFileSync(torn, readFileSync(join(dir, 'runs.jsonl')));
    appendFileSync(torn, '{"batchSize": 128, "outc');
    // --memory-limit marks another limit than the one the runs used (1 MiB).
    const r = await runCli(['report', torn, '--html', 'report.html', '--csv', 'runs.csv', '--epochs-csv', 'epochs.csv', '--memory-limit', '700KiB'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^4 runs from .*torn\.jsonl \(config [0-9a-f]{16}\)$/m);
    expect(r.stdout).toContain('skipped: line 5: not JSON (the last write was cut short?)');
    expect(r.stdout).toContain('not shown: Recommended batch size');
    expect(readFileSync(join(dir, 'runs.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    expect(readFileSync(join(dir, 'epochs.csv'), 'utf8').trim().split('\n')).toHaveLength(5);

    const v = await visit(join(dir, 'report.html'));
    expect(v.errors).toEqual([]);
    expect(v.requests).toEqual([]);
    expect(v.charts.map((c) => c.id)).toEqual(['memory', 'throughput', 'accuracy', 'loss', 'time-to-target', 'noise']);
    for (const c of v.charts) expect(c.drawn, `chart ${c.id} has drawn marks`).toBeGreaterThan(0);
    expect(await v.page.locator('#skipped li').allTextContents()).toEqual(['line 5: not JSON (the last write was cut short?)']);
    expect(await v.page.locator('#trials tbody tr').count()).toBe(4);
    expect(await v.page.locator('#chart-memory text', { hasText: 'memory limit 700 KiB' }).count()).toBe(1);

    // Dark mode: a dark page and light axis labels; print: black on white whatever the scheme.
    const colours = () => v.page.evaluate(() => ({
      bg: getComputedStyle(document.documentElement).backgroundColor,
      label: getComputedStyle(document.querySelector('.role-axis-title text')!).fill,
    }));
    await v.page.emulateMedia({ colorScheme: 'light', media: 'screen' });
    const light = await colours();
    await v.page.emulateMedia({ colorScheme: 'dark', media: 'screen' });
    const dark = await colours();
    await v.page.emulateMedia({ colorScheme: 'dark', media: 'print' });
    const print = await colours();
    const lum = (c: string) => { const [r, g, b] = c.match(/\d+/g)!.map(Number); return (r! + g! + b!) / 3; };
    expect(lum(light.bg)).toBeGreaterThan(200);
    expect(lum(dark.bg)).toBeLessThan(60);
    expect(lum(dark.label)).toBeGreaterThan(180);
    expect(print.bg).toBe('rgb(255, 255, 255)');
    expect(lum(print.label)).toBeLessThan(40);
    await v.page.emulateMedia({ colorScheme: 'dark', media: 'screen' });
    expect(await inkFraction(await v.page.screenshot({ fullPage: true }))).toBeGreaterThan(0.02);
    const pdf = await v.page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await v.page.close();
  });

  it('find-max --html: memory points by outcome, the fitted line and the limit, drawn', async () => {
    // MLP peaks: ~380 KiB at 32, ~605 KiB at 64; a 500 KiB limit makes 128 and 64 out of memory.
    const r = await runCli(['find-max', '--start', '128', '--min', '32', '--train-limit', '300', '--memory-limit', '500KiB', '--html', 'fm.html', '--json'], { cwd: dir, timeoutMs: 180_000 });
    expect(r.stderr.split('\n').filter((l) => l.startsWith('bstune: error'))).toEqual([]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { maxBatchSize: number; htmlReport: string };
    expect(doc.maxBatchSize).toBe(32);
    expect(doc.htmlReport).toBe(join(dir, 'fm.html'));
    const v = await visit(doc.htmlReport);
    expect(v.errors).toEqual([]);
    expect(v.charts[0]!.id).toBe('memory');
    for (const c of v.charts) expect(c.drawn, `chart ${c.id} has drawn marks`).toBeGreaterThan(0);
    expect(await v.page.locator('#chart-memory .mark-symbol.role-mark path').count()).toBe(3);
    expect(await v.page.locator('#chart-memory .mark-line.role-mark path').count()).toBe(1);
    expect(await v.page.locator('#chart-memory .mark-rule.role-mark line, #chart-memory .mark-rule.role-mark path').count()).toBe(1);
    expect(await v.page.locator('#trials tbody tr.outcome-oom').count()).toBe(2);
    await v.page.close();
  });
});
