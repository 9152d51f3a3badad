#!/usr/bin/env node
// The CLI entry: the compiled commander program (built by `npm install` through the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`baton: ${error?.message ?? error}\n`);
  process.exitCode = 1;
});
