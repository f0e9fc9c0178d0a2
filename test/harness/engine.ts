/**
 * Engine harness: runs workflow JSON through n8n-core's real execution engine (WorkflowExecute,
 * WebhookContext, TriggerContext, HookContext) with this package's real node and credential classes.
 *
 * It reimplements n8n's unpublished NodeTestHarness (packages/core/nodes-testing) and goes further
 * where our nodes need it: generic credential authentication, `preAuthentication`, OAuth2 token
 * refresh with `$self` expressions resolved, webhooks, long-lived triggers and credential tests.
 *
 * By default the package is loaded the way n8n loads an installed community package: the `npm pack`
 * output installed under <user folder>/.n8n/nodes/node_modules (see global-setup.ts). With
 * ENGINE_SOURCE=ts the TypeScript sources are loaded instead, for quick iteration while developing.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { ExecuteContext, ExecutionLifecycleHooks, HookContext, PackageDirectoryLoader, TriggerContext, WebhookContext, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	ICredentialsHelper,
	isExpression,
	LoggerProxy,
	NodeHelpers,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type ICredentialTestRequest,
	type IDataObject,
	type IExecuteData,
	type IHttpRequestHelper,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IRun,
	type ITriggerResponse,
	type IVersionedNodeType,
	type IWebhookData,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

export const PACKAGE_NAME = 'n8n-nodes-pretix-matrix';
export const REPO_ROOT = path.resolve(__dirname, '../..');
/** Where global-setup installs the packed package, as n8n would under its user folder. */
export const INSTALLED_USER_FOLDER = path.join(REPO_ROOT, '.tmp/engine-user');
export const INSTALLED_PACKAGE_DIR = path.join(INSTALLED_USER_FOLDER, '.n8n/nodes/node_modules', PACKAGE_NAME);
/** n8n-nodes-base of the pinned n8n: the source of the built-in `oAuth2Api` parent credential. */
const N8N_NODES_BASE = path.join(REPO_ROOT, '.n8n-runtime/node_modules/n8n-nodes-base');

// ---------------------------------------------------------------------------------------------
// Loading the package

/**
 * Loads TypeScript sources in place of the compiled dist/ files (ENGINE_SOURCE=ts). Entries of
 * package.json whose source does not exist yet are skipped, so a node under construction does not
 * block the tests of the others.
 */
class SourcePackageLoader extends PackageDirectoryLoader {
	protected resolvePath(file: string): string {
		return super
			.resolvePath(file)
			.replace(`${path.sep}dist${path.sep}`, path.sep)
			.replace(/\.js$/, '.ts')
			.replace(/\.tson$/, '.json');
	}

	protected readJSONSync<T>(file: string): T {
		const json = super.readJSONSync<T>(file);
		if (file !== 'package.json') return json;
		const manifest = json as unknown as { n8n: { nodes: string[]; credentials: string[] } };
		const exists = (entry: string) => existsSync(this.resolvePath(entry));
		return { ...manifest, n8n: { ...manifest.n8n, nodes: manifest.n8n.nodes.filter(exists), credentials: manifest.n8n.credentials.filter(exists) } } as unknown as T;
	}
}

export interface LoadedPackage {
	loader: PackageDirectoryLoader;
	nodeTypes: INodeTypes;
	credentialTypes: Map<string, ICredentialType>;
	source: 'installed' | 'ts';
}

let loaded: Promise<LoadedPackage> | undefined;

export function loadPackage(): Promise<LoadedPackage> {
	loaded ??= (async () => {
		silenceN8nLogs();
		const source = process.env.ENGINE_SOURCE === 'ts' ? 'ts' : 'installed';
		let loader: PackageDirectoryLoader;
		if (source === 'ts') {
			loader = new SourcePackageLoader(REPO_ROOT);
		} else {
			if (!existsSync(path.join(INSTALLED_PACKAGE_DIR, 'package.json'))) {
				throw new Error(`The packed package is not installed at ${INSTALLED_PACKAGE_DIR}: run \`npm run build\` and the jest global setup (or set ENGINE_SOURCE=ts).`);
			}
			loader = new PackageDirectoryLoader(INSTALLED_PACKAGE_DIR);
		}
		await loader.loadAll();
		if (loader.packageName !== PACKAGE_NAME) throw new Error(`Loaded package ${loader.packageName}, expected ${PACKAGE_NAME}`);

		const credentialTypes = new Map<string, ICredentialType>();
		for (const [name, { type }] of Object.entries(loader.credentialTypes)) credentialTypes.set(name, type);
		// Parent credential types our credentials extend (n8n ships them in n8n-nodes-base).
		for (const parent of ['OAuth2Api']) {
			const file = path.join(N8N_NODES_BASE, 'dist/credentials', `${parent}.credentials.js`);
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const Parent = require(file)[parent] as new () => ICredentialType;
			const instance = new Parent();
			credentialTypes.set(instance.name, instance);
		}
		credentialTestNodeType.description.credentials = [...credentialTypes.keys()].map((name) => ({ name, required: false }));

		const nodeTypes: INodeTypes = {
			getByName(type: string): INodeType | IVersionedNodeType {
				if (type === CREDENTIAL_TEST_NODE_TYPE) return credentialTestNodeType;
				return loader.getNode(stripPackage(type)).type;
			},
			getByNameAndVersion(type: string, version?: number): INodeType {
				if (type === CREDENTIAL_TEST_NODE_TYPE) return credentialTestNodeType;
				return NodeHelpers.getVersionedNodeType(loader.getNode(stripPackage(type)).type, version);
			},
			getKnownTypes() {
				return loader.known.nodes;
			},
		};
		return { loader, nodeTypes, credentialTypes, source };
	})();
	return loaded;
}

