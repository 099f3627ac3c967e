import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse, validate, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, untilStarted } from '../helpers/processes.js';

/**
 * The README's examples, run as written against a gateway started the way the README starts it
 * (`hookgate start` on the embedded backends, development mode), from a folder where
 * `npx hookgate` is this checkout. Two things differ from a reader's machine, both so the run
 * cannot collide with anything else on the host: the listeners' ports (8080/8081 in the text
 * are replaced by free ones, and INGRESS_PORT/MANAGEMENT_PORT tell the CLI), and the management
 * key is fixed in advance (in `.hookgate/management-api-key`, plus the README's own
 * `dev-management-key-0123456789`) instead of generated.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SKIP = /^<!-- snippet: skip — (.+) -->$/;
const REFUSAL = /"errors":\[|"error":\{"code"|"__typename":"(ValidationError|ConflictError|NotFoundError|GoneError)"/;

interface Snippet {
  lang: string;
  code: string;
  line: number;
  skip?: string;
}

export function readmeSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const skip = before >= 0 ? SKIP.exec(lines[before]!.trim())?.[1] : undefined;
    snippets.push({ lang: open[1]!, code: body.join('\n'), line: start + 1, ...(skip ? { skip } : {}) });
  }
  return snippets;
}

function run(command: string, args: string[], options: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the README', () => {
  let markdown: string;
  let folder: string;
  let gateway: ChildProcess;
  let exited: Promise<unknown>;
  let env: Record<string, string>;
  let ports: { ingress: number; management: number };
  const fileKey = `readme-check-key-${Date.now()}-0123456789`;

  beforeAll(async () => {
    markdown = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    folder = await mkdtemp(join(tmpdir(), 'hookgate-readme-'));
    // `npx hookgate` in this folder runs this checkout, as it does in a clone.
    await writeFile(join(folder, 'package.json'), '{"name":"readme-check","private":true}\n');
    await mkdir(join(folder, 'node_modules', '.bin'), { recursive: true });
    await symlink(join(REPO_ROOT, 'bin', 'hookgate.mjs'), join(folder, 'node_modules', '.bin', 'hookgate'));
    await mkdir(join(folder, '.hookgate'));
    await writeFile(join(folder, '.hookgate', 'management-api-key'), `${fileKey}\n`, { mode: 0o600 });
    ports = { ingress: await freePort(), management: await freePort() };
    env = {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? folder,
      INGRESS_PORT: String(ports.ingress),
      MANAGEMENT_PORT: String(ports.management),
    };
    gateway = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hookgate.mjs'), 'start'], {
      cwd: folder,
      env: { ...env, MANAGEMENT_API_KEY: `${fileKey},dev-management-key-0123456789` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    exited = new Promise((resolve) => gateway.once('exit', resolve));
    await untilStarted(gateway, 170_000);
  }, 180_000);

  afterAll(async () => {
    gateway?.kill('SIGTERM');
    await exited;
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('links only to files inside the repository, and they exist', () => {
    const links = [...markdown.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1]!);
    expect(links.filter((link) => /^[a-z]+:/i.test(link) || link.startsWith('..'))).toEqual([]);
    for (const link of links.filter((target) => !target.startsWith('#'))) expect(existsSync(join(REPO_ROOT, link.split('#')[0]!)), link).toBe(true);
  });

  it('skips few examples, each with a reason, and has no other kind of code block', () => {
    const snippets = readmeSnippets(markdown);
    expect(snippets.filter((snippet) => snippet.skip).length).toBeLessThanOrEqual(3);
    expect(new Set(snippets.map((snippet) => snippet.lang))).toEqual(new Set(['sh', 'graphql']));
    // The marker must sit right above a block; a stray one would silently skip nothing.
    expect(markdown.match(/<!-- snippet: skip/g)?.length ?? 0).toBe(snippets.filter((snippet) => snippet.skip).length);
  });

  it('runs every shell and GraphQL example as written, in order', async () => {
    const schema = buildSchema(await readFile(join(REPO_ROOT, 'schema.graphql'), 'utf8'));
    const localize = (text: string) => text.replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.ingress}`).replaceAll('127.0.0.1:8081', `127.0.0.1:${ports.management}`);
    const graphql = async (query: string, variables: Record<string, unknown> = {}, operationName?: string) => {
      const response = await fetch(`http://127.0.0.1:${ports.management}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-api-key': fileKey },
        body: JSON.stringify({ query, variables, operationName }),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field and checked by the assertions
      return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
    };
    let ran = 0;
    for (const snippet of readmeSnippets(markdown)) {
      if (snippet.skip) continue;
      const where = `README.md line ${snippet.line}`;
      if (snippet.lang === 'sh') {
        const result = await run('bash', ['-e', '-o', 'pipefail', '-c', localize(snippet.code)], { cwd: folder, env });
        expect(result.code, `${where} exited ${result.code}:\n${result.output}`).toBe(0);
        expect(result.output, `${where} printed a refusal:\n${result.output}`).not.toMatch(REFUSAL);
      } else {
        const document = parse(snippet.code);
        expect(validate(schema, document), where).toEqual([]);
        // Ids the examples take as variables: the newest demo event (it has a destination) and the acme integration (created above in the README).
        const ids = await graphql('{ events(first: 1, filter: { provider: "demo" }) { edges { node { id } } } integration(provider: "acme") { id } }');
        const variables = { eventId: ids.data?.events.edges[0]?.node.id, integrationId: ids.data?.integration?.id };
        for (const operation of document.definitions as OperationDefinitionNode[]) {
          if (operation.operation === 'subscription') continue; // validated above; streamed by test/e2e and the subscription suites
          const answer = await graphql(snippet.code, variables, operation.name?.value);
          expect(answer.errors, `${where} ${operation.name?.value ?? ''}`).toBeUndefined();
          expect(JSON.stringify(answer.data), `${where} ${operation.name?.value ?? ''}`).not.toMatch(REFUSAL);
        }
      }
      ran++;
    }
    expect(ran).toBeGreaterThanOrEqual(6);
  }, 900_000);
});
