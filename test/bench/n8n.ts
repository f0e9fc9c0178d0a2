/**
 * Real n8n (test/harness/n8n.ts, the package installed as n8n installs community packages) running
 * the workflows/ templates against the fake pretix and the fake homeserver:
 *
 * 1. Peak memory: `!batchinvite` typed into a room mapped to an event with N attendees (batch-invite
 *    template: Command Trigger → Pretix Orders → MXID Validate → rooms → Dedupe claim → Matrix
 *    Invite → Dedupe complete → summary reply). Figure: VmHWM of the main n8n process after the
 *    run. Floor: VmHWM of the same process idle before it (n8n + package loaded).
 * 2. Webhook-to-invite latency: a burst of M `order.paid` notifications from the fake pretix's
 *    webhook sender to the webhook-auto-invite template; per attendee, the time the homeserver
 *    recorded the invite minus the time pretix sent the webhook. Floor: the same burst, same fakes,
 *    into a bare node:http handler that does the minimum (answer 200, GET the order, POST the invite).
 *
 * 3. The same burst into n8n alone (one Webhook node) and into the same job built from n8n's own
 *    nodes (Webhook → HTTP Request → HTTP Request): what n8n itself costs per webhook, and per node.
 * 4. Steady registrations (one webhook every 1/rate s), then the batches again in an n8n started
 *    with the V8 heap limit a small VM gives Node (BENCH_N8N_SMALL_HEAP_MB, default 512).
 *
 * The bot is exempt from the homeserver's rate limits (Synapse's override_ratelimit, common for event
 * bots): these figures measure n8n and the package, not a server's pace (see the invite benchmark).
 */
import { setPathSecrets } from '../harness/templates';
import { CpuProfiler, summarizeProfile } from './cpu-profile';
import { HeapSampler, summarizeHeap } from './heap-profile';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';

import { Ledger, SqliteBackend } from '../../lib/store';
import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { FAKE_TEAM_TOKEN, startFakePretix, type GeneratedOrders } from '../fakes/pretix';
import {
	N8N_RUNTIME,
	N8nInstance,
	REPO_ROOT,
	type CredentialImport,
	type WorkflowImport,
} from '../harness/n8n';
import {
	envInt,
	mib,
	percentile,
	seconds,
	sleep,
	times,
	type BenchContext,
	type BenchOutcome,
	type BenchRow,
	type Benchmark,
} from './common';

type FakePretix = Awaited<ReturnType<typeof startFakePretix>>;

const ORGANIZER = 'exampleorg';
const HOOK_EVENT = 'hook26';
/** The burst's second set of orders: the package and n8n alone take turns going first (see sideBySide). */
const HOOK_EVENT_B = 'hook26b';
const STEADY_EVENT = 'steady26';
const LEDGER_SECRET = 'Rq4Vn8Lw2Xc6Bz1Mk7Jt3Hp9Gf5Sd0Ya';
/** A path secret the Pretix Trigger accepts (the templates ship an empty one, which refuses to publish). */
const WEBHOOK_SECRET = 'Bv7pQ3xN9kT2wR6zM0cJ4hL8fS1dG5yE';

function procStatus(pid: number): { hwm: number; rss: number } {
	const text = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kb = (field: string) =>
		Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
	return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

function loadTemplate(file: string, organizersRoom: string): WorkflowImport {
	const text = readFileSync(path.join(REPO_ROOT, 'workflows', file), 'utf8')
		.replaceAll('!organizers-room:example.org', organizersRoom);
	const workflow = JSON.parse(text) as WorkflowImport;
	setPathSecrets(workflow, WEBHOOK_SECRET);
	// The webhook template's half-hourly re-read fires on the clock (:00 and :30): in a run that
	// crosses one it invites the burst's attendees before their webhooks are sent. Disabled here, it
	// stays in the workflow n8n builds for every execution, as organizers import it.
	for (const node of workflow.nodes as Array<{ type: string; disabled?: boolean }>)
		if (node.type === 'n8n-nodes-base.scheduleTrigger') node.disabled = true;
	return workflow;
}

function webhookPath(workflow: WorkflowImport): string {
	const trigger = (workflow.nodes as Array<{ type: string; webhookId?: string }>).find((n) =>
		n.type.endsWith('.pretixTrigger'),
	);
	if (!trigger?.webhookId)
		throw new Error('the webhook template has no Pretix Trigger with a webhookId');
	return `${trigger.webhookId}/pretix/${WEBHOOK_SECRET}`;
}

/** Adds an event (a copy of the fixture event) and N one-attendee paid orders with valid Matrix IDs. */
async function seedEvent(
	pretix: FakePretix,
	slug: string,
	count: number,
	seed: number,
): Promise<GeneratedOrders> {
	const auth = { Authorization: `Token ${FAKE_TEAM_TOKEN}` };
	const template = (await (
		await fetch(`${pretix.apiUrl}/organizers/${ORGANIZER}/events/summit26/`, { headers: auth })
	).json()) as Record<string, unknown>;
	const { public_url: _publicUrl, ...event } = template;
	pretix.addEvent(ORGANIZER, { ...event, slug });
	return pretix.generateOrders({ count, seed, organizer: ORGANIZER, event: slug });
}

/** userId → time the homeserver recorded the (first) invite into the room. */
function inviteTimes(hs: FakeHomeserver, roomId: string): Map<string, number> {
	const out = new Map<string, number>();
	for (const event of hs.timeline(roomId, 'm.room.member')) {
		if (event.content.membership === 'invite' && event.state_key && !out.has(event.state_key))
			out.set(event.state_key, event.origin_server_ts);
	}
	return out;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 200): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return true;
		await sleep(pollMs);
	}
	return check();
}

/** One burst's orders: the event they belong to and the generated orders. */
interface HookSet {
	event: string;
	orders: GeneratedOrders;
}

/** One `order.paid` notification per order of the set, handed to the fake pretix's sender. */
function sendPaidBurst(pretix: FakePretix, set: HookSet) {
	return set.orders.orders.map((order) => ({
		code: String(order.code),
		delivery: pretix.notify('pretix.event.order.paid', {
			event: set.event,
			code: String(order.code),
		}).deliveries,
	}));
}

