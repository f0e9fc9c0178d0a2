/**
 * Shared set-up of the reliability suite: the workflows/ templates (unchanged but for their
 * placeholders and, where a scenario says so, one parameter) in a real n8n against the demo
 * services, plus the one measure every scenario reports — invites counted at the fake homeserver.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { normalizeMxid } from '../../lib/mxid';
import { Ledger, SqliteBackend } from '../../lib/store';
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { DEMO_LEDGER_SECRET, templateCredentials } from '../../scripts/template-credentials';
import { readFixture, type GeneratedOrders } from '../fakes/pretix';
import { setPathSecrets } from '../harness/templates';
import type { GenerateOrdersOptions } from '../fakes/pretix/generator';
import {
	delay,
	N8nInstance,
	REPO_ROOT,
	type CredentialImport,
	type N8nOptions,
	type WorkflowImport,
} from '../harness/n8n';

export { delay };

export const EVENT_KEY = 'exampleorg/summit26';
/** A path secret the Pretix Trigger accepts (the templates ship an empty one, which refuses to publish). */
export const WEBHOOK_SECRET = 'Rk4nW8qZ2vT6yB0pL9sH3dF7jC5mX1gA';
export const BATCH_WORKFLOW = 'pretixMatrixBatchInvite';
export const WEBHOOK_WORKFLOW = 'pretixMatrixWebhookInvite';
/** Valid Matrix IDs of the paid fixture orders (see test/fixtures/pretix/README.md). */
export const FIXTURE_INVITEES = [
	'@alice:example.org',
	'@dave:example.org',
	'@frank:example.org',
	'@grace:example.net',
	'@heidi:chat.example.org',
	'@ivan:example.org',
	'@laura:example.org',
	'@mallory:example.org',
	'@niaj:example.org',
	'@peggy:example.org',
];
/** pretix order actions the webhook of the organizer subscribes to (as in the e2e suite). */
export const WEBHOOK_ACTIONS = [
	'pretix.event.order.placed',
	'pretix.event.order.paid',
	'pretix.event.order.canceled',
	'pretix.event.order.modified',
	'pretix.event.order.changed.*',
	'pretix.event.order.expired',
];

type TemplateNode = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	webhookId?: string;
};

/** The templates with the organizer's placeholders filled in; `patch` may change one workflow. */
export function loadTemplates(
	services: DemoServices,
	patch?: (workflow: WorkflowImport) => void,
): WorkflowImport[] {
	const dir = path.join(REPO_ROOT, 'workflows');
	return readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.map((file) => {
			const text = readFileSync(path.join(dir, file), 'utf8')
				.replaceAll('!organizers-room:example.org', services.organizersRoom);
			const workflow = JSON.parse(text) as WorkflowImport;
			setPathSecrets(workflow, WEBHOOK_SECRET);
			// The tally counts runs in n8n's execution list: keep successful ones too (shipped: none).
			workflow.settings = { ...(workflow.settings as object), saveDataSuccessExecution: 'all' };
			patch?.(workflow);
			return workflow;
		});
}

/**
 * Sets the lease of every ticket Plan in the workflow (templates ship 900 s): a scenario that kills
 * n8n waits for its dead runs' claims to expire. Every Plan, not one: the webhook template's
 * scheduled re-read may be the run that was killed.
 */
export function shortenPlanLeases(workflow: WorkflowImport, seconds: number): void {
	for (const node of workflow.nodes as TemplateNode[]) {
		if (!node.type.endsWith('.dedupeStore') || node.parameters.resource !== 'ticket' || node.parameters.operation !== 'plan') continue;
		node.parameters.planOptions = { ...(node.parameters.planOptions as object), leaseSeconds: seconds };
	}
}

/** Homeserver limits slow enough (10 invites/s) that a kill lands in the middle of a run. */
export const TEN_INVITES_PER_SECOND = {
	invitesPerIssuer: { perSecond: 10, burst: 10 },
	invitesPerRoom: { perSecond: 10, burst: 10 },
	message: { perSecond: 10, burst: 50 },
};

export function templateNode(workflow: WorkflowImport, name: string): TemplateNode {
	const node = (workflow.nodes as TemplateNode[]).find((n) => n.name === name);
	if (!node) throw new Error(`Template ${workflow.id} has no node "${name}"`);
	return node;
}

