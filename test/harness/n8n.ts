/**
 * E2E harness: a real n8n 2.x (the pinned .n8n-runtime install) in a temporary user folder on a
 * free port, with this package installed exactly as n8n installs community packages. Credentials and
 * workflows are imported with n8n's CLI, published through the public API, webhooks are called at
 * their production URLs and executions are read back through the public API.
 *
 * Used by the e2e suite, the reliability suite, benchmarks and `npm start`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

import { installPackedPackage, packPackage, PACKAGE_NAME } from './install-package';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const N8N_RUNTIME = path.join(REPO_ROOT, '.n8n-runtime');
const N8N_BIN = path.join(N8N_RUNTIME, 'node_modules/n8n/bin/n8n');

/** The package's nodes and credentials as n8n must list them once the package is installed. */
export function expectedTypes(): { nodes: string[]; credentials: string[] } {
	const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { n8n: { nodes: string[]; credentials: string[] } };
	const className = (file: string) => path.basename(file).replace(/\.(node|credentials)\.js$/, '');
	const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
	return {
		nodes: manifest.n8n.nodes.map((file) => `${PACKAGE_NAME}.${camel(className(file))}`),
		credentials: manifest.n8n.credentials.map((file) => camel(className(file))),
	};
}

export const OWNER = {
	email: 'owner@example.org',
	firstName: 'Event',
	lastName: 'Organizer',
	password: 'E2e-Owner-Passw0rd',
};

export interface CredentialImport {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface WorkflowImport {
	id: string;
	name: string;
	nodes: unknown[];
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface N8nOptions {
	/** A label for the user folder and logs. */
	label?: string;
	credentials?: CredentialImport[];
	workflows?: WorkflowImport[];
	/** Workflow ids to publish once n8n is up (default: every imported workflow). */
	publish?: string[];
	env?: Record<string, string>;
	/** Use this user folder (created when missing); default: a new temporary one. */
	userFolder?: string;
	/** (Re)install the packed package into the user folder (default: true for a new folder). */
	installPackage?: boolean;
	/** The env-managed owner account (default OWNER). */
	owner?: { email: string; password: string; firstName?: string; lastName?: string };
	port?: number;
	/** Extra n8n processes of the same instance (queue mode workers): `n8n worker`. */
	workers?: number;
	/** Where to write the logs (default: <userFolder>/n8n.log). */
	logFile?: string;
	/** Stream n8n's output to this process's stdout (npm start). */
	inheritOutput?: boolean;
	/**
	 * npm start: keep one public-API key in this file (0600) and reuse it at every start, with only
	 * the scopes given and an expiry, instead of creating a never-expiring all-scope key each time.
	 */
	apiKey?: { file: string; scopes: string[]; validDays: number };
}

export interface ExecutionSummary {
	id: string;
	workflowId: string;
	status: string;
	finished: boolean;
	mode: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData: {
			runData: Record<string, Array<{ data?: { main: Array<Array<{ json: Record<string, unknown> }> | null> }; error?: { message: string } }>>;
			error?: { message: string; description?: string };
			lastNodeExecuted?: string;
		};
	};
}

export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

let packedTarball: string | undefined;
let baseInstall: string | undefined;

/** Packs and installs the package once per process; instances copy that install (n8n's layout). */
function installedPackageTemplate(): string {
	if (baseInstall) return baseInstall;
	packedTarball ??= packPackage(path.join(REPO_ROOT, '.tmp/pack-e2e'));
	const folder = path.join(REPO_ROOT, '.tmp/e2e-package');
	installPackedPackage(packedTarball, folder);
	baseInstall = path.join(folder, '.n8n/nodes');
	return baseInstall;
}

function ownerPasswordHash(password: string): string {
	// bcryptjs ships with n8n: the hash n8n expects in N8N_INSTANCE_OWNER_PASSWORD_HASH.
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const bcrypt = require(path.join(N8N_RUNTIME, 'node_modules/bcryptjs')) as { hashSync(p: string, rounds: number): string };
	return bcrypt.hashSync(password, 10);
}

export class N8nInstance {
	readonly userFolder: string;
	readonly port: number;
	readonly baseUrl: string;
	readonly logFile: string;
	apiKey = '';
	private cookie = '';
	private main?: ChildProcess;
	private workers: ChildProcess[] = [];
	private logStream?: WriteStream;
	private readonly env: Record<string, string>;

