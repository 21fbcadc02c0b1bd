// A stdio MCP server for the fault and kill tests. Tools:
//   sleep {ms}   answers after ms milliseconds; when the client cancels it (notifications/
//                cancelled), appends "cancelled <marker> <reason>" to $FAULTS_LOG and stops
//   crash {ms}   exits the whole process after ms milliseconds, never answering
//   hang         never answers and ignores cancellation
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

// Where cancellations are noted: `--log FILE` (a stdio upstream of warden-mcp gets a clean
// environment), or $FAULTS_LOG.
const logFlag = process.argv.indexOf('--log');
const log = logFlag > 0 ? process.argv[logFlag + 1] : process.env.FAULTS_LOG;
const note = (line) => { if (log) fs.appendFileSync(log, `${line}\n`); };

const server = new McpServer({ name: 'warden-faults-fixture', version: '1.0.0' });
server.tool('sleep', 'Answers after ms milliseconds', { ms: z.number(), marker: z.string().optional() },
  async ({ ms, marker }, extra) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ content: [{ type: 'text', text: `slept ${ms}` }] }), ms);
    extra.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      note(`cancelled ${marker ?? '-'} ${String(extra.signal.reason ?? '')}`);
      resolve({ content: [{ type: 'text', text: 'cancelled' }] });
    });
  }));
server.tool('crash', 'Exits the process mid-call', { ms: z.number() }, async ({ ms }) =>
  new Promise(() => { setTimeout(() => process.exit(3), ms); }));
server.tool('hang', 'Never answers', async () => new Promise(() => {}));
await server.connect(new StdioServerTransport());
