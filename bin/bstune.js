#!/usr/bin/env node
// Thin shim: cache compiled modules where Node can (22.1+), then hand over to the CLI.
import module from 'node:module';

if (typeof module.enableCompileCache === 'function') {
  try {
    module.enableCompileCache();
  } catch {
    // a read-only cache dir must not stop the tool
  }
}
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