/** When pretix first sent each order's notification (its first delivery attempt). */
function firstSendTimes(deliveries: ReturnType<typeof sendPaidBurst>): Map<string, number> {
	const sentAt = new Map<string, number>();
	for (const { code, delivery } of deliveries) {
		const first = delivery[0]?.attempts[0];
		if (first) sentAt.set(code, first.at);
	}
	return sentAt;
}

type BurstResult = Awaited<ReturnType<typeof webhookBurst>>;

/**
 * A burst of `order.paid` notifications for every order of the set; returns per attendee
 * the latency (invite recorded at the homeserver − webhook sent), and who was never invited.
 */
async function webhookBurst(
	pretix: FakePretix,
	hs: FakeHomeserver,
	roomId: string,
	set: HookSet,
	timeoutMs: number,
) {
	const expected = set.orders.attendees.filter((a) => a.active && a.kind === 'valid');
	// Invites already there would end the wait at once and count as negative latencies.
	const early = expected.filter((a) => hs.inviteCount(roomId, a.answer!) > 0).length;
	if (early) throw new Error(`${early} of the burst's attendees were invited into its room before the burst`);
	const deliveries = sendPaidBurst(pretix, set);
	const userOf = new Map(expected.map((a) => [a.answer!, a.code]));
	await waitFor(() => expected.every((a) => hs.inviteCount(roomId, a.answer!) > 0), timeoutMs);
	await pretix.sender.idle();
	const sentAt = firstSendTimes(deliveries);
	const invited = inviteTimes(hs, roomId);
	const latencies: number[] = [];
	for (const [user, code] of userOf) {
		const at = invited.get(user);
		const sent = sentAt.get(code);
		if (at !== undefined && sent !== undefined) latencies.push(at - sent);
	}
	const lost = expected.filter((a) => hs.inviteCount(roomId, a.answer!) === 0).length;
	const duplicated = expected.reduce(
		(sum, a) => sum + Math.max(0, hs.inviteCount(roomId, a.answer!) - 1),
		0,
	);
	const notDelivered = deliveries.filter((d) => d.delivery[0]?.outcome !== 'delivered').length;
	return {
		latencies,
		lost,
		duplicated,
		notDelivered,
		expected: expected.length,
		burstStart: Math.min(...sentAt.values()),
	};
}

const FLOOR_WEBHOOK_PATH = 'bench-n8n-floor';

/** n8n's own floor: a workflow of one n8n Webhook node that answers at once and does nothing. */
const TRIVIAL_WORKFLOW: WorkflowImport = {
	id: 'benchTrivialWebhook',
	name: 'bench: trivial webhook',
	nodes: [
		{
			parameters: {
				httpMethod: 'POST',
				path: FLOOR_WEBHOOK_PATH,
				responseMode: 'onReceived',
				options: {},
			},
			id: '5d0c7f64-2a53-4d84-9a43-2b1b4b8e0f11',
			name: 'Webhook',
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			position: [0, 0],
			webhookId: '8f9e3c1a-6b47-4f0e-9d2c-7a51e4b3c902',
		},
	],
	connections: {},
	settings: { executionOrder: 'v1' },
};

const BUILTIN_WEBHOOK_PATH = 'bench-n8n-builtin';

/**
 * The same job from n8n's own nodes, what an organizer could wire without this package (and without
 * its guarantees: no Matrix ID check, no ledger, no revocation, no path secret): Webhook (answers at
 * once) → HTTP Request GET the order → HTTP Request POST the invite for its first ticket's answer.
 * Both requests signed by n8n's Header Auth credentials, like the package's. It tells n8n's own cost
 * per node, expression and credential from this package's.
 */