/** n8n's credential tester runs test requests as a NoOp node with a `temp` parameter. */
const CREDENTIAL_TEST_NODE_TYPE = 'n8n-nodes-base.noOp';
const credentialTestNodeType: INodeType = {
	description: { displayName: 'No Operation', name: 'noOp', group: ['organization'], version: 1, description: '', defaults: { name: 'No Operation' }, inputs: ['main' as never], outputs: ['main' as never], properties: [] },
};

function stripPackage(type: string): string {
	const prefix = `${PACKAGE_NAME}.`;
	if (!type.startsWith(prefix)) throw new Error(`Unknown node type ${type}: this harness only runs ${prefix}* nodes`);
	return type.slice(prefix.length);
}

function silenceN8nLogs() {
	const quiet = () => {};
	LoggerProxy.init({ error: quiet, warn: quiet, info: quiet, debug: quiet, scoped: () => LoggerProxy } as never);
	const folder = path.join(REPO_ROOT, '.tmp/engine-n8n-home', String(process.env.JEST_WORKER_ID ?? '0'));
	mkdirSync(folder, { recursive: true });
	process.env.N8N_USER_FOLDER ??= folder;
	process.env.N8N_ENCRYPTION_KEY ??= 'engine-harness-encryption-key';
}

// ---------------------------------------------------------------------------------------------
// Credentials

export interface CredentialUpdate {
	type: string;
	kind: 'oauthTokenData' | 'data';
	data: ICredentialDataDecryptedObject;
}

/**
 * The CLI's CredentialsHelper without its database: stores decrypted data per credential type,
 * fills property defaults (parents first, like the CLI), resolves `$self` expressions, applies
 * generic and function authentication, runs `preAuthentication` on expirable properties, and keeps
 * OAuth token refreshes so a later request in the same run sees the new token.
 */
export class EngineCredentialsHelper extends ICredentialsHelper {
	readonly updates: CredentialUpdate[] = [];
	/** The type of every credential read (n8n reads and decrypts from its database on each). */
	readonly reads: string[] = [];

	private readonly stored = new Map<string, ICredentialDataDecryptedObject>();

	constructor(
		private readonly types: Map<string, ICredentialType>,
		credentials: Record<string, ICredentialDataDecryptedObject>,
	) {
		super();
		for (const [type, data] of Object.entries(credentials)) this.stored.set(type, structuredClone(data));
	}

	current(type: string): ICredentialDataDecryptedObject | undefined {
		return this.stored.get(type);
	}

	private typeOf(name: string): ICredentialType {
		const type = this.types.get(name);
		if (!type) throw new Error(`Unknown credential type ${name}`);
		return type;
	}

	getParentTypes(name: string): string[] {
		const parents = this.typeOf(name).extends ?? [];
		return parents.flatMap((parent) => [parent, ...this.getParentTypes(parent)]);
	}

	getCredentialsProperties(name: string): INodeProperties[] {
		const type = this.typeOf(name);
		const combined: INodeProperties[] = [];
		for (const parent of type.extends ?? []) NodeHelpers.mergeNodeProperties(combined, this.getCredentialsProperties(parent));
		NodeHelpers.mergeNodeProperties(combined, type.properties);
		if (['oAuth2Api', 'oAuth1Api'].includes(name)) {
			combined.push({ displayName: 'oauthTokenData', name: 'oauthTokenData', type: 'json', required: false, default: {} });
		}
		return combined;
	}

	async getDecrypted(_additionalData: IWorkflowExecuteAdditionalData, _nodeCredentials: INodeCredentialsDetails, type: string): Promise<ICredentialDataDecryptedObject> {
		this.reads.push(type);
		const stored = this.stored.get(type);
		if (!stored) throw new Error(`No test credentials of type ${type} were given to the harness`);
		const properties = this.getCredentialsProperties(type);
		const withDefaults = (NodeHelpers.getNodeParameters(properties, stored as INodeParameters, true, false, null, null) ?? {}) as ICredentialDataDecryptedObject;
		// getNodeParameters drops values it does not know (oauthTokenData on a child type): keep them.
		const data = { ...stored, ...withDefaults, oauthTokenData: stored.oauthTokenData } as ICredentialDataDecryptedObject;
		if (data.oauthTokenData === undefined) delete data.oauthTokenData;
		return resolveSelfExpressions(data);
	}

