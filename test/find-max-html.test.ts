/**
 * `find-max --html` names what find-max really did: it writes a results file (--out) whose
 * records carry a timestamp and the bstune version, so its page must say so, not
 * "no results file" and "the records do not name the bstune that measured them".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli, tmpDir } from './helpers/cli.js';

it('find-max --html names its results file, the version that measured and the trial dates', async () => {
  const dir = tmpDir();
  const r = await runCli(['find-max', '--start', '64', '--train-limit', '300', '--out', 'fm.jsonl', '--html', 'fm.html', '--json'], { cwd: dir, timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { resultsFile: string; htmlReport: string; bstuneVersion: string };
  expect(doc.resultsFile).toBe(join(dir, 'fm.jsonl'));
  const record = JSON.parse(readFileSync(doc.resultsFile, 'utf8').trim().split('\n')[0]!) as { timestamp: string };
  const html = readFileSync(doc.htmlReport, 'utf8');
  expect(html).not.toContain('no results file');
  expect(html).toContain(`<dd>${doc.resultsFile}</dd>`);
  expect(html).toContain(`measured with ${doc.bstuneVersion}`);
  expect(html).toContain(record.timestamp);
}, 150_000);