function builtinWorkflow(pretixApiUrl: string, homeserverUrl: string, roomId: string): WorkflowImport {
	const node = (name: string, type: string, typeVersion: number, x: number, parameters: object, extra: object = {}) => ({
		parameters,
		id: `b0a7c1de-0000-4000-8000-00000000000${x / 200}`,
		name,
		type,
		typeVersion,
		position: [x, 0],
		...extra,
	});
	return {
		id: 'benchBuiltinWebhook',
		name: 'bench: the same job from n8n nodes',
		nodes: [
			node('Webhook', 'n8n-nodes-base.webhook', 2, 0, { httpMethod: 'POST', path: BUILTIN_WEBHOOK_PATH, responseMode: 'onReceived', options: {} }, {
				webhookId: '3c1e9a77-5b2d-4e8f-a1c6-9d0b7e4f2a18',
			}),
			node(
				'Read order',
				'n8n-nodes-base.httpRequest',
				4.2,
				200,
				{
					url: `={{ '${pretixApiUrl}/organizers/' + $json.body.organizer + '/events/' + $json.body.event + '/orders/' + $json.body.code + '/' }}`,
					authentication: 'genericCredentialType',
					genericAuthType: 'httpHeaderAuth',
					options: {},
				},
				{ credentials: { httpHeaderAuth: { id: 'benchPretixHeader', name: 'pretix token header' } } },
			),
			node(
				'Invite',
				'n8n-nodes-base.httpRequest',
				4.2,
				400,
				{
					method: 'POST',
					url: `${homeserverUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`,
					authentication: 'genericCredentialType',
					genericAuthType: 'httpHeaderAuth',
					sendBody: true,
					bodyParameters: {
						parameters: [{ name: 'user_id', value: "={{ $json.positions[0].answers.find(a => a.question_identifier === 'matrix').answer }}" }],
					},
					options: {},
				},
				{ credentials: { httpHeaderAuth: { id: 'benchMatrixHeader', name: 'Matrix token header' } } },
			),
		],
		connections: {
			Webhook: { main: [[{ node: 'Read order', type: 'main', index: 0 }]] },
			'Read order': { main: [[{ node: 'Invite', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1', saveDataSuccessExecution: 'none' },
	};
}

/** The burst into the trivial workflow: per execution, stoppedAt − the send time of its webhook. */
async function trivialBurst(
	pretix: FakePretix,
	n8n: N8nInstance,
	set: HookSet,
	timeoutMs: number,
): Promise<number[]> {
	// Executions of an earlier burst stay listed; this one's are matched by order code below.
	const before = (await n8n.executions(TRIVIAL_WORKFLOW.id, false)).length;
	const deliveries = sendPaidBurst(pretix, set);
	await pretix.sender.idle();
	const executions = await n8n.waitForExecutions(TRIVIAL_WORKFLOW.id, before + deliveries.length, timeoutMs);
	const sentAt = firstSendTimes(deliveries);
	const latencies: number[] = [];
	for (const execution of executions) {
		const body = execution.data?.resultData.runData.Webhook?.[0]?.data?.main?.[0]?.[0]?.json
			.body as { code?: string } | undefined;
		const sent = body?.code ? sentAt.get(body.code) : undefined;
		if (sent !== undefined && execution.stoppedAt)
			latencies.push(Date.parse(execution.stoppedAt) - sent);
	}
	return latencies;
}

/** Median executionTime per node over the workflow's executions (where the latency goes). */
async function nodeTimes(
	n8n: N8nInstance,
	workflowId: string,
	burstStart: number,
): Promise<string> {
	const perNode = new Map<string, number[]>();
	const executions = await n8n.executions(workflowId, true);
	const started = executions.map((e) => Date.parse(e.startedAt) - burstStart);
	const durations = executions
		.filter((e) => e.stoppedAt)
		.map((e) => Date.parse(e.stoppedAt!) - Date.parse(e.startedAt));
	for (const execution of executions) {
		for (const [node, runs] of Object.entries(execution.data?.resultData.runData ?? {})) {
			for (const run of runs as Array<{ executionTime?: number }>) {
				if (typeof run.executionTime === 'number')
					perNode.set(node, [...(perNode.get(node) ?? []), run.executionTime]);
			}
		}
	}
	return [...perNode.entries()]
		.map(([node, ms]) => ({ node, ms: percentile(ms, 50) }))
		.sort((a, b) => b.ms - a.ms)
		.map(({ node, ms }) => `${node} ${seconds(ms)}`)
		.join(', ')
		.concat(
			`; executions started ${seconds(percentile(started, 50))} (p50) / ${seconds(Math.max(...started))} (last) after the burst began, ran ${seconds(percentile(durations, 50))} (p50)`,
		);
}

/** The floor pipeline: what any webhook-to-invite bridge must do, with nothing else. */
async function startBareBridge(
	pretix: FakePretix,
	hs: FakeHomeserver,
	botToken: string,
	roomId: string,
): Promise<{ url: string; server: Server; roomId: string }> {
	const target = { roomId };
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
			void (async () => {
				const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
					organizer: string;
					event: string;
					code: string;
				};
				const order = (await (
					await fetch(
						`${pretix.apiUrl}/organizers/${payload.organizer}/events/${payload.event}/orders/${payload.code}/`,
						{ headers: { Authorization: `Token ${FAKE_TEAM_TOKEN}` } },
					)
				).json()) as {
					positions: Array<{ answers: Array<{ question_identifier: string; answer: string }> }>;
				};
				for (const position of order.positions) {
					const userId = position.answers.find((a) => a.question_identifier === 'matrix')?.answer;
					if (!userId) continue;
					await fetch(`${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(target.roomId)}/invite`, {
						method: 'POST',
						headers: { Authorization: `Bearer ${botToken}`, 'Content-Type': 'application/json' },
						body: JSON.stringify({ user_id: userId }),
					});
				}
			})();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	return {
		url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`,
		server,
		/** The room the bridge invites into (settable: the steady stream uses a room of its own). */
		get roomId() {
			return target.roomId;
		},
		set roomId(value: string) {
			target.roomId = value;
		},
	};
}

/** The same invites with nothing around them: POST /invite for each user, `concurrency` in flight. */
async function bareInvites(
	hs: FakeHomeserver,
	botToken: string,
	roomId: string,
	users: string[],
	concurrency = 4,
): Promise<number> {
	const started = performance.now();
	let next = 0;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (next < users.length) {
				const userId = users[next++];
				await fetch(`${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
					method: 'POST',
					headers: { Authorization: `Bearer ${botToken}`, 'Content-Type': 'application/json' },
					body: JSON.stringify({ user_id: userId }),
				});
			}
		}),
	);
	return performance.now() - started;
}

/**
 * Steady registrations: one `order.paid` notification every 1/rate s, in order. Returns per
 * attendee the latency (invite at the homeserver − webhook sent) once all are invited.
 */
async function steadyStream(
	pretix: FakePretix,
	hs: FakeHomeserver,
	roomId: string,
	event: string,
	generated: GeneratedOrders,
	ratePerSecond: number,
	timeoutMs: number,
) {
	const started = performance.now();
	const deliveries: ReturnType<typeof sendPaidBurst> = [];
	for (const [i, order] of generated.orders.entries()) {
		const due = started + (i * 1000) / ratePerSecond;
		const wait = due - performance.now();
		if (wait > 0) await sleep(wait);
		deliveries.push({
			code: String(order.code),
			delivery: pretix.notify('pretix.event.order.paid', { event, code: String(order.code) }).deliveries,
		});
	}
	const expected = generated.attendees.filter((a) => a.active && a.kind === 'valid');
	await waitFor(() => expected.every((a) => hs.inviteCount(roomId, a.answer!) > 0), timeoutMs);
	await pretix.sender.idle();
	const sentAt = firstSendTimes(deliveries);
	const invited = inviteTimes(hs, roomId);
	const latencies: number[] = [];
	for (const a of expected) {
		const at = invited.get(a.answer!);
		const sent = sentAt.get(a.code);
		if (at !== undefined && sent !== undefined) latencies.push(at - sent);
	}
	const lost = expected.filter((a) => hs.inviteCount(roomId, a.answer!) === 0).length;
	const duplicated = expected.reduce((sum, a) => sum + Math.max(0, hs.inviteCount(roomId, a.answer!) - 1), 0);
	return { latencies, lost, duplicated, expected: expected.length };
}

/** Comma-separated positive integers from the environment, else the default. */
function envSizes(name: string, fallback: number[]): number[] {
	const sizes = (process.env[name] ?? '')
		.split(',')
		.map((part) => Number(part.trim()))
		.filter((n) => Number.isInteger(n) && n > 0);
	return sizes.length ? sizes : fallback;
}