	async authenticate(credentials: ICredentialDataDecryptedObject, typeName: string, requestOptions: IHttpRequestOptions, workflow?: Workflow, node?: INode): Promise<IHttpRequestOptions> {
		const type = this.typeOf(typeName);
		if (typeof type.authenticate === 'function') return await type.authenticate(credentials, requestOptions);
		if (type.authenticate && type.authenticate.type === 'generic') {
			if (!workflow || !node) throw new Error('Generic credential authentication needs the workflow and node');
			const target = requestOptions as unknown as Record<string, Record<string, unknown>>;
			for (const [outerKey, values] of Object.entries(type.authenticate.properties)) {
				target[outerKey] ??= {};
				for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
					const resolvedKey = resolveCredentialValue(key, credentials, workflow, node);
					target[outerKey][resolvedKey] = typeof value === 'string' ? resolveCredentialValue(value, credentials, workflow, node) : value;
				}
			}
		}
		return requestOptions;
	}

	async preAuthentication(helpers: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject, typeName: string, node: INode, credentialsExpired: boolean): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.typeOf(typeName);
		const expirable = type.properties.find((p) => p.type === 'hidden' && p.typeOptions?.expirable === true);
		if (!expirable || typeof type.preAuthentication !== 'function') return undefined;
		const testingCredentials = node?.type === CREDENTIAL_TEST_NODE_TYPE && node?.parameters?.temp === '';
		if (credentials[expirable.name] !== '' && credentials[expirable.name] !== undefined && !credentialsExpired && !testingCredentials) return undefined;
		const output = (await type.preAuthentication.call(helpers, credentials)) as ICredentialDataDecryptedObject;
		if (output[expirable.name] === undefined) return undefined;
		const merged = { ...(this.stored.get(typeName) ?? {}), ...output };
		this.stored.set(typeName, merged);
		this.updates.push({ type: typeName, kind: 'data', data: structuredClone(output) });
		return Object.assign(credentials, output);
	}

	async runPreAuthentication(helpers: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject, typeName: string): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.typeOf(typeName);
		if (typeof type.preAuthentication !== 'function') return undefined;
		return ((await type.preAuthentication.call(helpers, credentials)) as ICredentialDataDecryptedObject) ?? undefined;
	}

	async getCredentials(): Promise<never> {
		throw new Error('The engine harness keeps no encrypted credentials');
	}

	async updateCredentials(_nodeCredentials: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		this.stored.set(type, structuredClone(data));
		this.updates.push({ type, kind: 'data', data: structuredClone(data) });
	}

	async updateCredentialsOauthTokenData(_nodeCredentials: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
		const stored = this.stored.get(type) ?? {};
		stored.oauthTokenData = structuredClone(data.oauthTokenData);
		this.stored.set(type, stored);
		this.updates.push({ type, kind: 'oauthTokenData', data: structuredClone(data.oauthTokenData as ICredentialDataDecryptedObject) });
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}
}

/** `={{$self["url"]}}/x` style values, as the CLI resolves them when it decrypts a credential. */
function resolveSelfExpressions(data: ICredentialDataDecryptedObject): ICredentialDataDecryptedObject {
	const out: ICredentialDataDecryptedObject = { ...data };
	for (const [key, value] of Object.entries(data)) {
		if (typeof value !== 'string' || !isExpression(value)) continue;
		out[key] = evaluateExpression(value, { $self: data });
	}
	return out;
}

let expressionWorkflow: Workflow | undefined;

function evaluateExpression(value: string, additionalKeys: Record<string, unknown>): string {
	expressionWorkflow ??= new Workflow({ nodes: [], connections: {}, active: false, nodeTypes: { getByName: () => undefined, getByNameAndVersion: () => undefined, getKnownTypes: () => ({}) } as unknown as INodeTypes });
	const node = { name: 'credential', type: 'credential', typeVersion: 1, position: [0, 0], parameters: {} } as unknown as INode;
	const result = expressionWorkflow.expression.getSimpleParameterValue(node, value, 'internal', additionalKeys as never, undefined, '');
	return result === undefined || result === null ? '' : String(result);
}

function resolveCredentialValue(value: string, credentials: ICredentialDataDecryptedObject, workflow: Workflow, node: INode): string {
	if (!isExpression(value)) return value;
	const result = workflow.expression.getSimpleParameterValue(node, value, 'internal', { $credentials: credentials } as never, undefined, '');
	return result === undefined || result === null ? '' : String(result);
}

// ---------------------------------------------------------------------------------------------
// Workflows

export interface NodeSpec {
	name: string;
	/** Short node name (`pretixOrders`); the harness adds the package prefix. */
	type: string;
	parameters?: INodeParameters;
	/** Credential types the node uses; each gets a fake id and name. */
	credentials?: string[];
	typeVersion?: number;
	webhookId?: string;
	onError?: INode['onError'];
	continueOnFail?: boolean;
}

export interface WorkflowJson {
	id?: string;
	name?: string;
	nodes: INode[];
	connections: Workflow['connectionsBySourceNode'];
	settings?: IDataObject;
}