export function webhookPath(templates: WorkflowImport[]): string {
	const workflow = templates.find((w) => w.id === WEBHOOK_WORKFLOW)!;
	const trigger = (workflow.nodes as TemplateNode[]).find((n) =>
		n.type.endsWith('.pretixTrigger'),
	)!;
	return `${trigger.webhookId}/pretix/${WEBHOOK_SECRET}`;
}

export interface StageOptions {
	label: string;
	/** Replaces the Dedupe Store credential's data (PostgreSQL / Redis backends). */
	dedupeStore?: Record<string, unknown>;
	patch?: (workflow: WorkflowImport) => void;
	env?: Record<string, string>;
	workers?: number;
	/** Homeserver limits for the run (the demo keeps Synapse's defaults: 0.3 invites/s). */
	rateLimits?: Parameters<DemoServices['homeserver']['setRateLimits']>[0];
}

/** Starts still under way and stages not stopped yet, of this test file (jest loads this module per file). */
const pendingStarts = new Set<Promise<Stage>>();
const liveStages = new Set<Stage>();

/** Demo services + n8n with every template but the purge published, pretix's webhook pointing at n8n. */
export class Stage {
	private constructor(
		readonly services: DemoServices,
		readonly n8n: N8nInstance,
		readonly templates: WorkflowImport[],
	) {}

	static async start(options: StageOptions): Promise<Stage> {
		const starting = Stage.launch(options);
		pendingStarts.add(starting);
		try {
			const stage = await starting;
			liveStages.add(stage);
			return stage;
		} finally {
			pendingStarts.delete(starting);
		}
	}

	/**
	 * Stops every stage of the test file — also one whose start was still running when jest gave up
	 * on its beforeAll (on a busy machine), which would otherwise outlive the file with its n8n
	 * processes while afterAll dropped their database.
	 */
	static async stopAll(): Promise<void> {
		await Promise.allSettled([...pendingStarts]);
		for (const stage of [...liveStages]) await stage.stop();
	}

	private static async launch(options: StageOptions): Promise<Stage> {
		const services = await startDemoServices();
		let n8n: N8nInstance | undefined;
		try {
			services.homeserver.setRateLimits(
				options.rateLimits ?? {
					invitesPerIssuer: { perSecond: 200, burst: 200 },
					invitesPerRoom: { perSecond: 200, burst: 200 },
					message: { perSecond: 10, burst: 50 },
				},
			);
			const templates = loadTemplates(services, options.patch);
			const credentials: CredentialImport[] = templateCredentials(services).map((c) =>
				c.type === 'dedupeStoreApi' && options.dedupeStore
					? { ...c, data: options.dedupeStore }
					: c,
			);
			const n8nOptions: N8nOptions = {
				label: options.label,
				credentials,
				workflows: templates,
				publish: templates.filter((w) => w.id !== 'pretixMatrixPurge').map((w) => w.id),
				env: options.env,
				workers: options.workers,
			};
			n8n = await N8nInstance.start(n8nOptions);
			const stage = new Stage(services, n8n, templates);
			services.pretix.addWebhook({ target_url: stage.webhookUrl, action_types: WEBHOOK_ACTIONS });
			// Command triggers need their first sync before a typed command counts as new.
			await delay(3000);
			return stage;
		} catch (error) {
			await n8n?.destroy();
			await services.stop();
			throw error;
		}
	}

	get webhookUrl(): string {
		return this.n8n.webhookUrl(webhookPath(this.templates));
	}

	get attendeesRoom(): string {
		return this.services.attendeesRoom;
	}

	botMessages(roomId: string): string[] {
		return this.services.homeserver
			.timeline(roomId, 'm.room.message')
			.filter((e) => e.sender === this.services.botUserId)
			.map((e) => String((e.content as { body?: unknown }).body ?? ''));
	}

	/** Types a command as the organizer; resolves with the bot's replies once `until` matches one. */
	async command(
		roomId: string,
		text: string,
		options: { until?: RegExp; timeoutMs?: number; settleMs?: number } = {},
	): Promise<string[]> {
		const before = this.botMessages(roomId).length;
		this.services.homeserver.say(this.services.organizer.userId, roomId, text);
		const deadline = Date.now() + (options.timeoutMs ?? 60_000);
		while (Date.now() < deadline) {
			const replies = this.botMessages(roomId).slice(before);
			if (replies.some((r) => (options.until ? options.until.test(r) : true))) {
				await delay(options.settleMs ?? 1500); // a double reply would show up now
				return this.botMessages(roomId).slice(before);
			}
			await delay(250);
		}
		throw new Error(
			`No matching reply to "${text.slice(0, 20)}" within ${options.timeoutMs ?? 60_000} ms:\n${this.n8n.logs().slice(-3000)}`,
		);
	}

