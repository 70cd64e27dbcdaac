#!/usr/bin/env node
// @ts-check
// The killswitch operator CLI. `npx killswitch --help`; docs in docs/cli.md.
import { main } from '../cli/main.mjs';

process.exitCode = await main(process.argv);