/**
 * Builds workflow JSON from node specs. `connections` are [from, to, fromOutput?]; when omitted the
 * nodes are chained in order through output 0.
 */
export function wf(specs: NodeSpec[], connections?: Array<[string, string, number?]>): WorkflowJson {
	const nodes: INode[] = specs.map((spec, index) => ({
		id: randomUUID(),
		name: spec.name,
		type: `${PACKAGE_NAME}.${spec.type}`,
		typeVersion: spec.typeVersion ?? 1,
		position: [index * 220, 0],
		parameters: spec.parameters ?? {},
		...(spec.credentials ? { credentials: Object.fromEntries(spec.credentials.map((c) => [c, { id: `cred-${c}`, name: `Test ${c}` }])) } : {}),
		...(spec.webhookId ? { webhookId: spec.webhookId } : {}),
		...(spec.onError ? { onError: spec.onError } : {}),
		...(spec.continueOnFail ? { continueOnFail: true } : {}),
	}));
	const links = connections ?? specs.slice(1).map((spec, index) => [specs[index].name, spec.name, 0] as [string, string, number]);
	const byName: WorkflowJson['connections'] = {};
	for (const [from, to, output = 0] of links) {
		byName[from] ??= { main: [] };
		const main = byName[from].main;
		while (main.length <= output) main.push([]);
		(main[output] ??= []).push({ node: to, type: 'main' as never, index: 0 });
	}
	return { id: 'engine-test', name: 'Engine test', nodes, connections: byName, settings: { executionOrder: 'v1' } };
}

export interface EngineRun {
	run: IRun;
	status: IRun['status'];
	error?: { message: string; description?: string | null; name?: string; httpCode?: string | null; node?: string };
	/** JSON of output `outputIndex` of the node's run `runIndex`; [] when the node did not run. */
	output(node: string, outputIndex?: number, runIndex?: number): IDataObject[];
	items(node: string, outputIndex?: number, runIndex?: number): INodeExecutionData[];
	/** Names of nodes in the order they executed. */
	executionOrder: string[];
	credentialUpdates: CredentialUpdate[];
	/** The workflow's static data after the run (pass it to the next run to persist it). */
	staticData: IDataObject;
	credentialsHelper: EngineCredentialsHelper;
}

export interface RunOptions {
	workflow: WorkflowJson;
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** Items fed into the start node (default: one empty item). */
	input?: IDataObject[] | INodeExecutionData[];
	/** Node to start at (default: the first node). */
	startNode?: string;
	staticData?: IDataObject;
	/** Execution mode (default 'trigger': production semantics, static data is kept). */
	mode?: WorkflowExecuteMode;
	/** Reuse a credentials helper, e.g. to keep a refreshed OAuth token across runs. */
	credentialsHelper?: EngineCredentialsHelper;
}

interface Prepared {
	workflow: Workflow;
	additionalData: IWorkflowExecuteAdditionalData;
	credentialsHelper: EngineCredentialsHelper;
	hooks: ExecutionLifecycleHooks;
	done: Promise<IRun>;
	executionOrder: string[];
}

async function prepare(opts: RunOptions, extra: Partial<IWorkflowExecuteAdditionalData> = {}): Promise<Prepared> {
	const pkg = await loadPackage();
	const workflow = new Workflow({
		id: opts.workflow.id ?? 'engine-test',
		name: opts.workflow.name ?? 'Engine test',
		nodes: structuredClone(opts.workflow.nodes),
		connections: structuredClone(opts.workflow.connections),
		nodeTypes: pkg.nodeTypes,
		settings: { executionOrder: 'v1', ...(opts.workflow.settings ?? {}) },
		staticData: plain(opts.staticData ?? {}),
		active: false,
	});
	const credentialsHelper = opts.credentialsHelper ?? new EngineCredentialsHelper(pkg.credentialTypes, opts.credentials ?? {});
	const executionId = randomUUID();
	const hooks = new ExecutionLifecycleHooks(opts.mode ?? 'trigger', executionId, { id: workflow.id, name: workflow.name, nodes: opts.workflow.nodes, connections: opts.workflow.connections, active: false, settings: {} } as never);
	const executionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName: string) => {
		executionOrder.push(nodeName);
	});
	let resolveDone!: (run: IRun) => void;
	const done = new Promise<IRun>((resolve) => (resolveDone = resolve));
	hooks.addHandler('workflowExecuteAfter', (run: IRun) => resolveDone(run));
	const base = 'http://127.0.0.1:5678';
	const additionalData = {
		hooks,
		executionId,
		credentialsHelper,
		variables: {},
		currentNodeExecutionIndex: 0,
		restApiUrl: `${base}/rest`,
		instanceBaseUrl: `${base}/`,
		formWaitingBaseUrl: `${base}/form-waiting`,
		webhookBaseUrl: `${base}/webhook`,
		webhookWaitingBaseUrl: `${base}/webhook-waiting`,
		webhookTestBaseUrl: `${base}/webhook-test`,
		userId: 'engine-user',
		setExecutionStatus: () => {},
		executeWorkflow: async () => {
			throw new Error('Sub-workflows are not supported by the engine harness');
		},
		getRunExecutionData: async () => undefined,
		logAiEvent: () => {},
		startRunnerTask: async () => {
			throw new Error('Code runners are not part of the engine harness');
		},
		...extra,
	} as unknown as IWorkflowExecuteAdditionalData;
	return { workflow, additionalData, credentialsHelper, hooks, done, executionOrder };
}