	async mapAttendeesRoom(): Promise<void> {
		const replies = await this.command(
			this.attendeesRoom,
			`!setroom ${this.services.pretixUrl}/exampleorg/summit26/`,
			{ until: /exampleorg\/summit26/ },
		);
		if (replies.length !== 1) throw new Error(`!setroom answered ${replies.length} times`);
	}

	/** `!batchinvite` in the attendees' room; resolves with the summary reply. */
	async batchInvite(timeoutMs = 240_000): Promise<string> {
		const replies = await this.command(this.attendeesRoom, '!batchinvite', {
			until: /Batch invite finished/,
			timeoutMs,
		});
		const summaries = replies.filter((r) => /Batch invite finished/.test(r));
		if (summaries.length !== 1)
			throw new Error(`!batchinvite answered with ${summaries.length} summaries`);
		return summaries[0];
	}

	/** pretix deliveries still without an outcome, each with what n8n answered so far (statuses only). */
	undeliveredReport(): string {
		return this.services.pretix.sender.deliveries
			.filter((d) => !d.outcome)
			.map((d) => `  notification ${String(d.notificationId)}: ${d.attempts.map((a) => a.status ?? a.error ?? 'waiting').join(', ')}`)
			.join('\n');
	}

	/** What n8n answered to every delivery of one notification: status and the start of the body. */
	deliveryHistory(notificationId: number): string {
		return this.services.pretix.sender.deliveries
			.filter((d) => Number(d.notificationId) === notificationId)
			.map((d) => `[${d.attempts.map((a) => `${a.status ?? a.error ?? 'waiting'} ${(a.body ?? '').slice(0, 60)}`.trim()).join(' | ')}]`)
			.join(' ');
	}

	/** Successful invites (HTTP 200) into the attendees' room, from the homeserver's request log. */
	invitesMade(): number {
		return this.services.homeserver
			.requests()
			.filter(
				(r) => r.method === 'POST' && r.status === 200 && isInviteInto(r.path, this.attendeesRoom),
			).length;
	}

	/**
	 * Waits until nothing happens any more: every pretix delivery finished, no execution of the
	 * given workflows still running (asked for explicitly: n8n's public API leaves running executions
	 * out of plain listings), and the invite count unchanged for `quietMs`.
	 */
	async quiesce(
		workflowIds: string[],
		options: { quietMs?: number; timeoutMs?: number } = {},
	): Promise<void> {
		const quietMs = options.quietMs ?? 5000;
		const deadline = Date.now() + (options.timeoutMs ?? 300_000);
		let lastInvites = -1;
		let quietSince = Date.now();
		let busy = '';
		while (Date.now() < deadline) {
			const pendingDeliveries = this.services.pretix.sender.deliveries.filter(
				(d) => !d.outcome,
			).length;
			const unfinished: string[] = [];
			for (const id of workflowIds)
				for (const e of await this.n8n.unfinishedExecutions(id)) unfinished.push(`${id} ${e.id} ${e.status}`);
			const invites = this.invitesMade();
			busy = `${pendingDeliveries} deliveries pending, unfinished executions [${unfinished.join('; ')}], invites ${lastInvites} → ${invites}`;
			if (pendingDeliveries > 0 || unfinished.length > 0 || invites !== lastInvites) {
				lastInvites = invites;
				quietSince = Date.now();
			} else if (Date.now() - quietSince >= quietMs) return;
			await delay(500);
		}
		throw new Error(
			`Not quiet within ${options.timeoutMs ?? 300_000} ms (${busy}):\n${this.undeliveredReport()}\n${this.n8n.logs().slice(-3000)}`,
		);
	}

	/** Counts invites per expected attendee at the homeserver and prints the scenario's summary line. */
	tally(scenario: string, expected: string[]): Tally {
		const counts = expected.map((user) =>
			this.services.homeserver.inviteCount(this.attendeesRoom, user),
		);
		const made = this.invitesMade();
		const toExpected = counts.reduce((a, b) => a + b, 0);
		const tally: Tally = {
			expected: expected.length,
			made,
			duplicated: counts.reduce((sum, c) => sum + Math.max(0, c - 1), 0),
			lost: counts.filter((c) => c === 0).length,
			// Invites to anyone who should not have been invited (inactive, invalid, twice-counted).
			unexpected: made - toExpected,
		};
		summary(scenario, tally);
		return tally;
	}

