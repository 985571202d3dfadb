#!/usr/bin/env node
// The `gridopt` command: the CLI built into pkg/ by `npm run build:client` (npm install runs it).
import { runCli } from "../pkg/client/cli.mjs";

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Exit once stdout is flushed rather than when the event loop empties: a WebSocket the server has
// closed can hold the process for seconds more while its TCP teardown finishes (10 s under workerd).
process.stdout.write("", () => process.exit(code));
