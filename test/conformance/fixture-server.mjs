#!/usr/bin/env node
// Fixture upstream MCP server for the official conformance suite's server scenarios.
//
// Streamable HTTP on 127.0.0.1, stateful sessions (one SDK transport per Mcp-Session-Id),
// resumable SSE streams (in-memory event store) and DNS-rebinding protection (Host header
// must be a loopback name). It implements the fixture tools, resources, resource templates,
// prompts, completions, logging, progress, sampling and elicitation round trips that the
// scenarios call, as described by each scenario's own "Server Implementation Requirements".
//
//   node fixture-server.mjs [--port N]      (N = 0 or absent: any free port)
//
// Prints one line "fixture listening on http://127.0.0.1:PORT/mcp" once it accepts requests.
// Two revisions on the one /mcp, as an upstream that serves both would:
//   - 2025-era sessions (initialize, Mcp-Session-Id): @modelcontextprotocol/sdk 1.x's low-level
//     Server (raw JSON Schemas are needed, e.g. for the JSON Schema 2020-12 tool) and
//     StreamableHTTPServerTransport;
//   - 2026-07-28 (per-request _meta envelope, no session): the v2 packages,
//     @modelcontextprotocol/server's Server behind createMcpHandler({ legacy: 'reject' }),
//     mounted with @modelcontextprotocol/node. isLegacyRequest picks the side per request.
// Both serve the same tools, resources and prompts (defined once below).

import { randomBytes, randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';
import {
  Server as ModernServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  createMcpHandler,
  createRequestStateCodec,
  inputResponse,
  isLegacyRequest,
} from '@modelcontextprotocol/server';
import { toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';

// ---------------------------------------------------------------------------------------------
// Media: a 1x1 red PNG and a short silent WAV, generated here.

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) {
    c = (crc ^ b) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function redPixelPng() {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const raw = Buffer.from([0, 0xff, 0, 0]); // filter byte + one red pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function silentWav(samples = 800, rate = 8000) {
  const data = Buffer.alloc(samples * 2); // 16-bit mono silence
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const PNG = redPixelPng().toString('base64');
const WAV = silentWav().toString('base64');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Tools

const noArgs = { type: 'object', properties: {}, required: [] };

const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

const TOOLS = [
  { name: 'test_simple_text', description: 'Returns simple text content', inputSchema: noArgs },
  { name: 'test_image_content', description: 'Returns image content (1x1 red PNG)', inputSchema: noArgs },
  { name: 'test_audio_content', description: 'Returns audio content (short WAV)', inputSchema: noArgs },
  { name: 'test_embedded_resource', description: 'Returns an embedded resource', inputSchema: noArgs },
  { name: 'test_multiple_content_types', description: 'Returns text, image and resource content', inputSchema: noArgs },
  { name: 'test_tool_with_logging', description: 'Sends three log notifications while running', inputSchema: noArgs },
  { name: 'test_tool_with_progress', description: 'Reports progress 0, 50, 100 of 100', inputSchema: noArgs },
  { name: 'test_error_handling', description: 'Always fails with isError: true', inputSchema: noArgs },
  {
    name: 'test_sampling',
    description: 'Asks the client for an LLM completion (sampling/createMessage)',
    inputSchema: {
      type: 'object',
      properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } },
      required: ['prompt'],
    },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the user for input (elicitation/create)',
    inputSchema: {
      type: 'object',
      properties: { message: { type: 'string', description: 'The message to show the user' } },
      required: ['message'],
    },
  },
  { name: 'test_elicitation_sep1034_defaults', description: 'Elicitation with defaults for every primitive type (SEP-1034)', inputSchema: noArgs },
  { name: 'test_elicitation_sep1330_enums', description: 'Elicitation with all five enum schema variants (SEP-1330)', inputSchema: noArgs },
  { name: 'test_reconnection', description: 'Closes its SSE stream mid-call; the result arrives after the client reconnects', inputSchema: noArgs },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: JSON_SCHEMA_2020_12,
      type: 'object',
      $defs: {
        address: {
          $anchor: 'addressDef',
          type: 'object',
          properties: { street: { type: 'string' }, city: { type: 'string' } },
        },
      },
      properties: {
        name: { type: 'string' },
        address: { $ref: '#/$defs/address' },
        contactMethod: { type: 'string', enum: ['phone', 'email'] },
        phone: { type: 'string' },
        email: { type: 'string' },
      },
      allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
      if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
      then: { required: ['phone'] },
      else: { required: ['email'] },
      additionalProperties: false,
    },
  },
];

