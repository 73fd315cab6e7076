#!/usr/bin/env node
// The zf-vis command: the CLI is built to dist/cli.js (npm run build).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