/** A pretix webhook for `order.paid` of these events to this target (the fake pretix's sender). */
function paidWebhook(pretix: FakePretix, targetUrl: string, events: string[] = [HOOK_EVENT, HOOK_EVENT_B]) {
	return pretix.addWebhook({
		target_url: targetUrl,
		action_types: ['pretix.event.order.paid'],
		all_events: false,
		limit_events: events,
	});
}

/** Room mappings written into a new embedded ledger where that n8n's Dedupe Store will find them. */
async function writeMappings(ledgerFile: string, mappings: Array<{ event: string; room: string }>): Promise<void> {
	mkdirSync(path.dirname(ledgerFile), { recursive: true });
	const backend = new SqliteBackend({ path: ledgerFile });
	await backend.init();
	const ledger = new Ledger(backend, { secret: LEDGER_SECRET });
	for (const mapping of mappings) await ledger.setMapping(mapping);
	await ledger.close();
}

/**
 * The package's burst and n8n alone's, side by side without an order effect: round 1 the package
 * first, then n8n alone, on set A; round 2 n8n alone first, then the package, on set B (ABBA). What
 * runs between them (the n8n-nodes job) runs after round 1. Rows pool both rounds' samples.
 */
async function sideBySide<Between = undefined>(
	sets: [HookSet, HookSet],
	pkg: (set: HookSet, round: number) => Promise<BurstResult>,
	alone: (set: HookSet, round: number) => Promise<number[]>,
	between?: () => Promise<Between>,
): Promise<{ rounds: Array<{ pkg: BurstResult; alone: number[] }>; pkg: BurstResult; alone: number[]; between?: Between }> {
	const pkgA = await pkg(sets[0], 1);
	const aloneA = await alone(sets[0], 1);
	const betweenResult = await between?.();
	const aloneB = await alone(sets[1], 2);
	const pkgB = await pkg(sets[1], 2);
	return {
		rounds: [
			{ pkg: pkgA, alone: aloneA },
			{ pkg: pkgB, alone: aloneB },
		],
		pkg: {
			latencies: [...pkgA.latencies, ...pkgB.latencies],
			lost: pkgA.lost + pkgB.lost,
			duplicated: pkgA.duplicated + pkgB.duplicated,
			notDelivered: pkgA.notDelivered + pkgB.notDelivered,
			expected: pkgA.expected + pkgB.expected,
			burstStart: pkgA.burstStart,
		},
		alone: [...aloneA, ...aloneB],
		between: betweenResult,
	};
}

/** Each round's package ÷ n8n alone at this percentile, for a row's note. */
function roundRatios(rounds: Array<{ pkg: BurstResult; alone: number[] }>, q: number): string {
	const [first, second] = rounds.map(
		(round) => percentile(round.pkg.latencies, q) / percentile(round.alone, q),
	);
	return `package first ${times(first)}, n8n alone first ${times(second)}`;
}

/** A row: the q-th percentile of `samples` beside that of `floorSamples`, and their ratio. */
function percentileRow(what: string, samples: number[], floorSamples: number[], q: number, target: string, note: string): BenchRow {
	const figure = percentile(samples, q);
	const floor = percentile(floorSamples, q);
	return { bench: BENCH, what: `${what} p${q}`, figure: seconds(figure), floor: seconds(floor), ratio: times(figure / floor), target, note };
}

/** One n8n instance's `!batchinvite` runs, smallest batch first (VmHWM only grows). */
interface BatchRun {
	ctx: BenchContext;
	hs: FakeHomeserver;
	/** The n8n main process. */
	pid: number;
	/** Its VmHWM and RSS idle, before the first batch. */
	idle: { hwm: number; rss: number };
	botUserId: string;
	botToken: string;
	organizerId: string;
	batches: Array<{ size: number; orders: GeneratedOrders; room?: string }>;
	/** Appended to each row's name: '' or what this instance differs in. */
	label: string;
	newRoom: (name: string) => string;
	/** BENCH_N8N_HEAP=1: the sampler attached to this n8n. */
	heapSampler?: () => Promise<HeapSampler>;
	rows: BenchRow[];
	broken: string[];
}