function toItems(input: IDataObject[] | INodeExecutionData[] | undefined): INodeExecutionData[] {
	if (!input) return [{ json: {} }];
	return input.map((entry) => (isExecutionData(entry) ? entry : { json: entry as IDataObject }));
}

function isExecutionData(entry: unknown): entry is INodeExecutionData {
	return !!entry && typeof entry === 'object' && 'json' in entry && typeof (entry as { json: unknown }).json === 'object' && Object.keys(entry as object).every((k) => ['json', 'binary', 'pairedItem', 'error'].includes(k));
}

async function execute(prepared: Prepared, startNode: INode, data: INodeExecutionData[][], mode: WorkflowExecuteMode): Promise<EngineRun> {
	const runExecutionData = createRunExecutionData({
		executionData: { nodeExecutionStack: [{ node: startNode, data: { main: data }, source: null } as IExecuteData] },
	});
	// A runtime context skips the DI-backed ExecutionContextService (needs the CLI's container).
	(runExecutionData.executionData as unknown as IDataObject).runtimeData = { version: 1, establishedAt: Date.now(), source: 'manual' };
	await new WorkflowExecute(prepared.additionalData, mode, runExecutionData).processRunExecutionData(prepared.workflow);
	const run = await prepared.done;
	return toEngineRun(run, prepared);
}

function toEngineRun(run: IRun, prepared: Prepared): EngineRun {
	const runData = run.data.resultData.runData;
	const items = (node: string, outputIndex = 0, runIndex = 0): INodeExecutionData[] => runData[node]?.[runIndex]?.data?.main?.[outputIndex] ?? [];
	const error = run.data.resultData.error as (Error & { description?: string; httpCode?: string; node?: INode }) | undefined;
	return {
		run,
		status: run.status,
		error: error ? { message: error.message, description: error.description, name: error.name, httpCode: error.httpCode, node: error.node?.name } : undefined,
		items,
		output: (node, outputIndex, runIndex) => items(node, outputIndex, runIndex).map((item) => item.json),
		executionOrder: prepared.executionOrder,
		credentialUpdates: prepared.credentialsHelper.updates,
		staticData: plain(prepared.workflow.staticData as IDataObject),
		credentialsHelper: prepared.credentialsHelper,
	};
}

/** n8n wraps static data in a change-tracking proxy: tests get (and give back) plain JSON. */
export function plain<T>(value: T): T {
	return JSON.parse(JSON.stringify(value ?? {})) as T;
}

/** Runs the workflow from its start node with `input` items, through n8n's WorkflowExecute. */
export async function runWorkflow(opts: RunOptions): Promise<EngineRun> {
	const prepared = await prepare(opts);
	const startName = opts.startNode ?? opts.workflow.nodes[0]?.name;
	const startNode = startName ? prepared.workflow.getNode(startName) : null;
	if (!startNode) throw new Error(`Start node ${startName} not found`);
	return await execute(prepared, startNode, [toItems(opts.input)], opts.mode ?? 'trigger');
}

// ---------------------------------------------------------------------------------------------
// Webhooks

export interface WebhookRequest {
	method?: string;
	/** Extra path after the webhook URL (matched against the node's webhook path). */
	path?: string;
	headers?: Record<string, string>;
	body?: unknown;
	query?: Record<string, string>;
	params?: Record<string, string>;
	/** Raw body bytes, as n8n keeps them (defaults to the JSON of `body`). */
	rawBody?: Buffer;
}

export interface RecordedResponse {
	status: number;
	headers: Record<string, string>;
	body: unknown;
	/** True once the node or the harness answered. */
	sent: boolean;
}

export interface WebhookResult {
	response: RecordedResponse;
	webhookResponse: IWebhookResponseData;
	/** The workflow run the webhook started, if it returned workflowData. */
	run?: EngineRun;
	staticData: IDataObject;
	credentialsHelper: EngineCredentialsHelper;
}

