#!/usr/bin/env node
// The `gridopt` command: the CLI built into pkg/ by `npm run build:client` (npm install runs it).
import { runCli } from "../pkg/client/cli.mjs";

process.exitCode = await runCli(process.argv.slice(2));