async function runBatches(run: BatchRun): Promise<void> {
	const hs = run.hs;
	for (const batch of run.batches) {
		const batchRoom = batch.room!;
		run.ctx.log(`n8n: !batchinvite for ${batch.size} attendees`);
		const botReplies = () =>
			hs.timeline(batchRoom, 'm.room.message').filter((e) => e.sender === run.botUserId);
		let sampledPeak = run.idle.rss;
		const heapSampler = run.heapSampler ? await run.heapSampler() : undefined;
		await heapSampler?.start();
		const invitedBefore = hs.countRequests({ path: /\/invite$/, status: 200 });
		let heapTaken = !heapSampler;
		const started = performance.now();
		hs.say(run.organizerId, batchRoom, '!batchinvite');
		const replied = await waitFor(
			async () => {
				sampledPeak = Math.max(sampledPeak, procStatus(run.pid).rss);
				if (!heapTaken && heapSampler && hs.countRequests({ path: /\/invite$/, status: 200 }) - invitedBefore >= batch.size * 0.8) {
					heapTaken = true;
					const { memory, profile } = await heapSampler.liveNow();
					run.ctx.log(`n8n: batch ${batch.size}${run.label} at 80 % invited: ${summarizeHeap(memory, profile)}`);
				}
				return botReplies().some((e) => /Batch invite finished/.test(String(e.content.body ?? '')));
			},
			Math.max(600_000, batch.size * 120),
			500,
		);
		const batchMs = performance.now() - started;
		const after = procStatus(run.pid);
		const reply = String(botReplies().find((e) => /Batch invite finished/.test(String(e.content.body ?? '')))?.content.body ?? botReplies()[0]?.content.body ?? '');
		const batchUsers = batch.orders.attendees
			.filter((a) => a.active && a.kind === 'valid')
			.map((a) => a.answer!);
		const batchLost = batchUsers.filter((u) => hs.inviteCount(batchRoom, u) === 0).length;
		const batchDup = batchUsers.reduce(
			(sum, u) => sum + Math.max(0, hs.inviteCount(batchRoom, u) - 1),
			0,
		);
		if (!replied) run.broken.push(`n8n batch ${batch.size}${run.label}: no summary reply within the time limit`);
		else if (!/Batch invite finished/.test(reply))
			run.broken.push(`n8n batch ${batch.size}${run.label}: unexpected reply: ${reply.slice(0, 200)}`);
		else if (Number(/(\d+) invited/.exec(reply)?.[1]) !== batchUsers.length)
			run.broken.push(`n8n batch ${batch.size}${run.label}: the summary does not count ${batchUsers.length} invited: ${reply.slice(0, 200)}`);
		if (batchLost)
			run.broken.push(
				`n8n batch ${batch.size}${run.label}: ${batchLost} of ${batchUsers.length} attendees not invited (counted at the homeserver)`,
			);
		if (batchDup) run.broken.push(`n8n batch ${batch.size}${run.label}: ${batchDup} duplicate invites`);
		// The floor: the same invites straight from a loop (4 in flight, as Matrix Invite), fresh room.
		const floorBatchRoom = run.newRoom(`Batch floor (${batch.size}${run.label})`);
		const floorMs = await bareInvites(hs, run.botToken, floorBatchRoom, batchUsers);
		const growth = after.hwm - run.idle.hwm;
		run.rows.push(
			{
				bench: BENCH,
				what: `batch ${batch.size}${run.label}: peak RSS growth (VmHWM − idle)`,
				figure: mib(growth),
				floor: mib(0),
				ratio: '',
				target: `≤ ${mib(BATCH_RSS_TARGET)}`,
				note: `VmHWM ${mib(after.hwm)}, idle ${mib(run.idle.hwm)}; sampled RSS peak ${mib(sampledPeak)}, RSS now ${mib(after.rss)}`,
			},
			{
				bench: BENCH,
				what: `batch ${batch.size}${run.label}: command → reply`,
				figure: seconds(batchMs),
				floor: seconds(floorMs),
				ratio: times(batchMs / floorMs),
				target: '',
				note: `invited ${batchUsers.length - batchLost}/${batchUsers.length}, duplicated ${batchDup}; floor: the same invites from a bare loop, 4 in flight`,
			},
		);
	}
}

const BENCH = 'real n8n (templates)';
const BURST_TARGET = 1.5;
const STEADY_TARGET_MS = 1000;
const BATCH_RSS_TARGET = 300 * 1024 * 1024;

/**
 * BENCH_N8N_PROFILE_FILE: each burst's raw profile too (Chrome DevTools opens it), to follow callers —
 * the package's burst in that file, n8n alone's and the n8n-nodes job's beside it (`.alone`, `.n8n-nodes`).
 */
function keepProfile<P>(profile: P, suffix: string): P {
	const file = process.env.BENCH_N8N_PROFILE_FILE;
	if (file) writeFileSync(`${file}${suffix}`, JSON.stringify(profile));
	return profile;
}