	/** The embedded ledger's file in n8n's user folder (the templates' default credential). */
	get ledgerFile(): string {
		return path.join(this.n8n.userFolder, '.n8n/pretix-matrix-ledger.sqlite');
	}

	/**
	 * Why someone expected was not invited: their ledger rows (state, outcome, reason; looked up by
	 * Matrix ID with the demo secret, embedded ledger only) and the failed executions of the run.
	 * Printed only when something was lost, for the post-mortem.
	 */
	async explainLosses(expected: string[]): Promise<void> {
		const lost = expected.filter((user) => this.services.homeserver.inviteCount(this.attendeesRoom, user) === 0);
		if (!lost.length) return;
		const file = this.ledgerFile;
		const lines: string[] = [];
		if (existsSync(file)) {
			const backend = new SqliteBackend({ path: file });
			await backend.init();
			const ledger = new Ledger(backend, { secret: DEMO_LEDGER_SECRET });
			for (const [index, user] of lost.entries()) {
				const rows = await ledger.lookup({ matrixId: user });
				lines.push(`  lost #${index + 1}: membership ${this.services.homeserver.membership(this.attendeesRoom, user) ?? 'none'}; ledger ${JSON.stringify(rows.map((r) => ({ scope: r.scope === this.attendeesRoom ? 'room' : r.scope, state: r.state, outcome: r.outcome, reason: r.reason, attempts: r.attempts })))}`);
			}
			await backend.close();
		}
		const ofLost = (items: Array<{ json: Record<string, unknown> }> | null | undefined) =>
			(items ?? []).filter((item) =>
				lost.includes(String((item.json.mxid as { userId?: string } | undefined)?.userId)),
			);
		for (const id of [WEBHOOK_WORKFLOW, BATCH_WORKFLOW]) {
			const runs = await this.n8n.executions(id, true);
			for (const execution of await this.n8n.unfinishedExecutions(id))
				lines.push(`  ${id} execution ${execution.id} still ${execution.status}, started ${execution.startedAt}`);
			for (const execution of runs.filter((e) => e.status !== 'success').slice(0, 5)) lines.push(`  ${id} execution ${execution.id} ${execution.status}: ${execution.data?.resultData.error?.message ?? ''} (last node ${execution.data?.resultData.lastNodeExecuted ?? '?'})`);
			// Every execution whose Claim node won a lost attendee: how many items each later node got.
			for (const execution of runs) {
				const runData = execution.data?.resultData.runData ?? {};
				const won = ofLost(runData.Claim?.[0]?.data?.main?.[0]);
				if (!won.length) continue;
				const counts = Object.entries(runData).map(
					([node, nodeRuns]) =>
						`${node}[${nodeRuns.map((r) => (r.data?.main ?? []).map((o) => o?.length ?? 0).join('/')).join(';')}]`,
				);
				const invite = ofLost(runData.Invite?.[0]?.data?.main?.[0]);
				lines.push(
					`  ${id} execution ${execution.id} ${execution.status} ${execution.startedAt}→${execution.stoppedAt} won ${won.length} lost claim(s); Invite said ${JSON.stringify(invite.map((i) => (i.json.matrix as { status?: string } | undefined)?.status))}; nodes ${counts.join(' ')}`,
				);
			}
		}
		process.stdout.write(`${lines.join('\n')}\n`);
	}

	/** Ledger rows a run claimed and never recorded (it died between Plan and Record), whatever their lease. */
	unfinishedClaims(): number {
		return this.ledgerStates().filter((row) => row.state === 'claimed').length;
	}

	/** State, reason and times of every row of the embedded ledger: no ticket, person or room. */
	private ledgerStates(): Array<{ state: string; reason: string | null; lease_until: number; updated_at: number }> {
		const file = this.ledgerFile;
		if (!existsSync(file)) return [];
		// eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sqlite exists on Node ≥22.5 only
		const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
		const db = new DatabaseSync(file, { readOnly: true });
		try {
			const rows = db.prepare('SELECT state, reason, lease_until, updated_at FROM ledger').all() as Array<Record<string, unknown>>;
			return rows.map((row) => ({ state: String(row.state), reason: row.reason === null ? null : String(row.reason), lease_until: Number(row.lease_until), updated_at: Number(row.updated_at) }));
		} finally {
			db.close();
		}
	}

