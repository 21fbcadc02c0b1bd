// A stdio MCP server that reports what it can see of its host, for the isolation tests.
// Tools:
//   probe {paths}  {uid, gid, cwd, env, parent: {environ, cmdline}, files: {path: "readable" |
//                  error code}}: what this child may read of warden-mcp (its parent) and of
//                  the files named
//   exit           exits the process (warden-mcp starts a new child on the next call)
//   sample-later {delay_ms}  waits, then asks its client for a sampling (a request of the
//                  child's own, naming no call); returns the answer's text or the error
//   sleep {ms}     answers after ms milliseconds
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

function tryRead(file) {
  try {
    return { readable: true, text: fs.readFileSync(file).toString('latin1') };
  } catch (e) {
    return { readable: false, error: e.code };
  }
}

const server = new McpServer({ name: 'warden-probe-fixture', version: '1.0.0' });
server.tool('probe', 'Reports what this process can see', { paths: z.array(z.string()).optional() },
  async ({ paths }) => {
    const environ = tryRead(`/proc/${process.ppid}/environ`);
    const cmdline = tryRead(`/proc/${process.ppid}/cmdline`);
    const files = {};
    for (const p of paths ?? []) {
      const r = tryRead(p);
      files[p] = r.readable ? 'readable' : r.error;
    }
    const report = {
      pid: process.pid, ppid: process.ppid, uid: process.getuid(), gid: process.getgid(),
      cwd: process.cwd(), env: process.env,
      parent: { environ, cmdline: cmdline.readable ? cmdline.text.split('\0').join(' ') : cmdline.error },
      files,
    };
    return { content: [{ type: 'text', text: JSON.stringify(report) }] };
  });
server.tool('exit', 'Exits the process', async () => {
  setTimeout(() => process.exit(0), 10);
  return { content: [{ type: 'text', text: 'bye' }] };
});
server.tool('sample-later', 'Asks the client for a sampling after a delay',
  { delay_ms: z.number().int().min(0).max(10000) }, async ({ delay_ms }) => {
    await new Promise((r) => setTimeout(r, delay_ms));
    try {
      const answer = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: 'whose call is this?' } }],
        maxTokens: 5,
      });
      return { content: [{ type: 'text', text: `answered: ${answer.content.text}` }] };
    } catch (e) {
      return { content: [{ type: 'text', text: `refused: ${e.message}` }] };
    }
  });
server.tool('sleep', 'Answers after a while', { ms: z.number().int().min(0).max(10000) },
  async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    return { content: [{ type: 'text', text: 'slept' }] };
  });
await server.connect(new StdioServerTransport());