const text = (t) => ({ type: 'text', text: t });

async function callTool(server, req, extra) {
  const name = req.params.name;
  const args = req.params.arguments ?? {};
  switch (name) {
    case 'test_simple_text':
      return { content: [text('This is a simple text response for testing.')] };
    case 'test_image_content':
      return { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] };
    case 'test_audio_content':
      return { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] };
    case 'test_embedded_resource':
      return {
        content: [{
          type: 'resource',
          resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
        }],
      };
    case 'test_multiple_content_types':
      return {
        content: [
          text('Multiple content types test:'),
          { type: 'image', data: PNG, mimeType: 'image/png' },
          {
            type: 'resource',
            resource: {
              uri: 'test://mixed-content-resource',
              mimeType: 'application/json',
              text: JSON.stringify({ test: 'data', value: 123 }),
            },
          },
        ],
      };
    case 'test_tool_with_logging': {
      const log = (data) =>
        extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'fixture', data } });
      await log('Tool execution started');
      await sleep(50);
      await log('Tool processing data');
      await sleep(50);
      await log('Tool execution completed');
      return { content: [text('Tool with logging executed successfully')] };
    }
    case 'test_tool_with_progress': {
      const token = req.params._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress, total: 100, message: `step ${progress}` },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [text('Tool with progress executed successfully')] };
    }
    case 'test_error_handling':
      return { isError: true, content: [text('This tool intentionally returns an error for testing')] };
    case 'test_sampling': {
      requireClientCapability(server, 'sampling');
      const r = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: {
            messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }],
            maxTokens: 100,
          },
        },
        CreateMessageResultSchema,
      );
      const reply = Array.isArray(r.content) ? r.content.map((c) => c.text ?? '').join('') : r.content?.text ?? '';
      return { content: [text(`LLM response: ${reply}`)] };
    }
    case 'test_elicitation': {
      requireClientCapability(server, 'elicitation');
      const r = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: String(args.message ?? 'Please provide your information'),
            requestedSchema: {
              type: 'object',
              properties: {
                username: { type: 'string', description: "User's response" },
                email: { type: 'string', description: "User's email address" },
              },
              required: ['username', 'email'],
            },
          },
        },
        ElicitResultSchema,
      );
      return { content: [text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
    }
    case 'test_elicitation_sep1034_defaults': {
      requireClientCapability(server, 'elicitation');
      const r = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: {
                  type: 'string',
                  description: 'User status',
                  enum: ['active', 'inactive', 'pending'],
                  default: 'active',
                },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
              required: [],
            },
          },
        },
        ElicitResultSchema,
      );
      return { content: [text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
    }
    case 'test_elicitation_sep1330_enums': {
      requireClientCapability(server, 'elicitation');
      const r = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: 'Please choose from the options',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: {
                  type: 'string',
                  description: 'Untitled single-select',
                  enum: ['option1', 'option2', 'option3'],
                },
                titledSingle: {
                  type: 'string',
                  description: 'Titled single-select',
                  oneOf: [
                    { const: 'value1', title: 'First Option' },
                    { const: 'value2', title: 'Second Option' },
                    { const: 'value3', title: 'Third Option' },
                  ],
                },
                legacyEnum: {
                  type: 'string',
                  description: 'Legacy titled enum',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: {
                  type: 'array',
                  description: 'Untitled multi-select',
                  items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                },
                titledMulti: {
                  type: 'array',
                  description: 'Titled multi-select',
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First Choice' },
                      { const: 'value2', title: 'Second Choice' },
                      { const: 'value3', title: 'Third Choice' },
                    ],
                  },
                },
              },
              required: [],
            },
          },
        },
        ElicitResultSchema,
      );
      return { content: [text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
    }
    case 'test_reconnection': {
      // Close the POST's SSE stream (the client got the priming event id), then answer: the
      // result is stored in the event store and replayed when the client reconnects with
      // Last-Event-ID.
      await sleep(100);
      extra.closeSSEStream?.();
      await sleep(200);
      return { content: [text('Reconnection test completed')] };
    }
    case 'json_schema_2020_12_tool':
      return { content: [text(`json_schema_2020_12_tool called with ${JSON.stringify(args)}`)] };
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  }
}