/** A recording stand-in for the express Response n8n hands to `webhook()`. */
export function recordingResponse(): RecordedResponse & Record<string, unknown> {
	const recorded: RecordedResponse & Record<string, unknown> = { status: 200, headers: {}, body: undefined, sent: false };
	const res = recorded as Record<string, unknown>;
	res.status = (code: number) => {
		recorded.status = code;
		return res;
	};
	Object.defineProperty(res, 'statusCode', { get: () => recorded.status, set: (code: number) => (recorded.status = code) });
	res.setHeader = (name: string, value: string) => {
		recorded.headers[name.toLowerCase()] = String(value);
		return res;
	};
	res.set = res.setHeader;
	res.header = res.setHeader;
	res.getHeader = (name: string) => recorded.headers[name.toLowerCase()];
	res.json = (body: unknown) => {
		recorded.headers['content-type'] ??= 'application/json';
		recorded.body = body;
		recorded.sent = true;
		return res;
	};
	res.send = (body: unknown) => {
		recorded.body = body;
		recorded.sent = true;
		return res;
	};
	res.end = (body?: unknown) => {
		if (body !== undefined) recorded.body = body;
		recorded.sent = true;
		return res;
	};
	res.writeHead = (code: number, headers?: Record<string, string>) => {
		recorded.status = code;
		for (const [k, v] of Object.entries(headers ?? {})) recorded.headers[k.toLowerCase()] = v;
		return res;
	};
	Object.defineProperty(res, 'headersSent', { get: () => recorded.sent });
	return recorded;
}

export interface WebhookOptions extends RunOptions {
	/** The webhook node's name. */
	node: string;
	request: WebhookRequest;
}

/**
 * Delivers an HTTP request to a webhook node the way n8n's webhook service does: `webhook()` in a
 * real WebhookContext, then, when it returns workflow data, a production run of the rest of the
 * workflow seeded with that data.
 */
