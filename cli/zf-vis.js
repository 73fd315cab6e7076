#!/usr/bin/env node
// The zf-vis command: the CLI is built to dist/cli.js (npm run build).
import { main, quietOnClosedPipe } from '../dist/cli.js';

quietOnClosedPipe(); // `zf-vis ... | head` ends quietly (exit 0), not with an EPIPE stack trace
process.exitCode = await main(process.argv.slice(2));