export const n8nBench: Benchmark = {
	name: 'n8n',
	description: 'real n8n: peak memory of batch invites, webhook-to-invite latency of a burst and of steady registrations',
	async run(ctx: BenchContext): Promise<BenchOutcome> {
		const batchSizes = envSizes('BENCH_N8N_BATCH', ctx.quick ? [200, 500] : [1000, 10_000]).sort((a, b) => a - b);
		const burst = envInt('BENCH_N8N_WEBHOOKS', ctx.quick ? 20 : 200);
		const steadyRate = envInt('BENCH_N8N_STEADY_RATE', 2);
		const steadySeconds = envInt('BENCH_N8N_STEADY_SECONDS', ctx.quick ? 10 : 60);
		const steadyCount = Math.max(1, Math.round(steadyRate * steadySeconds));
		const profiling = process.env.BENCH_N8N_PROFILE === '1';
		// The per-node times need the webhook runs' data kept, which costs n8n's database time itself:
		// BENCH_N8N_NODE_TIMES=0 profiles the template as organizers run it (success data not saved).
		const nodeTimesKept = profiling && process.env.BENCH_N8N_NODE_TIMES !== '0';
		// BENCH_N8N_HEAP=1: what holds memory in each batch (live heap after a full GC at 80 % invited).
		const heapProfiling = process.env.BENCH_N8N_HEAP === '1';
		// The batches again under a small VM's V8 heap limit (MiB; 0: not).
		const smallVmHeapMb = process.env.BENCH_N8N_SMALL_HEAP_MB === '0' ? 0 : envInt('BENCH_N8N_SMALL_HEAP_MB', 512);
		const broken: string[] = [];
		const rows: BenchRow[] = [];
		if (!existsSync(path.join(N8N_RUNTIME, 'node_modules/n8n/bin/n8n'))) {
			return {
				rows: [
					{
						bench: 'real n8n',
						what: 'all',
						figure: 'n/a',
						floor: 'n/a',
						ratio: '',
						target: '',
						note: 'n8n runtime missing: run `npm run setup`',
					},
				],
				broken,
			};
		}
		if (
			!existsSync(path.join(REPO_ROOT, 'workflows/batch-invite.json')) ||
			!existsSync(path.join(REPO_ROOT, 'workflows/webhook-auto-invite.json'))
		) {
			throw new Error(
				'workflows/batch-invite.json and workflows/webhook-auto-invite.json are needed',
			);
		}

		const pretix = await startFakePretix({ seed: true, webhooks: { timeFactor: 60 } });
		const hs = await startFakeHomeserver({ serverName: 'example.org' });
		let n8n: N8nInstance | undefined;
		let bare: Server | undefined;
		let profiler: CpuProfiler | undefined;
		let heapSampler: HeapSampler | undefined;
		try {
			ctx.log(
				`n8n: seeding batches of ${batchSizes.join(', ')}, ${burst} webhook orders, ${steadyCount} steady orders`,
			);
			const batches: Array<{ size: number; slug: string; orders: GeneratedOrders; room?: string }> = [];
			for (const [i, size] of batchSizes.entries())
				batches.push({ size, slug: `batch${i + 1}x${size}`, orders: await seedEvent(pretix, `batch${i + 1}x${size}`, size, 101 + i) });
			const hookSets: [HookSet, HookSet] = [
				{ event: HOOK_EVENT, orders: await seedEvent(pretix, HOOK_EVENT, burst, 202) },
				{ event: HOOK_EVENT_B, orders: await seedEvent(pretix, HOOK_EVENT_B, burst, 204) },
			];
			const steadyOrders = await seedEvent(pretix, STEADY_EVENT, steadyCount, 303);
			const bot = hs.createUser('eventbot');
			hs.exemptFromRateLimits(bot.userId);
			const organizer = hs.createUser('organizer');
			// The events' generated IDs (@userN:example.org) overlap: each account is created once.
			for (const userId of new Set(
				[...batches.flatMap((b) => b.orders.attendees), ...hookSets.flatMap((set) => set.orders.attendees), ...steadyOrders.attendees].map((a) => a.answer),
			))
				if (userId) hs.createUser(userId);
			const room = (name: string) =>
				hs.createRoom({
					creator: organizer.userId,
					name,
					members: [bot.userId],
					powerLevels: {
						users: { [organizer.userId]: 100, [bot.userId]: 50 },
						invite: 50,
						kick: 50,
					},
				});
			const organizersRoom = room('Organizers');
			for (const batch of batches) batch.room = room(`Batch attendees (${batch.size})`);
			const hookRooms = [room('Webhook attendees'), room('Webhook attendees (round 2)')];
			const floorRoom = room('Floor attendees');
			const builtinRoom = room('n8n nodes attendees');
			const steadyRoom = room('Steady attendees');
			const steadyFloorRoom = room('Steady floor attendees');

			// The room mappings, written where the embedded store of this n8n will find them.
			mkdirSync(path.join(REPO_ROOT, '.tmp'), { recursive: true });
			const userFolder = mkdtempSync(path.join(REPO_ROOT, '.tmp', 'n8n-bench-'));
			const ledgerFile = path.join(userFolder, '.n8n/pretix-matrix-ledger.sqlite');
			await writeMappings(ledgerFile, [
				...batches.map((batch) => ({ event: `${ORGANIZER}/${batch.slug}`, room: batch.room! })),
				...hookSets.map((set, i) => ({ event: `${ORGANIZER}/${set.event}`, room: hookRooms[i] })),
				{ event: `${ORGANIZER}/${STEADY_EVENT}`, room: steadyRoom },
			]);

			const credentials: CredentialImport[] = [
				{
					id: 'pretixApiCredential',
					name: 'pretix team token',
					type: 'pretixApi',
					data: { url: pretix.url, apiToken: FAKE_TEAM_TOKEN },
				},
				{
					id: 'matrixBotCredential',
					name: 'Matrix bot',
					type: 'matrixBotApi',
					data: { homeserverUrl: hs.url, authMode: 'accessToken', accessToken: bot.accessToken },
				},
				{
					id: 'dedupeStoreCredential',
					name: 'Invite ledger',
					type: 'dedupeStoreApi',
					data: { backend: 'embedded', filePath: ledgerFile, hmacSecret: LEDGER_SECRET },
				},
				{
					id: 'benchPretixHeader',
					name: 'pretix token header',
					type: 'httpHeaderAuth',
					data: { name: 'Authorization', value: `Token ${FAKE_TEAM_TOKEN}` },
				},
				{
					id: 'benchMatrixHeader',
					name: 'Matrix token header',
					type: 'httpHeaderAuth',
					data: { name: 'Authorization', value: `Bearer ${bot.accessToken}` },
				},
			];
			const batchWorkflow = loadTemplate('batch-invite.json', organizersRoom);
			const hookWorkflow = loadTemplate('webhook-auto-invite.json', organizersRoom);
			if (nodeTimesKept) (hookWorkflow.settings as Record<string, unknown>).saveDataSuccessExecution = 'all';
			ctx.log('n8n: starting n8n with the batch-invite and webhook-auto-invite templates');
			// n8n settings to try (e.g. N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true), space-separated NAME=value.
			const extraEnv = Object.fromEntries(
				(process.env.BENCH_N8N_ENV ?? '')
					.split(/\s+/)
					.filter((pair) => /^[A-Z0-9_]+=/.test(pair))
					.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
			);
			if (Object.keys(extraEnv).length) ctx.log(`n8n: with ${Object.keys(extraEnv).join(', ')}`);
			// n8n's own default log level, as organizers run it; the harness's `debug` is there for the
			// privacy scans of the logs and costs every execution (~10 % of the CPU, on every side).
			const n8nEnv = { N8N_LOG_LEVEL: 'info', ...extraEnv };
			n8n = await N8nInstance.start({
				label: 'bench',
				userFolder,
				installPackage: true,
				env: n8nEnv,
				credentials,
				workflows: [batchWorkflow, hookWorkflow, TRIVIAL_WORKFLOW, builtinWorkflow(pretix.apiUrl, hs.url, builtinRoom)],
			});
			const pid = n8n.mainPid;
			if (!pid) throw new Error('no n8n main process id');
			// The command trigger counts only commands typed after its first sync.
			const synced = await waitFor(() => hs.countRequests({ path: /\/sync$/ }) >= 2, 60_000);
			if (!synced) throw new Error('the Matrix Command Trigger never synced');
			await sleep(2000);
			const idle = procStatus(pid);
			const bench = BENCH;

			// 1. Batch invites, smallest first (VmHWM only grows): peak memory and wall time.
			await runBatches({
				ctx,
				hs,
				pid,
				idle,
				botUserId: bot.userId,
				botToken: bot.accessToken,
				organizerId: organizer.userId,
				batches,
				label: '',
				newRoom: room,
				heapSampler: heapProfiling ? async () => (heapSampler ??= await HeapSampler.attach(pid)) : undefined,
				rows,
				broken,
			});

			// 2. Webhook burst: latency, the package beside n8n alone in both orders (sideBySide).
			const live = n8n;
			const hook = paidWebhook(pretix, live.webhookUrl(webhookPath(hookWorkflow)), [HOOK_EVENT, HOOK_EVENT_B, STEADY_EVENT]);
			hook.enabled = false;
			const n8nHook = paidWebhook(pretix, live.webhookUrl(FLOOR_WEBHOOK_PATH));
			n8nHook.enabled = false;
			let peak = procStatus(pid);
			const side = await sideBySide(
				hookSets,
				async (set, round) => {
					ctx.log(`n8n: burst of ${burst} order.paid webhooks (round ${round})`);
					// The profiles are of round 1 (the package first).
					if (profiling && round === 1) {
						profiler = await CpuProfiler.attach(pid);
						await profiler.start();
					}
					hook.enabled = true;
					const result = await webhookBurst(pretix, hs, hookRooms[round - 1], set, 300_000);
					hook.enabled = false;
					if (profiler && round === 1)
						ctx.log(`n8n: webhook burst: ${summarizeProfile(keepProfile(await profiler.stop(), ''))}`);
					if (round === 1) {
						// Read before anything else asks n8n for execution data (that costs memory too).
						peak = procStatus(pid);
						if (nodeTimesKept)
							ctx.log(`n8n: webhook executions: ${await nodeTimes(live, hookWorkflow.id, result.burstStart)}`);
					}
					return result;
				},
				async (set, round) => {
					ctx.log(`n8n: the same burst into a trivial n8n Webhook workflow (n8n alone, round ${round})`);
					if (profiler && round === 1) await profiler.start();
					n8nHook.enabled = true;
					const latencies = await trivialBurst(pretix, live, set, 300_000);
					n8nHook.enabled = false;
					if (profiler && round === 1)
						ctx.log(`n8n: trivial burst: ${summarizeProfile(keepProfile(await profiler.stop(), '.alone'))}`);
					return latencies;
				},
				async () => {
					ctx.log('n8n: the same burst into the same job built from n8n nodes (Webhook → HTTP Request ×2)');
					const builtinHook = paidWebhook(pretix, live.webhookUrl(BUILTIN_WEBHOOK_PATH), [HOOK_EVENT]);
					if (profiler) await profiler.start();
					const result = await webhookBurst(pretix, hs, builtinRoom, hookSets[0], 300_000);
					if (profiler)
						ctx.log(`n8n: burst into the job from n8n nodes: ${summarizeProfile(keepProfile(await profiler.stop(), '.n8n-nodes'))}`);
					builtinHook.enabled = false;
					return result;
				},
			);
			const viaN8n = side.pkg;
			const n8nAlone = side.alone;
			if (viaN8n.lost)
				broken.push(
					`n8n webhooks: ${viaN8n.lost} of ${viaN8n.expected} attendees not invited (counted at the homeserver)`,
				);
			if (viaN8n.duplicated) broken.push(`n8n webhooks: ${viaN8n.duplicated} duplicate invites`);
			const builtin = side.between;
			if (!builtin) throw new Error('the n8n-nodes burst did not run');
			if (builtin.lost || builtin.duplicated)
				broken.push(`n8n nodes burst: ${builtin.lost} not invited, ${builtin.duplicated} duplicated (is the workflow wired?)`);

			ctx.log('n8n: the same burst through the bare bridge (floor)');
			const bridge = await startBareBridge(pretix, hs, bot.accessToken, floorRoom);
			bare = bridge.server;
			const bareHook = paidWebhook(pretix, bridge.url, [HOOK_EVENT]);
			const viaBare = await webhookBurst(pretix, hs, floorRoom, hookSets[0], 120_000);
			bareHook.enabled = false;

			// 3. Steady registrations: the template and the bare bridge, one after the other.
			ctx.log(`n8n: steady registrations, ${steadyRate}/s for ${steadySeconds} s, into the template`);
			hook.enabled = true;
			const steadyN8n = await steadyStream(pretix, hs, steadyRoom, STEADY_EVENT, steadyOrders, steadyRate, 300_000);
			hook.enabled = false;
			if (steadyN8n.lost) broken.push(`n8n steady: ${steadyN8n.lost} of ${steadyN8n.expected} attendees not invited`);
			if (steadyN8n.duplicated) broken.push(`n8n steady: ${steadyN8n.duplicated} duplicate invites`);
			ctx.log('n8n: the same steady registrations through the bare bridge (floor)');
			bridge.roomId = steadyFloorRoom;
			paidWebhook(pretix, bridge.url, [STEADY_EVENT]);
			const steadyBare = await steadyStream(pretix, hs, steadyFloorRoom, STEADY_EVENT, steadyOrders, steadyRate, 120_000);

			const p = (s: number[], q: number) => percentile(s, q);
			const latencyRow = (what: string, samples: number[], q: number, note: string): BenchRow =>
				percentileRow(what, samples, viaBare.latencies, q, '', note);
			const versusN8n = (q: number): BenchRow =>
				percentileRow(`${burst} webhooks: package ÷ n8n alone`, viaN8n.latencies, n8nAlone, q, `≤ ${BURST_TARGET.toFixed(1)}×`, `both rounds (${roundRatios(side.rounds, q)}); floor here: the same burst into a one-node n8n Webhook workflow`);
			const versusBuiltin = (q: number): BenchRow =>
				percentileRow(`${burst} webhooks: package ÷ the job from n8n nodes`, viaN8n.latencies, builtin.latencies, q, '', 'floor here: the same burst, same invites, through n8n Webhook + 2 HTTP Request nodes');
			rows.push(
				latencyRow(
					`${burst} webhooks → invite: latency`,
					viaN8n.latencies,
					50,
					'sent by pretix → invite at the homeserver; floor: bare node:http bridge',
				),
				latencyRow(
					`${burst} webhooks → invite: latency`,
					viaN8n.latencies,
					95,
					`max ${seconds(Math.max(...viaN8n.latencies))}`,
				),
				latencyRow(
					`${burst} webhooks, n8n alone: latency`,
					n8nAlone,
					50,
					'trivial Webhook workflow: sent → execution stopped',
				),
				latencyRow(
					`${burst} webhooks, n8n alone: latency`,
					n8nAlone,
					95,
					`${n8nAlone.length} executions matched`,
				),
				versusN8n(50),
				versusN8n(95),
				latencyRow(
					`${burst} webhooks, the job from n8n nodes: latency`,
					builtin.latencies,
					50,
					'Webhook → HTTP Request GET order → HTTP Request POST invite: sent → invite at the homeserver',
				),
				latencyRow(
					`${burst} webhooks, the job from n8n nodes: latency`,
					builtin.latencies,
					95,
					`lost ${builtin.lost}, duplicated ${builtin.duplicated}`,
				),
				versusBuiltin(50),
				versusBuiltin(95),
				{
					bench,
					what: `${burst} webhooks: lost / duplicated`,
					figure: `${viaN8n.lost} / ${viaN8n.duplicated}`,
					floor: '0 / 0',
					ratio: '',
					target: '0 / 0',
					note: `${viaN8n.notDelivered} deliveries not 2xx at first try`,
				},
				percentileRow(
					`steady ${steadyRate}/s for ${steadySeconds} s → invite: latency`,
					steadyN8n.latencies,
					steadyBare.latencies,
					95,
					`< ${seconds(STEADY_TARGET_MS)}`,
					`p50 ${seconds(p(steadyN8n.latencies, 50))} (bridge ${seconds(p(steadyBare.latencies, 50))}); ${steadyN8n.expected} attendees, lost ${steadyN8n.lost}, duplicated ${steadyN8n.duplicated}; floor: bare bridge`,
				),
				{
					bench,
					what: 'peak RSS (VmHWM) after batches + burst',
					figure: mib(peak.hwm),
					floor: mib(idle.hwm),
					ratio: times(peak.hwm / idle.hwm),
					target: '',
					note: `RSS right after the burst ${mib(peak.rss)}`,
				},
			);

			// 4. The batches and the burst again in an n8n as on a small VM with the README's settings: the
			// heap limit Node gives V8 there (about half the memory: 512 MiB on 1 GiB, also in a container
			// with that limit; on this 24 GiB machine it is 4 GiB and V8 collects late, so the rows above
			// measure its laziness too) and n8n's lazy expression isolates (an execution that evaluates no
			// expression sets none up; the package's webhook path evaluates none).
			if (smallVmHeapMb > 0) {
				await n8n.destroy(); // one Command Trigger per bot at a time
				n8n = undefined;
				const label = ` (heap ${smallVmHeapMb} MiB, lazy isolates)`;
				ctx.log(`n8n: the batches and the burst again in an n8n with --max-old-space-size=${smallVmHeapMb} and N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true`);
				const smallFolder = mkdtempSync(path.join(REPO_ROOT, '.tmp', 'n8n-bench-small-'));
				const smallLedgerFile = path.join(smallFolder, '.n8n/pretix-matrix-ledger.sqlite');
				const smallBatches = batches.map((b) => ({ ...b, room: room(`Batch attendees (${b.size})${label}`) }));
				const smallHookRooms = [room(`Webhook attendees${label}`), room(`Webhook attendees${label} (round 2)`)];
				await writeMappings(smallLedgerFile, [
					...smallBatches.map((batch) => ({ event: `${ORGANIZER}/${batch.slug}`, room: batch.room })),
					...hookSets.map((set, i) => ({ event: `${ORGANIZER}/${set.event}`, room: smallHookRooms[i] })),
				]);
				const syncsBefore = hs.countRequests({ path: /\/sync$/ });
				n8n = await N8nInstance.start({
					label: 'bench-small-heap',
					userFolder: smallFolder,
					installPackage: true,
					env: { ...n8nEnv, NODE_OPTIONS: `--max-old-space-size=${smallVmHeapMb}`, N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
					credentials: credentials.map((c) =>
						c.type === 'dedupeStoreApi' ? { ...c, data: { ...c.data, filePath: smallLedgerFile } } : c,
					),
					workflows: [batchWorkflow, hookWorkflow, TRIVIAL_WORKFLOW],
				});
				const smallPid = n8n.mainPid;
				if (!smallPid) throw new Error('no n8n main process id');
				if (!(await waitFor(() => hs.countRequests({ path: /\/sync$/ }) >= syncsBefore + 2, 60_000)))
					throw new Error('the Matrix Command Trigger never synced (small heap)');
				await sleep(2000);
				await runBatches({
					ctx,
					hs,
					pid: smallPid,
					idle: procStatus(smallPid),
					botUserId: bot.userId,
					botToken: bot.accessToken,
					organizerId: organizer.userId,
					batches: smallBatches,
					label,
					newRoom: room,
					rows,
					broken,
				});
				const small = n8n;
				const smallHook = paidWebhook(pretix, small.webhookUrl(webhookPath(hookWorkflow)));
				smallHook.enabled = false;
				const smallTrivialHook = paidWebhook(pretix, small.webhookUrl(FLOOR_WEBHOOK_PATH));
				smallTrivialHook.enabled = false;
				const smallSide = await sideBySide(
					hookSets,
					async (set, round) => {
						ctx.log(`n8n: burst of ${burst} order.paid webhooks${label} (round ${round})`);
						smallHook.enabled = true;
						const result = await webhookBurst(pretix, hs, smallHookRooms[round - 1], set, 300_000);
						smallHook.enabled = false;
						return result;
					},
					async (set, round) => {
						ctx.log(`n8n: the same burst into n8n alone${label} (round ${round})`);
						smallTrivialHook.enabled = true;
						const latencies = await trivialBurst(pretix, small, set, 300_000);
						smallTrivialHook.enabled = false;
						return latencies;
					},
				);
				const smallViaN8n = smallSide.pkg;
				if (smallViaN8n.lost || smallViaN8n.duplicated)
					broken.push(`n8n webhooks${label}: ${smallViaN8n.lost} not invited, ${smallViaN8n.duplicated} duplicated`);
				for (const q of [50, 95])
					rows.push(
						percentileRow(`${burst} webhooks${label}: package ÷ n8n alone`, smallViaN8n.latencies, smallSide.alone, q, `≤ ${BURST_TARGET.toFixed(1)}×`, `both rounds (${roundRatios(smallSide.rounds, q)}); lost ${smallViaN8n.lost}, duplicated ${smallViaN8n.duplicated}`),
					);
			}
			return { rows, broken };
		} finally {
			profiler?.close();
			heapSampler?.close();
			bare?.close();
			await n8n?.destroy();
			await pretix.stop();
			await hs.stop();
		}
	},
};