export async function runWebhook(opts: WebhookOptions): Promise<WebhookResult> {
	const response = recordingResponse();
	const body = opts.request.body;
	const rawBody = opts.request.rawBody ?? (body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
	const headers = Object.fromEntries(Object.entries(opts.request.headers ?? { 'content-type': 'application/json' }).map(([k, v]) => [k.toLowerCase(), v]));
	const request = {
		method: opts.request.method ?? 'POST',
		body: body ?? {},
		rawBody,
		headers,
		query: opts.request.query ?? {},
		params: opts.request.params ?? {},
		url: `/webhook/${opts.request.path ?? ''}`,
		ip: '127.0.0.1',
		get: (name: string) => headers[name.toLowerCase()],
		header: (name: string) => headers[name.toLowerCase()],
	};
	const prepared = await prepare(opts, { httpRequest: request, httpResponse: response } as never);
	const node = prepared.workflow.getNode(opts.node);
	if (!node) throw new Error(`Webhook node ${opts.node} not found`);
	const nodeType = prepared.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
	if (!nodeType.webhook) throw new Error(`Node ${opts.node} has no webhook() method`);
	const description = nodeType.description.webhooks?.[0];
	if (!description) throw new Error(`Node ${opts.node} describes no webhooks`);
	const webhookData: IWebhookData = {
		httpMethod: (opts.request.method ?? 'POST') as IWebhookData['httpMethod'],
		node: node.name,
		path: opts.request.path ?? '',
		webhookDescription: description,
		workflowId: prepared.workflow.id,
		workflowExecuteAdditionalData: prepared.additionalData,
		webhookId: node.webhookId,
	};
	const context = new WebhookContext(prepared.workflow, node, prepared.additionalData, opts.mode ?? 'webhook', webhookData, [], null);
	const webhookResponse = await nodeType.webhook.call(context);
	if (!webhookResponse.noWebhookResponse && !response.sent) {
		// n8n's own answer in responseMode onReceived.
		response.status = 200;
		response.body = webhookResponse.webhookResponse ?? { message: 'Workflow was started' };
		response.sent = true;
	}
	let run: EngineRun | undefined;
	if (webhookResponse.workflowData) {
		run = await execute(prepared, node, webhookResponse.workflowData, opts.mode ?? 'webhook');
	}
	return { response, webhookResponse, run, staticData: plain(prepared.workflow.staticData as IDataObject), credentialsHelper: prepared.credentialsHelper };
}

export type WebhookLifecycleMethod = 'checkExists' | 'create' | 'delete';

/** Runs a webhook node's lifecycle method (registration with the remote service) in a HookContext. */
export async function runWebhookLifecycle(opts: RunOptions & { node: string; method: WebhookLifecycleMethod; webhookName?: string }): Promise<{ result: boolean; staticData: IDataObject; credentialsHelper: EngineCredentialsHelper }> {
	const prepared = await prepare(opts);
	const node = prepared.workflow.getNode(opts.node);
	if (!node) throw new Error(`Node ${opts.node} not found`);
	const nodeType = prepared.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
	const description = nodeType.description.webhooks?.find((w) => w.name === (opts.webhookName ?? 'default'));
	const methods = nodeType.webhookMethods as Record<string, Record<WebhookLifecycleMethod, (this: unknown) => Promise<boolean>>> | undefined;
	const method = methods?.[opts.webhookName ?? 'default']?.[opts.method];
	if (!description || !method) throw new Error(`Node ${opts.node} has no webhook method ${opts.method}`);
	const webhookData: IWebhookData = {
		httpMethod: description.httpMethod as IWebhookData['httpMethod'],
		node: node.name,
		path: String(description.path ?? ''),
		webhookDescription: description,
		workflowId: prepared.workflow.id,
		workflowExecuteAdditionalData: prepared.additionalData,
		webhookId: node.webhookId,
	};
	const context = new HookContext(prepared.workflow, node, prepared.additionalData, opts.mode ?? 'trigger', 'activate', webhookData);
	const result = await method.call(context);
	return { result, staticData: plain(prepared.workflow.staticData as IDataObject), credentialsHelper: prepared.credentialsHelper };
}

// ---------------------------------------------------------------------------------------------
// Long-lived triggers

export interface TriggerHandle {
	/** The data of every `emit()` that started an execution, in order. */
	emitted: INodeExecutionData[][][];
	/** `emit()` calls that failed before an execution existed (see `failStarts`). */
	failedStarts: number;
	/** `emit()` calls refused because their deduplication key had started an execution already. */
	duplicates: number;
	/** Runs of the downstream workflow, one per emit (when the trigger has downstream nodes). */
	runs: EngineRun[];
	errors: Error[];
	response: ITriggerResponse | undefined;
	staticData: IDataObject;
	waitForEmits(count: number, timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
}

/**
 * Activates a trigger node in a real TriggerContext (production mode 'trigger'), like n8n's
 * ActiveWorkflowManager: every emit is recorded and, when nodes follow the trigger, runs them.
 *
 * `emit(data, responsePromise, donePromise, deduplicationKey)` keeps n8n 2.40's contract
 * (`TriggerExecutionContextFactory` in n8n's workflows/triggers/trigger-execution-context.factory.js):
 * `donePromise` is rejected when n8n could not start an execution (`failStarts`: the first N emits
 * fail like n8n's does when loading the published workflow times out on its database pool),
 * resolved with the run once the execution finished, and resolved with `undefined` when the key
 * already started an execution (n8n's unique `deduplicationKey`, `ExecutionPersistence.create`).
 * `rejectAfterRun`: the first N executions that did run still reject their `donePromise`, as n8n's
 * does when `ActiveExecutions.getPostExecutePromise` no longer finds a finished execution.
 */
export async function startTrigger(
	opts: RunOptions & { node: string; activation?: 'init' | 'activate' | 'manual'; failStarts?: number; rejectAfterRun?: number },
): Promise<TriggerHandle> {
	const prepared = await prepare(opts);
	const node = prepared.workflow.getNode(opts.node);
	if (!node) throw new Error(`Trigger node ${opts.node} not found`);
	const nodeType = prepared.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
	if (!nodeType.trigger) throw new Error(`Node ${opts.node} has no trigger() method`);
	const mode = opts.mode ?? 'trigger';
	const hasDownstream = (prepared.workflow.connectionsBySourceNode[node.name]?.main ?? []).some((c) => (c ?? []).length > 0);
	const handle: TriggerHandle = {
		emitted: [],
		failedStarts: 0,
		duplicates: 0,
		runs: [],
		errors: [],
		response: undefined,
		staticData: prepared.workflow.staticData as IDataObject,
		waitForEmits: async (count, timeoutMs = 10_000) => {
			const deadline = Date.now() + timeoutMs;
			while (handle.emitted.length < count) {
				if (handle.errors.length) throw handle.errors[0];
				if (Date.now() > deadline) throw new Error(`Trigger emitted ${handle.emitted.length} time(s), expected ${count} within ${timeoutMs} ms`);
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
			await pendingRuns;
		},
		close: async () => {
			await handle.response?.closeFunction?.();
			await pendingRuns;
		},
	};
	let pendingRuns: Promise<unknown> = Promise.resolve();
	let startsToFail = opts.failStarts ?? 0;
	let startsToRejectAfterRun = opts.rejectAfterRun ?? 0;
	const startedKeys = new Set<string>();
	type Done = { resolve: (value: unknown) => void; reject: (error: Error) => void };
	const emit = (data: INodeExecutionData[][], _responsePromise?: unknown, donePromise?: Done, deduplicationKey?: string) => {
		if (startsToFail > 0) {
			startsToFail--;
			handle.failedStarts++;
			// Asynchronously, as n8n rejects it after its database call timed out.
			setImmediate(() => donePromise?.reject(new Error('timeout exceeded when trying to connect')));
			return;
		}
		if (deduplicationKey !== undefined) {
			if (startedKeys.has(deduplicationKey)) {
				handle.duplicates++;
				setImmediate(() => donePromise?.resolve(undefined));
				return;
			}
			startedKeys.add(deduplicationKey);
		}
		handle.emitted.push(data);
		if (hasDownstream) {
			pendingRuns = pendingRuns.then(async () => {
				const runPrepared = await prepare({ ...opts, staticData: handle.staticData, credentialsHelper: prepared.credentialsHelper });
				const runNode = runPrepared.workflow.getNode(node.name)!;
				let run: EngineRun;
				try {
					run = await execute(runPrepared, runNode, data, mode);
				} catch (error) {
					donePromise?.resolve({ status: 'error' }); // n8n settles with the failed run
					throw error;
				}
				handle.runs.push(run);
				if (startsToRejectAfterRun > 0) {
					startsToRejectAfterRun--;
					donePromise?.reject(new Error('Execution not found'));
				} else donePromise?.resolve(run);
			});
		} else
			setImmediate(() => {
				if (startsToRejectAfterRun > 0) {
					startsToRejectAfterRun--;
					donePromise?.reject(new Error('Execution not found'));
				} else donePromise?.resolve({ status: 'success' });
			});
	};
	const emitError = (error: Error) => {
		handle.errors.push(error);
	};
	const context = new TriggerContext(prepared.workflow, node, prepared.additionalData, mode, opts.activation ?? 'activate', emit as never, emitError);
	handle.response = await nodeType.trigger.call(context);
	return handle;
}

// ---------------------------------------------------------------------------------------------
// Credential tests

export interface CredentialTestResult {
	status: 'OK' | 'Error';
	message: string;
	httpStatus?: number;
}

/**
 * Runs a credential type's declarative `test` request the way n8n's credential tester does: the
 * request is resolved against the credential data, authenticated by the credential (including
 * `preAuthentication`), sent, and judged by the test's rules (default: any 2xx passes).
 */
export async function credentialTest(type: string, data: ICredentialDataDecryptedObject): Promise<CredentialTestResult> {
	const pkg = await loadPackage();
	const credentialType = pkg.credentialTypes.get(type);
	if (!credentialType?.test) throw new Error(`Credential type ${type} has no declarative test`);
	const test = credentialType.test as ICredentialTestRequest;
	const workflowJson: WorkflowJson = { nodes: [], connections: {} };
	const prepared = await prepare({ workflow: workflowJson, credentials: { [type]: data } });
	const node = { id: 'cred-test', name: 'Temp-Node', type: CREDENTIAL_TEST_NODE_TYPE, typeVersion: 1, position: [0, 0], parameters: { temp: '' }, credentials: { [type]: { id: `cred-${type}`, name: `Test ${type}` } } } as unknown as INode;
	const decrypted = await prepared.credentialsHelper.getDecrypted(prepared.additionalData, { id: `cred-${type}`, name: 'test' }, type);
	const resolve = (value: unknown) => (typeof value === 'string' ? evaluateExpression(value, { $credentials: decrypted }) : value);
	const request = test.request;
	const baseURL = String(resolve(request.baseURL ?? '') ?? '');
	const url = String(resolve(request.url ?? '') ?? '');
	const context = new ExecuteContext(prepared.workflow, node, prepared.additionalData, 'internal', createRunExecutionData(), 0, [{ json: {} }], { main: [[{ json: {} }]] }, { node, data: { main: [[{ json: {} }]] }, source: null } as IExecuteData, []);
	try {
		const response = (await context.helpers.httpRequestWithAuthentication.call(context, type, {
			method: (request.method ?? 'GET') as IHttpRequestOptions['method'],
			url: baseURL ? `${baseURL.replace(/\/$/, '')}/${url.replace(/^\//, '')}` : url,
			qs: request.qs as IHttpRequestOptions['qs'],
			headers: request.headers as IHttpRequestOptions['headers'],
			body: request.body as IHttpRequestOptions['body'],
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			json: true,
		})) as { statusCode: number; body: unknown };
		for (const rule of test.rules ?? []) {
			if (rule.type === 'responseCode' && response.statusCode === rule.properties.value) return { status: 'Error', message: rule.properties.message, httpStatus: response.statusCode };
		}
		if (response.statusCode >= 400) return { status: 'Error', message: `Request failed with status code ${response.statusCode}`, httpStatus: response.statusCode };
		return { status: 'OK', message: 'Connection successful!', httpStatus: response.statusCode };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}

// ---------------------------------------------------------------------------------------------
// List search (resource locators)

/**
 * Runs a node's `methods.listSearch[method]` in n8n-core's LoadOptionsContext, as the editor's
 * `/rest/dynamic-node-parameters/resource-locator-results` does: the node's parameters are the
 * editor's current parameters, credentials are resolved by type.
 */
export async function runListSearch(opts: { node: NodeSpec; method: string; credentials?: Record<string, ICredentialDataDecryptedObject>; filter?: string; paginationToken?: string; parameter?: string }): Promise<import('n8n-workflow').INodeListSearchResult> {
	const { LoadOptionsContext } = await import('n8n-core');
	const workflow = wf([opts.node]);
	const prepared = await prepare({ workflow, credentials: opts.credentials }, { currentNodeParameters: structuredClone(opts.node.parameters ?? {}) } as Partial<IWorkflowExecuteAdditionalData>);
	const node = prepared.workflow.getNode(opts.node.name);
	if (!node) throw new Error(`Node ${opts.node.name} not found`);
	const nodeType = prepared.workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
	const method = nodeType.methods?.listSearch?.[opts.method];
	if (!method) throw new Error(`Node ${opts.node.name} has no listSearch method ${opts.method}`);
	const context = new LoadOptionsContext(prepared.workflow, node, prepared.additionalData, `parameters.${opts.parameter ?? 'value'}`);
	return await method.call(context, opts.filter, opts.paginationToken);
}