	/**
	 * The embedded ledger's rows by state, reason and lease (expired, or seconds still to run), and
	 * every execution of the given workflows with its times: what held people "in progress".
	 * For post-mortems; counts and times only, no IDs.
	 */
	async explainClaims(workflowIds: string[]): Promise<string> {
		const lines: string[] = [];
		const now = Date.now();
		const groups = new Map<string, number>();
		for (const row of this.ledgerStates()) {
			const lease = row.lease_until > now ? `lease ${Math.round((row.lease_until - now) / 1000)} s left` : 'lease expired';
			const key = `${row.state} / ${row.reason ?? '-'} / ${lease} / changed ${Math.round((now - row.updated_at) / 1000)} s ago`;
			groups.set(key, (groups.get(key) ?? 0) + 1);
		}
		for (const [key, count] of [...groups].sort()) lines.push(`  ledger: ${count} × ${key}`);
		for (const id of workflowIds)
			for (const execution of await this.n8n.executions(id, true))
				lines.push(`  ${id} execution ${execution.id} ${execution.status} ${execution.startedAt}→${execution.stoppedAt} (last node ${execution.data?.resultData.lastNodeExecuted ?? '?'})`);
		return `${lines.join('\n')}\n`;
	}

	async stop(): Promise<void> {
		liveStages.delete(this);
		await this.n8n?.destroy();
		await this.services.stop();
	}
}

export interface Tally {
	expected: number;
	made: number;
	duplicated: number;
	lost: number;
	unexpected: number;
}

/** The tally every scenario must reach: everyone expected invited once, nobody else. */
export function exactlyOnce(expected: string[]): Tally {
	return { expected: expected.length, made: expected.length, duplicated: 0, lost: 0, unexpected: 0 };
}

export function summary(scenario: string, t: Tally, extra = ''): void {
	process.stdout.write(
		`scenario: ${scenario} expected ${t.expected}, made ${t.made}, duplicated ${t.duplicated}, lost ${t.lost}${t.unexpected ? `, unexpected ${t.unexpected}` : ''}${extra ? ` (${extra})` : ''}\n`,
	);
}

function isInviteInto(requestPath: string, roomId: string): boolean {
	let decoded = requestPath;
	try {
		decoded = decodeURIComponent(requestPath);
	} catch {
		// keep the raw path
	}
	return decoded.endsWith(`/rooms/${roomId}/invite`);
}

/**
 * The Matrix IDs that must end up invited exactly once: the fixture invitees plus every active
 * generated attendee whose answer is usable. Usable is what the MXID normaliser accepts (it adds a
 * missing `@`, so some of the generator's "malformed" shapes are usable IDs); the normaliser has
 * its own tests — this suite is about exactly-once.
 */
export function expectedInvitees(generated?: GeneratedOrders): string[] {
	const fromGenerated = (generated?.attendees ?? [])
		.filter((a) => a.active)
		.map((a) => normalizeMxid(a.answer ?? null))
		.filter((r) => r.valid)
		.map((r) => r.userId!);
	return [...new Set([...FIXTURE_INVITEES, ...fromGenerated])];
}

/** A pretix webhook body for one order (what pretix posts). */
export function notification(
	notificationId: number,
	code: string,
	action: string,
): Record<string, unknown> {
	return {
		notification_id: notificationId,
		organizer: 'exampleorg',
		event: 'summit26',
		code,
		action,
	};
}

export function actionFor(status: unknown): string {
	if (status === 'p') return 'pretix.event.order.paid';
	if (status === 'c') return 'pretix.event.order.canceled';
	if (status === 'e') return 'pretix.event.order.expired';
	return 'pretix.event.order.placed';
}

