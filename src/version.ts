import { readFileSync } from 'node:fs';

/** Read once from package.json so `--version` and the JSON documents never disagree with the package. */
export const bstuneVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