function requireClientCapability(server, cap) {
  if (!server.getClientCapabilities()?.[cap]) {
    throw new McpError(ErrorCode.InvalidRequest, `Client does not support ${cap}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Resources

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', description: 'A static text resource', mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', description: 'A static binary resource (PNG)', mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
];

const TEMPLATES = [
  {
    uriTemplate: 'test://template/{id}/data',
    name: 'template-data',
    description: 'Data for an id, substituted into the URI',
    mimeType: 'application/json',
  },
];

function readResource(uri) {
  switch (uri) {
    case 'test://static-text':
      return { contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
    case 'test://static-binary':
      return { contents: [{ uri, mimeType: 'image/png', blob: PNG }] };
    case 'test://watched-resource':
      return { contents: [{ uri, mimeType: 'text/plain', text: 'Watched resource content.' }] };
  }
  const m = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
  if (m) {
    const id = decodeURIComponent(m[1]);
    return {
      contents: [{
        uri,
        mimeType: 'application/json',
        text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
      }],
    };
  }
  throw new McpError(ErrorCode.InvalidParams, 'Resource not found', { uri });
}

// ---------------------------------------------------------------------------------------------
// Prompts

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two required arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt that embeds a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with image content' },
];

function getPrompt(name, args = {}) {
  const user = (content) => ({ role: 'user', content });
  switch (name) {
    case 'test_simple_prompt':
      return { messages: [user(text('This is a simple prompt for testing.'))] };
    case 'test_prompt_with_arguments':
      return { messages: [user(text(`Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`))] };
    case 'test_prompt_with_embedded_resource':
      return {
        messages: [
          user({
            type: 'resource',
            resource: {
              uri: String(args.resourceUri ?? 'test://example-resource'),
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          }),
          user(text('Please process the embedded resource above.')),
        ],
      };
    case 'test_prompt_with_image':
      return {
        messages: [
          user({ type: 'image', data: PNG, mimeType: 'image/png' }),
          user(text('Please analyze the image above.')),
        ],
      };
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  }
}

const COMPLETIONS = ['paris', 'park', 'party', 'hello', 'help', 'world', 'test', '123'];

// ---------------------------------------------------------------------------------------------
// One SDK Server per session.

function newServer() {
  const server = new Server(
    { name: 'warden-conformance-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
      },
    },
  );
  const subscriptions = new Set();

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (req, extra) => callTool(server, req, extra));

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: TEMPLATES }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => readResource(req.params.uri));
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscriptions.add(req.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscriptions.delete(req.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (req) => getPrompt(req.params.name, req.params.arguments));

  server.setRequestHandler(CompleteRequestSchema, async (req) => {
    const prefix = String(req.params.argument?.value ?? '');
    const values = COMPLETIONS.filter((v) => v.startsWith(prefix));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  server.setRequestHandler(SetLevelRequestSchema, async () => ({}));
  return server;
}

// ---------------------------------------------------------------------------------------------
// 2026-07-28: one v2 Server per request. Same content; tools that would ask the client for
// something mid-call (sampling, elicitation) need the input_required round trip instead and
// are not offered on this side.

const MODERN_TOOLS = [
  ...TOOLS.filter((t) => !/^test_(sampling|elicitation|reconnection)/.test(t.name)),
  {
    name: 'test_missing_capability',
    description: 'Needs the client to have declared sampling; refuses with -32021 otherwise',
    inputSchema: noArgs,
  },
  { name: 'test_logging_tool', description: 'Logs only at the level the request asked for', inputSchema: noArgs },
  {
    // SEP-2243: the arguments marked x-mcp-header travel as Mcp-Param-* headers too, which the
    // server checks against the body (the SDK does, for the tools it lists).
    name: 'test_param_headers',
    description: 'Echoes the region and priority it was routed by (x-mcp-header parameters)',
    inputSchema: {
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        priority: { type: 'integer', 'x-mcp-header': 'Priority' },
        urgent: { type: 'boolean', 'x-mcp-header': 'Urgent' },
        query: { type: 'string' },
      },
      required: ['region'],
    },
  },
  {
    name: 'test_slow',
    description: 'Answers after `ms` milliseconds; prints "slow call aborted" if its request is cancelled first',
    inputSchema: { type: 'object', properties: { ms: { type: 'number' } }, required: [] },
  },
];

// ---------------------------------------------------------------------------------------------
// 2026-07-28 multi-round-trip requests (SEP-2322): instead of asking the client mid-call, a
// handler answers `input_required` with the requests it needs; the client retries the same
// request with `inputResponses` (and the `requestState` echoed). The state is HMAC-sealed by
// the SDK's codec (a per-process key: one fixture process serves every round).

const stateCodec = createRequestStateCodec({ key: randomBytes(32), ttlSeconds: 600 });

const elicit = (message, property, type = 'string') => ({
  method: 'elicitation/create',
  params: {
    message,
    requestedSchema: { type: 'object', properties: { [property]: { type } }, required: [property] },
  },
});
const sample = (prompt, maxTokens) => ({
  method: 'sampling/createMessage',
  params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens },
});
const listRoots = () => ({ method: 'roots/list', params: {} });
// What the request's envelope says the client can do (the envelope is keyed by the full
// io.modelcontextprotocol/ names).
const clientCapabilities = (ctx) => ctx.mcpReq.envelope?.['io.modelcontextprotocol/clientCapabilities'] ?? {};

// The accepted elicitation content's `property` when it is a string (or boolean), else undefined.
function elicited(ctx, key, property) {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'elicit' || view.action !== 'accept' || typeof view.content !== 'object') return undefined;
  const value = view.content?.[property];
  return typeof value === 'string' || typeof value === 'boolean' ? value : undefined;
}
function sampled(ctx, key) {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'sampling') return undefined;
  const content = view.result?.content;
  const first = Array.isArray(content) ? content[0] : content;
  return typeof first?.text === 'string' ? first.text : undefined;
}
function roots(ctx, key) {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  return view.kind === 'roots' && Array.isArray(view.roots) ? view.roots : undefined;
}
const inputNeeded = (inputRequests, requestState) => ({
  resultType: 'input_required',
  inputRequests,
  ...(requestState === undefined ? {} : { requestState }),
});
const state = (ctx, payload) => stateCodec.mint(payload);

// name -> handler(ctx): a complete result, or input_required (asked again while an answer is
// missing or malformed: SEP-2322 says re-request, not fail).
const INPUT_REQUIRED_TOOLS = {
  async test_input_required_result_elicitation(ctx) {
    const name = elicited(ctx, 'user_name', 'name');
    if (name === undefined) return inputNeeded({ user_name: elicit('What is your name?', 'name') });
    return { content: [text(`Hello, ${name}!`)] };
  },
  async test_input_required_result_sampling(ctx) {
    const answer = sampled(ctx, 'capital_question');
    if (answer === undefined) {
      return inputNeeded({ capital_question: sample('What is the capital of France?', 100) });
    }
    return { content: [text(`The model said: ${answer}`)] };
  },
  async test_input_required_result_list_roots(ctx) {
    const list = roots(ctx, 'client_roots');
    if (list === undefined) return inputNeeded({ client_roots: listRoots() });
    return { content: [text(`The client has ${list.length} root(s): ${list.map((r) => r.uri).join(', ')}`)] };
  },
  async test_input_required_result_request_state(ctx) {
    const round = ctx.mcpReq.requestState();
    const ok = elicited(ctx, 'confirm', 'ok');
    if (round?.step !== 'confirm' || ok === undefined) {
      return inputNeeded({ confirm: elicit('Please confirm', 'ok', 'boolean') }, await state(ctx, { step: 'confirm' }));
    }
    return { content: [text(`state-ok: confirmed ${ok}`)] };
  },
  async test_input_required_result_multiple_inputs(ctx) {
    const round = ctx.mcpReq.requestState();
    const name = elicited(ctx, 'user_name', 'name');
    const greeting = sampled(ctx, 'greeting');
    const list = roots(ctx, 'client_roots');
    if (round?.step !== 'all' || name === undefined || greeting === undefined || list === undefined) {
      return inputNeeded(
        {
          user_name: elicit('What is your name?', 'name'),
          greeting: sample('Generate a greeting', 50),
          client_roots: listRoots(),
        },
        await state(ctx, { step: 'all' }),
      );
    }
    return { content: [text(`${greeting}, ${name} (${list.length} root(s))`)] };
  },
  async test_input_required_result_multi_round(ctx) {
    const round = ctx.mcpReq.requestState();
    if (round?.step === 'color') {
      const color = elicited(ctx, 'step2', 'color');
      if (color !== undefined) return { content: [text(`${round.name} likes ${color}`)] };
      return inputNeeded(
        { step2: elicit('Step 2: What is your favorite color?', 'color') },
        await state(ctx, round),
      );
    }
    const name = round?.step === 'name' ? elicited(ctx, 'step1', 'name') : undefined;
    if (name === undefined) {
      return inputNeeded({ step1: elicit('Step 1: What is your name?', 'name') }, await state(ctx, { step: 'name' }));
    }
    return inputNeeded(
      { step2: elicit('Step 2: What is your favorite color?', 'color') },
      await state(ctx, { step: 'color', name }),
    );
  },
  async test_input_required_result_tampered_state(ctx) {
    // The codec has verified any echoed state before this runs (a tampered one never gets here).
    const round = ctx.mcpReq.requestState();
    const ok = elicited(ctx, 'confirm', 'ok');
    if (round?.step !== 'confirm' || ok === undefined) {
      return inputNeeded({ confirm: elicit('Please confirm', 'ok', 'boolean') }, await state(ctx, { step: 'confirm' }));
    }
    return { content: [text('state verified')] };
  },
  // The response stream of a 2026-07-28 call holds notifications and the result only, never a
  // request of the server's own: the elicitation travels inside input_required.
  async test_streaming_elicitation(ctx) {
    const answer = elicited(ctx, 'confirm', 'ok');
    if (answer !== undefined) return { content: [text(`confirmed: ${answer}`)] };
    await ctx.mcpReq.log('info', 'asking the client through input_required', 'fixture');
    return inputNeeded({ confirm: elicit('Proceed?', 'ok', 'boolean') });
  },
  async test_input_required_result_capabilities(ctx) {
    const caps = clientCapabilities(ctx);
    const wanted = {};
    if (caps.elicitation) wanted.user_name = elicit('What is your name?', 'name');
    if (caps.sampling) wanted.greeting = sample('Generate a greeting', 50);
    if (caps.roots) wanted.client_roots = listRoots();
    if (Object.keys(wanted).length === 0) {
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
    }
    const done = Object.keys(wanted).every((key) => ctx.mcpReq.inputResponses?.[key] !== undefined);
    if (!done) return inputNeeded(wanted);
    return { content: [text(`answered: ${Object.keys(wanted).join(', ')}`)] };
  },
};
for (const name of Object.keys(INPUT_REQUIRED_TOOLS)) {
  MODERN_TOOLS.push({ name, description: 'Needs client input through input_required (SEP-2322)', inputSchema: noArgs });
}

const INPUT_REQUIRED_PROMPT = {
  name: 'test_input_required_result_prompt',
  description: 'Asks the client for context through input_required before it is built',
};
async function inputRequiredPrompt(ctx) {
  const context = elicited(ctx, 'user_context', 'context');
  if (context === undefined) {
    return inputNeeded({ user_context: elicit('What context should the prompt use?', 'context') });
  }
  return { messages: [{ role: 'user', content: text(`Use this context: ${context}`) }] };
}

// v1 McpErrors (codes and data) as v2 ProtocolErrors.
async function asModern(fn) {
  try {
    return await fn();
  } catch (e) {
    if (typeof e?.code === 'number') {
      throw new ProtocolError(e.code, String(e.message).replace(/^MCP error -?\d+: /, ''), e.data);
    }
    throw e;
  }
}

async function modernCallTool(req, ctx) {
  const name = req.params.name;
  if (!MODERN_TOOLS.some((t) => t.name === name)) {
    throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  }
  if (INPUT_REQUIRED_TOOLS[name]) return INPUT_REQUIRED_TOOLS[name](ctx);
  if (name === 'test_slow') {
    // 2026-07-28 cancels by closing the request: the SDK aborts the request's signal.
    const ms = Math.min(Number(req.params.arguments?.ms ?? 1000), 60000);
    const aborted = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      ctx.mcpReq.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (aborted) console.log('slow call aborted');
    return { content: [text(`slept ${ms}`)] };
  }
  if (name === 'test_param_headers') {
    const a = req.params.arguments ?? {};
    return { content: [text(`routed: region=${a.region} priority=${a.priority ?? '-'} urgent=${a.urgent ?? '-'}`)] };
  }
  if (name === 'test_missing_capability') {
    if (!clientCapabilities(ctx).sampling) {
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
    }
    return { content: [text('The client declared sampling')] };
  }
  if (name === 'test_logging_tool' || name === 'test_tool_with_logging') {
    for (const data of ['Tool execution started', 'Tool processing data', 'Tool execution completed']) {
      await ctx.mcpReq.log('info', data, 'fixture');
      await sleep(50);
    }
    return { content: [text('Tool with logging executed successfully')] };
  }
  const extra = { sendNotification: (n) => ctx.mcpReq.notify(n) };
  return asModern(() => callTool(null, req, extra));
}

function modernServer() {
  const server = new ModernServer(
    { name: 'warden-conformance-fixture', version: '1.0.0' },
    {
      capabilities: { tools: {}, resources: {}, prompts: {}, completions: {}, logging: {} },
      requestState: { verify: (state, ctx) => stateCodec.verify(state, ctx) },
    },
  );
  server.setRequestHandler('tools/list', async () => ({ tools: MODERN_TOOLS }));
  server.setRequestHandler('tools/call', (req, ctx) => modernCallTool(req, ctx));
  server.setRequestHandler('resources/list', async () => ({ resources: RESOURCES }));
  server.setRequestHandler('resources/templates/list', async () => ({ resourceTemplates: TEMPLATES }));
  server.setRequestHandler('resources/read', (req) => asModern(async () => readResource(req.params.uri)));
  server.setRequestHandler('prompts/list', async () => ({ prompts: [...PROMPTS, INPUT_REQUIRED_PROMPT] }));
  server.setRequestHandler('prompts/get', (req, ctx) =>
    req.params.name === INPUT_REQUIRED_PROMPT.name
      ? inputRequiredPrompt(ctx)
      : asModern(async () => getPrompt(req.params.name, req.params.arguments)),
  );
  server.setRequestHandler('completion/complete', async (req) => {
    const prefix = String(req.params.argument?.value ?? '');
    const values = COMPLETIONS.filter((v) => v.startsWith(prefix));
    return { completion: { values, total: values.length, hasMore: false } };
  });
  return server;
}

const modern = toNodeHandler(createMcpHandler(() => modernServer(), { legacy: 'reject' }));

// ---------------------------------------------------------------------------------------------
// HTTP

function parsePort(argv) {
  const i = argv.indexOf('--port');
  if (i >= 0 && argv[i + 1] !== undefined) return Number(argv[i + 1]);
  return Number(process.env.PORT ?? 0);
}

const transports = new Map(); // session id -> transport
const app = createMcpExpressApp({ host: '127.0.0.1' }); // JSON body parsing + Host validation

function jsonRpcError(res, status, code, message) {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

// --stateless-only: an upstream that speaks 2026-07-28 and refuses sessions (as one built with
// createMcpHandler alone does), for the gateway's translation of input_required to session agents.
const statelessOnly = process.argv.includes('--stateless-only');
// --sessions-only: an upstream that predates 2026-07-28 (answers server/discover and every
// envelope request as an SDK 1.x server does), for the gateway's translation of its mid-call
// requests into input_required for stateless agents.
const sessionsOnly = process.argv.includes('--sessions-only');

// SEP-2243 Mcp-Param-* headers of a 2026-07-28 tools/call, checked against the body for the
// tool's x-mcp-header properties (the SDK's low-level Server used here does not check them): a
// value in the body needs its header, decoding (=?base64?…?=) to the same text. The reason, or
// undefined when they agree.
function paramHeaderMismatch(req, body) {
  if (body?.method !== 'tools/call') return undefined;
  const tool = MODERN_TOOLS.find((t) => t.name === body.params?.name);
  const args = body.params?.arguments ?? {};
  for (const [key, schema] of Object.entries(tool?.inputSchema?.properties ?? {})) {
    const headerName = schema['x-mcp-header'];
    const value = args[key];
    if (headerName === undefined || value === undefined || value === null) continue;
    const header = req.headers[`mcp-param-${headerName.toLowerCase()}`];
    if (header === undefined) return `the body carries ${key} but Mcp-Param-${headerName} is absent`;
    let text = header;
    const wrapped = /^=\?base64\?(.*)\?=$/.exec(header);
    if (wrapped) {
      if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(wrapped[1])) {
        return `Mcp-Param-${headerName} is not valid Base64`;
      }
      text = Buffer.from(wrapped[1], 'base64').toString('utf8');
    }
    if (text !== String(value)) return `Mcp-Param-${headerName} (${text}) differs from ${key} (${value})`;
  }
  return undefined;
}

app.post('/mcp', async (req, res) => {
  const sid = req.headers['mcp-session-id'];
  try {
    if (!(await isLegacyRequest(await toWebRequest(req, req.body), req.body))) {
      if (sessionsOnly && typeof sid !== 'string') {
        return jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id and not an initialize request');
      }
      const mismatch = paramHeaderMismatch(req, req.body);
      if (mismatch) return jsonRpcError(res, 400, -32020, `Bad Request: the request headers and body disagree: ${mismatch}`);
      return await modern(req, res, req.body);
    }
    if (statelessOnly) {
      return jsonRpcError(res, 400, -32600, 'this server speaks MCP 2026-07-28 only (no initialize, no sessions)');
    }
    if (typeof sid === 'string') {
      const t = transports.get(sid);
      if (!t) return jsonRpcError(res, 404, -32001, 'Session not found');
      return await t.handleRequest(req, res, req.body);
    }
    if (!isInitializeRequest(req.body)) {
      return jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id and not an initialize request');
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      retryInterval: 500,
      onsessioninitialized: (id) => transports.set(id, transport),
      onsessionclosed: (id) => transports.delete(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await newServer().connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (err) {
    console.error('fixture: POST /mcp failed:', err);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal server error');
  }
});

async function withSession(req, res) {
  const sid = req.headers['mcp-session-id'];
  if (typeof sid !== 'string') return jsonRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id required');
  const t = transports.get(sid);
  if (!t) return jsonRpcError(res, 404, -32001, 'Session not found');
  try {
    await t.handleRequest(req, res);
  } catch (err) {
    console.error(`fixture: ${req.method} /mcp failed:`, err);
    if (!res.headersSent) jsonRpcError(res, 500, -32603, 'Internal server error');
  }
}

app.get('/mcp', withSession);
app.delete('/mcp', withSession);

const httpServer = app.listen(parsePort(process.argv.slice(2)), '127.0.0.1', () => {
  console.log(`fixture listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});

function shutdown() {
  for (const t of transports.values()) t.close().catch(() => {});
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