/** Deterministic Fisher–Yates shuffle (mulberry32), so a failing order can be replayed. */
export function shuffle<T>(items: T[], seed: number): T[] {
	const out = [...items];
	let s = seed >>> 0;
	const random = () => {
		s = (s + 0x6d2b79f5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}

/**
 * Webhook deliveries for generated orders: one notification per order (its status's action), a
 * second one (`modified`) for `extraShare` of them, plus duplicate deliveries (same
 * notification_id) so that duplicates make up `duplicateShare` of all deliveries; shuffled.
 */
export function webhookPlan(
	orders: Array<Record<string, unknown>>,
	options: { total: number; duplicateShare: number; firstId: number; seed: number },
): { payloads: Array<Record<string, unknown>>; unique: number; duplicates: number } {
	const duplicates = Math.round(options.total * options.duplicateShare);
	const unique = options.total - duplicates;
	const originals: Array<Record<string, unknown>> = [];
	let id = options.firstId;
	for (const order of orders) {
		if (originals.length >= unique) break;
		originals.push(notification(id++, String(order.code), actionFor(order.status)));
	}
	for (let i = 0; originals.length < unique; i++)
		originals.push(
			notification(id++, String(orders[i % orders.length].code), 'pretix.event.order.modified'),
		);
	const picks = shuffle(originals, options.seed + 1);
	const dupes = Array.from({ length: duplicates }, (_, i) => ({ ...picks[i % picks.length] }));
	return { payloads: shuffle([...originals, ...dupes], options.seed), unique, duplicates };
}

/** The values of `promises`, or an error with `explain()` when they are not all settled within `timeoutMs`. */
async function settled<T>(promises: Promise<T>[], timeoutMs: number, explain: () => string): Promise<T[]> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`Not settled within ${timeoutMs} ms:\n${explain()}`)), timeoutMs);
	});
	try {
		return await Promise.race([Promise.all(promises), timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/** Hands payloads to the fake pretix's sender (pretix's retry rules), `perTick` every `tickMs`. */
export async function deliverAll(
	stage: Stage,
	payloads: Array<Record<string, unknown>>,
	perTick = 10,
	tickMs = 100,
): Promise<Promise<string>[]> {
	const done: Promise<string>[] = [];
	for (let i = 0; i < payloads.length; i++) {
		done.push(stage.services.pretix.deliver(stage.webhookUrl, payloads[i]).done);
		if ((i + 1) % perTick === 0) await delay(tickMs);
	}
	return done;
}

/** A paid order like the fixture ABC3K with one ticket and the given Matrix ID answer. */
export function fixtureOrder(
	code: string,
	positionId: number,
	answer: string,
): Record<string, unknown> {
	const order = structuredClone(
		readFixture<Record<string, unknown>>('order-detail-ABC3K.json'),
	) as Record<string, unknown> & { positions: Array<Record<string, unknown>> };
	order.code = code;
	order.positions = [
		{
			...order.positions[0],
			id: positionId,
			order: code,
			answers: [
				{
					question: 101,
					question_identifier: 'matrix',
					answer,
					options: [],
					option_identifiers: [],
				},
			],
		},
	];
	return order;
}

export interface WebhooksDuringBatch {
	generated: GeneratedOrders;
	plan: ReturnType<typeof webhookPlan>;
	/** Everyone who must end up invited (valid, active), fixtures included. */
	expected: string[];
	/** The batch's summary reply. */
	summary: string;
	/** Each delivery's outcome at the fake pretix's sender. */
	outcomes: string[];
}

/**
 * The common shape of the load scenarios: generate orders, deliver a webhook plan for them (`perTick`
 * every `tickMs`) and type `!batchinvite` `batchAfterMs` into it, wait for every delivery, then until
 * nothing runs any more.
 */
export async function webhooksDuringBatch(
	stage: Stage,
	options: {
		orders: Omit<GenerateOrdersOptions, 'baseUrl' | 'template'>;
		webhooks: Omit<Parameters<typeof webhookPlan>[1], 'seed'>;
		perTick?: number;
		tickMs?: number;
		batchAfterMs?: number;
	},
): Promise<WebhooksDuringBatch> {
	const generated = stage.services.pretix.generateOrders(options.orders);
	const plan = webhookPlan(generated.orders as Array<Record<string, unknown>>, {
		...options.webhooks,
		seed: options.orders.seed ?? 1,
	});
	const delivering = deliverAll(stage, plan.payloads, options.perTick ?? 10, options.tickMs ?? 100);
	await delay(options.batchAfterMs ?? 500);
	const summary = await stage.batchInvite(300_000);
	const outcomes = await settled(await delivering, 300_000, () => stage.undeliveredReport());
	await stage.quiesce([WEBHOOK_WORKFLOW, BATCH_WORKFLOW], { timeoutMs: 300_000 });
	return { generated, plan, expected: expectedInvitees(generated), summary, outcomes };
}