	private constructor(
		private readonly options: N8nOptions,
		userFolder: string,
		port: number,
		env: Record<string, string>,
		private readonly owner: { email: string; password: string },
	) {
		this.userFolder = userFolder;
		this.port = port;
		this.baseUrl = `http://127.0.0.1:${port}`;
		this.logFile = options.logFile ?? path.join(userFolder, 'n8n.log');
		this.env = env;
	}

	/** Starts a fresh n8n (or a restart on `userFolder`), with the package installed, data imported and workflows published. */
	static async start(options: N8nOptions = {}): Promise<N8nInstance> {
		if (!existsSync(N8N_BIN)) throw new Error('n8n is not installed in .n8n-runtime: run `npm run setup`');
		mkdirSync(path.join(REPO_ROOT, '.tmp'), { recursive: true });
		const userFolder = options.userFolder ?? mkdtempSync(path.join(REPO_ROOT, '.tmp', `n8n-${options.label ?? 'e2e'}-`));
		if (options.installPackage ?? !options.userFolder) {
			mkdirSync(path.join(userFolder, '.n8n'), { recursive: true });
			rmSync(path.join(userFolder, '.n8n/nodes'), { recursive: true, force: true });
			cpSync(installedPackageTemplate(), path.join(userFolder, '.n8n/nodes'), { recursive: true });
		}
		const owner = { ...OWNER, ...options.owner };
		const port = options.port ?? (await freePort());
		const brokerPort = await freePort();
		const env: Record<string, string> = {
			N8N_USER_FOLDER: userFolder,
			N8N_ENCRYPTION_KEY: 'n8n-nodes-pretix-matrix-e2e-key',
			N8N_PORT: String(port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			N8N_PROTOCOL: 'http',
			N8N_WEBHOOK_URL: `http://127.0.0.1:${port}/`,
			WEBHOOK_URL: `http://127.0.0.1:${port}/`,
			N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			N8N_SECURE_COOKIE: 'false',
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			// No outside network here: don't ask api.n8n.io for the verified-package list.
			N8N_VERIFIED_PACKAGES_ENABLED: 'false',
			N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
			N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
			N8N_INSTANCE_OWNER_EMAIL: owner.email,
			N8N_INSTANCE_OWNER_FIRST_NAME: owner.firstName,
			N8N_INSTANCE_OWNER_LAST_NAME: owner.lastName,
			N8N_INSTANCE_OWNER_PASSWORD_HASH: ownerPasswordHash(owner.password),
			N8N_LOG_LEVEL: 'debug',
			N8N_LOG_OUTPUT: 'console',
			NO_COLOR: '1',
			FORCE_COLOR: '0',
			GENERIC_TIMEZONE: 'UTC',
			TZ: 'UTC',
			DB_SQLITE_POOL_SIZE: '4',
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
			EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
			N8N_PUBLIC_API_DISABLED: 'false',
			...options.env,
		};
		const instance = new N8nInstance(options, userFolder, port, env, owner);
		if (options.credentials?.length) instance.cli(['import:credentials', `--input=${instance.writeInput('credentials.json', options.credentials)}`]);
		if (options.workflows?.length) {
			// One CLI run for all of them (an array file): each run boots n8n, which takes half a minute
			// on a busy machine. `active` is read-only for the API and ignored by the import; strip it,
			// like n8n's docs say.
			const workflows = options.workflows.map(({ active: _active, ...rest }) => rest);
			instance.cli(['import:workflow', `--input=${instance.writeInput('workflows.json', workflows)}`]);
		}
		try {
			await instance.launch();
			await instance.authenticate();
			await instance.assertPackageLoaded();
			for (const id of options.publish ?? (options.workflows ?? []).map((w) => w.id)) await instance.publish(id);
		} catch (error) {
			// Nobody else holds the instance yet: do not leave its processes running.
			await instance.stop();
			throw error;
		}
		return instance;
	}

	private writeInput(name: string, data: unknown): string {
		const dir = path.join(this.userFolder, 'imports');
		mkdirSync(dir, { recursive: true });
		const file = path.join(dir, name);
		writeFileSync(file, JSON.stringify(data, null, 2));
		return file;
	}

	private spawnEnv(): NodeJS.ProcessEnv {
		// Node 24 first on PATH (n8n ≥2.36 refuses older runtimes); n8n finds its own modules.
		const nodeBin = path.dirname(process.execPath);
		const inherited = { ...process.env };
		// Not n8n's business: jest's test mode and vm-modules flag change how n8n runs.
		for (const name of ['NODE_OPTIONS', 'NODE_ENV', 'JEST_WORKER_ID', 'ENGINE_SOURCE']) delete inherited[name];
		return { ...inherited, ...this.env, PATH: `${nodeBin}:${process.env.PATH ?? ''}` };
	}

	/** Runs an n8n CLI command against this instance's database (n8n must not rely on it while running). */
	cli(args: string[]): string {
		const result = spawnSync(process.execPath, [N8N_BIN, ...args], { env: this.spawnEnv(), encoding: 'utf8', timeout: 180_000 });
		this.appendLog(`\n$ n8n ${args.join(' ')}\n${result.stdout}${result.stderr}`);
		if (result.status !== 0) throw new Error(`n8n ${args[0]} failed (exit ${result.status}): ${tail(result.stderr || result.stdout, 1500)}`);
		return result.stdout;
	}

	private appendLog(text: string) {
		mkdirSync(path.dirname(this.logFile), { recursive: true });
		writeFileSync(this.logFile, text, { flag: 'a' });
	}

	private async launch(): Promise<void> {
		this.logStream = createWriteStream(this.logFile, { flags: 'a' });
		this.main = this.spawnN8n(['start']);
		// Each worker starts its own task-runner broker: same env, but a port of its own.
		for (let i = 0; i < (this.options.workers ?? 0); i++) this.workers.push(this.spawnN8n(['worker', '--concurrency=5'], { N8N_RUNNERS_BROKER_PORT: String(await freePort()) }));
		await this.waitReady();
	}

	private spawnN8n(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
		const child = spawn(process.execPath, [N8N_BIN, ...args], { env: { ...this.spawnEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
		const prefix = args[0] === 'start' ? '' : `[${args[0]} ${child.pid}] `;
		// Whole lines only: the processes share one log, and a chunk may end mid-line (a worker's
		// prefix glued into the middle of the main's line would name the wrong process).
		const forwarder = () => {
			let partial = '';
			const write = (lines: string) => {
				const text = prefix ? lines.replace(/^(?=.)/gm, prefix) : lines;
				if (this.logStream && !this.logStream.writableEnded) this.logStream.write(text);
				if (this.options.inheritOutput) process.stdout.write(text);
			};
			return {
				data: (chunk: Buffer) => {
					const text = partial + chunk.toString();
					const end = text.lastIndexOf('\n') + 1;
					partial = text.slice(end);
					if (end) write(text.slice(0, end));
				},
				flush: () => {
					if (partial) write(`${partial}\n`);
					partial = '';
				},
			};
		};
		const out = forwarder();
		const err = forwarder();
		child.stdout?.on('data', out.data);
		child.stderr?.on('data', err.data);
		child.once('exit', () => {
			out.flush();
			err.flush();
		});
		return child;
	}

	private async waitReady(timeoutMs = 300_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			if (this.main?.exitCode !== null && this.main?.exitCode !== undefined) throw new Error(`n8n exited with code ${this.main.exitCode} during start-up:\n${tail(this.logs(), 3000)}`);
			try {
				const res = await fetch(`${this.baseUrl}/healthz/readiness`);
				if (res.status === 200) return;
			} catch {
				// not listening yet
			}
			await delay(250);
		}
		throw new Error(`n8n was not ready within ${timeoutMs} ms:\n${tail(this.logs(), 3000)}`);
	}

	/** Logs in as the env-managed owner and creates a public-API key. */
	private async authenticate(): Promise<void> {
		const login = await fetch(`${this.baseUrl}/rest/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ emailOrLdapLoginId: this.owner.email, password: this.owner.password }),
		});
		if (login.status !== 200) throw new Error(`n8n login failed: ${login.status} ${await login.text()}`);
		this.cookie = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
		const scopes = ((await this.rest('GET', '/rest/api-keys/scopes')) as { data: string[] }).data;
		if (this.options.apiKey) {
			this.apiKey = await this.reusableApiKey(this.options.apiKey, scopes);
			return;
		}
		const key = (await this.rest('POST', '/rest/api-keys', { label: `e2e-${Date.now()}`, scopes, expiresAt: null })) as { data: { rawApiKey: string } };
		this.apiKey = key.data.rawApiKey;
	}

	/** The stored key while it works and has a day left; else a new one (the old and earlier harness keys deleted). */
	private async reusableApiKey(options: NonNullable<N8nOptions['apiKey']>, available: string[]): Promise<string> {
		const stored = existsSync(options.file) ? (JSON.parse(readFileSync(options.file, 'utf8')) as { id?: string; key?: string; expiresAt?: number }) : {};
		if (stored.key && (stored.expiresAt ?? 0) > Date.now() / 1000 + 86_400) {
			const probe = await fetch(`${this.baseUrl}/api/v1/workflows?limit=1`, { headers: { 'X-N8N-API-KEY': stored.key, accept: 'application/json' } });
			if (probe.status === 200) return stored.key;
		}
		const listed = ((await this.rest('GET', '/rest/api-keys')) as { data: { items?: Array<{ id: string; label: string }> } | Array<{ id: string; label: string }> }).data;
		for (const old of Array.isArray(listed) ? listed : (listed.items ?? []))
			if (old.id === stored.id || /^e2e-\d+$/.test(old.label)) await this.rest('DELETE', `/rest/api-keys/${old.id}`);
		const expiresAt = Math.floor(Date.now() / 1000) + options.validDays * 86_400;
		const scopes = options.scopes.filter((scope) => available.includes(scope));
		const created = (await this.rest('POST', '/rest/api-keys', { label: 'npm start', scopes, expiresAt })) as { data: { id: string; rawApiKey: string } };
		writeFileSync(options.file, JSON.stringify({ id: created.data.id, key: created.data.rawApiKey, expiresAt, scopes }, null, 2), { mode: 0o600 });
		chmodSync(options.file, 0o600);
		return created.data.rawApiKey;
	}

	/** An authenticated call to n8n's internal REST API (what the editor uses). */
	async rest(method: string, urlPath: string, body?: unknown): Promise<unknown> {
		const res = await fetch(`${this.baseUrl}${urlPath}`, {
			method,
			headers: { cookie: this.cookie, 'content-type': 'application/json', 'browser-id': 'e2e-harness' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (res.status >= 400) throw new Error(`${method} ${urlPath} → ${res.status}: ${tail(text, 500)}`);
		return text ? JSON.parse(text) : undefined;
	}

	/** A call to n8n's public API (`/api/v1`) with the harness's API key. */
	async api(method: string, urlPath: string, body?: unknown): Promise<unknown> {
		const res = await fetch(`${this.baseUrl}/api/v1${urlPath}`, {
			method,
			headers: { 'X-N8N-API-KEY': this.apiKey, 'content-type': 'application/json', accept: 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (res.status >= 400) throw new Error(`API ${method} ${urlPath} → ${res.status}: ${tail(text, 500)}`);
		return text ? JSON.parse(text) : undefined;
	}

	async publish(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${workflowId}/publish`, {});
	}

	async unpublish(workflowId: string): Promise<void> {
		await this.api('POST', `/workflows/${workflowId}/unpublish`, {});
	}

	/**
	 * Fails loudly unless n8n lists every node and credential of the package under the package's
	 * name (not unknown, not `CUSTOM.`), as the editor's node panel sees them.
	 */
	async assertPackageLoaded(): Promise<void> {
		const nodes = (await this.rest('GET', '/types/nodes.json')) as Array<{ name: string }>;
		const credentials = (await this.rest('GET', '/types/credentials.json')) as Array<{ name: string }>;
		const nodeNames = new Set(nodes.map((n) => n.name));
		const credentialNames = new Set(credentials.map((c) => c.name));
		const expected = expectedTypes();
		const custom = [...nodeNames].filter((name) => name.startsWith('CUSTOM.'));
		const missingNodes = expected.nodes.filter((name) => !nodeNames.has(name));
		const missingCredentials = expected.credentials.filter((name) => !credentialNames.has(name));
		if (custom.length || missingNodes.length || missingCredentials.length) {
			throw new Error(
				`n8n did not load the package as ${PACKAGE_NAME}: missing nodes [${missingNodes.join(', ')}], missing credentials [${missingCredentials.join(', ')}], CUSTOM nodes [${custom.join(', ')}]\n${tail(this.logs(), 3000)}`,
			);
		}
	}

	/** PID of the main n8n process while it runs (benchmarks read its memory from /proc). */
	get mainPid(): number | undefined {
		return this.main?.pid;
	}

	webhookUrl(webhookPath: string): string {
		return `${this.baseUrl}/webhook/${webhookPath.replace(/^\//, '')}`;
	}

	/**
	 * Executions of a workflow, newest first. Without `status`, n8n's public API leaves out the
	 * executions running in this very process (`excludeRunning`); ask for `status: 'running'` to see them.
	 */
	async executions(workflowId: string, includeData = true, status?: string): Promise<ExecutionSummary[]> {
		const all: ExecutionSummary[] = [];
		let cursor: string | undefined;
		do {
			const qs = new URLSearchParams({ workflowId, includeData: String(includeData), limit: '250' });
			if (status) qs.set('status', status);
			if (cursor) qs.set('cursor', cursor);
			const page = (await this.api('GET', `/executions?${qs}`)) as { data: ExecutionSummary[]; nextCursor?: string | null };
			all.push(...page.data);
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
		return all;
	}

	/** Executions of the workflow that have not finished: running, queued (`new`) or waiting. */
	async unfinishedExecutions(workflowId: string): Promise<ExecutionSummary[]> {
		const running = await this.executions(workflowId, false, 'running');
		const listed = await this.executions(workflowId, false);
		const ids = new Set(running.map((e) => e.id));
		return [...running, ...listed.filter((e) => !ids.has(e.id) && ['running', 'new', 'waiting'].includes(e.status))];
	}

	/** Waits until `count` executions of the workflow have finished (success or error). */
	async waitForExecutions(workflowId: string, count: number, timeoutMs = 60_000): Promise<ExecutionSummary[]> {
		const deadline = Date.now() + timeoutMs;
		let last: ExecutionSummary[] = [];
		while (Date.now() < deadline) {
			last = (await this.executions(workflowId, true)).filter((e) => !['running', 'new', 'waiting'].includes(e.status));
			if (last.length >= count) return last;
			await delay(300);
		}
		throw new Error(`Expected ${count} finished executions of ${workflowId}, saw ${last.length} within ${timeoutMs} ms:\n${tail(this.logs(), 2000)}`);
	}

	logs(): string {
		return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
	}

	/** Stops n8n: SIGTERM (graceful shutdown) or SIGKILL (a crash). Keeps the user folder. */
	async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		const children = [this.main, ...this.workers].filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
		await Promise.all(
			children.map(
				(child) =>
					new Promise<void>((resolve) => {
						const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
						child.once('exit', () => {
							clearTimeout(timer);
							resolve();
						});
						child.kill(signal);
					}),
			),
		);
		this.main = undefined;
		this.workers = [];
		await new Promise<void>((resolve) => (this.logStream ? this.logStream.end(resolve) : resolve()));
		this.logStream = undefined;
	}

	/** Starts n8n again on the same user folder and port (after stop()). */
	async restart(): Promise<void> {
		await this.launch();
		await this.authenticate();
	}

	/** Stops n8n and deletes its user folder (unless E2E_KEEP=1, for post-mortems). */
	async destroy(): Promise<void> {
		await this.stop();
		if (process.env.E2E_KEEP !== '1') rmSync(this.userFolder, { recursive: true, force: true });
	}
}

export function runData(execution: ExecutionSummary, node: string, output = 0, run = 0): Array<Record<string, unknown>> {
	const main = execution.data?.resultData.runData[node]?.[run]?.data?.main?.[output] ?? [];
	return main.map((item) => item.json);
}

function tail(text: string, chars: number): string {
	return text.length > chars ? `…${text.slice(-chars)}` : text;
}

export function delay(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
