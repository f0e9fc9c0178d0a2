/**
 * The pretix side in a real n8n 2.x (test/harness/n8n.ts): the fake pretix's webhook sender calls
 * the Pretix Trigger's production URL; Pretix Orders runs with an OAuth2 credential whose access
 * token the fake expires (n8n must refresh it) and with a team token. One n8n for the whole file.
 */
import {
	FAKE_OAUTH_CLIENT,
	FAKE_TEAM_TOKEN,
	readFixture,
	startFakePretix,
	webhookFixture,
	type FakePretix,
	type StartedFakePretix,
	type WebhookFixtureName,
} from '../fakes/pretix';
import { delay, N8nInstance, runData, type ExecutionSummary } from '../harness/n8n';
import { DEFAULT_TRIGGER_ACTIONS } from '../../lib/pretix';

const PKG = 'n8n-nodes-pretix-matrix';

const TEAM_CRED = { id: 'PretixTeamCred01', name: 'pretix team token' };
const OAUTH_CRED = { id: 'PretixOAuthCred1', name: 'pretix OAuth2' };

const TRIGGER_WF = 'PretixTrigWf0001';
const OAUTH_WF = 'PretixOAuthWf001';
const TEAM_WF = 'PretixTeamWf0001';
/**
 * Triggers whose caller authentication is unusable: an empty path secret (n8n 2.40 itself refuses to
 * publish a node whose required parameter is empty) and the old template placeholder. The latter is
 * published, but n8n 2.40 activates asynchronously (publication outbox): the trigger's checkExists
 * refuses, n8n records the trigger as failed with the message and never registers the webhook.
 */
const WEAK_TRIGGERS = [
	{
		id: 'PretixWeakWf0001',
		webhookId: '5c4b3a29-1807-4f6e-9d5c-4b3a29180706',
		pathSecret: '',
		refusal: /Cannot publish workflow: .*Missing or invalid required parameters: pathSecret/,
	},
	{
		id: 'PretixWeakWf0002',
		webhookId: '6d5c4b3a-2918-4706-8e6d-5c4b3a291807',
		pathSecret: 'replace-with-a-long-random-secret',
		refusal:
			/^Pretix Trigger cannot be activated: The Path Secret is a placeholder or a well-known value: generate one with `openssl rand/,
	},
];

interface PublicationStatus {
	status: string;
	triggers: Array<{ nodeId: string; status: string; errorMessage: string | null }>;
}

/** Why publishing the workflow did not make its trigger live: the API's refusal, or the trigger's activation error. */
async function publicationRefusal(workflowId: string): Promise<string> {
	const refused = await n8n.publish(workflowId).then(
		() => undefined,
		(error: Error) => error.message,
	);
	if (refused) return refused;
	const deadline = Date.now() + 30_000;
	for (;;) {
		const { data } = (await n8n.rest(
			'GET',
			`/rest/workflows/${workflowId}/publication-status`,
		)) as { data: PublicationStatus };
		const failed = data.triggers.find((t) => t.status === 'failed');
		if (data.status !== 'in_progress' && failed) return failed.errorMessage ?? '';
		if (data.triggers.some((t) => t.status === 'activated')) return 'activated';
		if (Date.now() > deadline) return `still ${data.status}`;
		await delay(250);
	}
}

const TRIGGER_WEBHOOK_ID = '7d1f3c2a-5b64-4e8f-9a0b-1c2d3e4f5a6b';
const PATH_SECRET = 'Xk29vTq7LmP3wZr8_nB4Hc6Jd0';
const HOOK_USER = 'pretix';
const HOOK_PASSWORD = 'h00k:p@ss word';

/** Active paid positions of the fixture event, add-ons included (as the engine tests establish). */
const PAID_POSITIONS = [
	5001, 5004, 5006, 5007, 5008, 5009, 5010, 5011, 5012, 5013, 5014, 5015, 5016, 5017, 5018,
];

let fake: StartedFakePretix & FakePretix;
let n8n: N8nInstance;
let oauthToken: { access_token: string; refresh_token: string };

function webhookNode(name: string, path: string, webhookId: string) {
	return {
		id: `${webhookId}-n`,
		name,
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId,
		parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
	};
}

function workflows(pretixUrl: string) {
	const trigger = {
		id: TRIGGER_WF,
		name: 'pretix trigger e2e',
		nodes: [
			{
				id: 'trigger-node',
				name: 'Pretix Trigger',
				type: `${PKG}.pretixTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: TRIGGER_WEBHOOK_ID,
				parameters: {
					authentication: 'pretixApi',
					callerAuth: 'pathSecretAndBasicAuth',
					pathSecret: PATH_SECRET,
					basicAuthUser: HOOK_USER,
					basicAuthPassword: HOOK_PASSWORD,
					resolveOrder: true,
				},
				credentials: { pretixApi: TEAM_CRED },
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
	const oauth = {
		id: OAUTH_WF,
		name: 'pretix orders oauth e2e',
		nodes: [
			webhookNode('Webhook', 'pretix-orders-oauth', '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d'),
			{
				id: 'orders-oauth',
				name: 'Orders',
				type: `${PKG}.pretixOrders`,
				typeVersion: 1,
				position: [220, 0],
				parameters: {
					authentication: 'pretixOAuth2Api',
					resource: 'attendee',
					operation: 'getMany',
					eventBy: 'url',
					eventUrl: `${pretixUrl}/exampleorg/summit26/`,
				},
				credentials: { pretixOAuth2Api: OAUTH_CRED },
			},
		],
		connections: { Webhook: { main: [[{ node: 'Orders', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
	const team = {
		id: TEAM_WF,
		name: 'pretix orders team e2e',
		nodes: [
			webhookNode('Webhook', 'pretix-orders-team', '1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e'),
			{
				// Parameters as saved before organizer/event became resource locators (plain strings).
				id: 'orders-team',
				name: 'Orders',
				type: `${PKG}.pretixOrders`,
				typeVersion: 1,
				position: [220, 0],
				parameters: {
					authentication: 'pretixApi',
					resource: 'attendee',
					operation: 'getMany',
					eventBy: 'slugs',
					organizer: 'exampleorg',
					event: 'summit26',
					incremental: true,
				},
				credentials: { pretixApi: TEAM_CRED },
			},
			{
				// Resource-locator values as the editor saves them (organizer from the list, event by URL).
				id: 'event-team',
				name: 'Event',
				type: `${PKG}.pretixOrders`,
				typeVersion: 1,
				position: [220, 200],
				parameters: {
					authentication: 'pretixApi',
					resource: 'event',
					operation: 'get',
					eventBy: 'slugs',
					organizer: {
						__rl: true,
						mode: 'list',
						value: 'exampleorg',
						cachedResultName: 'Example Org',
					},
					event: { __rl: true, mode: 'url', value: `${pretixUrl}/exampleorg/summit26/` },
				},
				credentials: { pretixApi: TEAM_CRED },
			},
		],
		connections: {
			Webhook: {
				main: [
					[
						{ node: 'Orders', type: 'main', index: 0 },
						{ node: 'Event', type: 'main', index: 0 },
					],
				],
			},
		},
		settings: { executionOrder: 'v1' },
	};
	const weak = WEAK_TRIGGERS.map((w) => ({
		id: w.id,
		name: `weak pretix trigger ${w.id}`,
		nodes: [
			{
				...trigger.nodes[0],
				id: `${w.id}-trigger`,
				webhookId: w.webhookId,
				parameters: {
					authentication: 'pretixApi',
					callerAuth: 'pathSecret',
					pathSecret: w.pathSecret,
					resolveOrder: true,
				},
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
	}));
	return [trigger, oauth, team, ...weak];
}

const byId = (a: ExecutionSummary, b: ExecutionSummary) => Number(a.id) - Number(b.id);

async function finished(workflowId: string, count: number): Promise<ExecutionSummary[]> {
	return (await n8n.waitForExecutions(workflowId, count)).sort(byId);
}

/** Waits a little and returns the number of executions, to prove that nothing else started. */
async function settledCount(workflowId: string): Promise<number> {
	return (await settledRuns(workflowId)).length;
}

/** Waits a little, then describes every run (id, status, notification ids): a mismatch shows what ran. */
async function settledRuns(workflowId: string): Promise<string[]> {
	await delay(1500);
	const runs = (await n8n.executions(workflowId, true)).sort(byId);
	return runs.map((run) => {
		const ids = [...new Set(runData(run, 'Pretix Trigger').map((item) => item.notificationId))];
		return `${run.id}:${run.status}:${ids.join(',')}`;
	});
}

beforeAll(async () => {
	fake = await startFakePretix({ webhooks: { timeFactor: 1000 } });
	oauthToken = fake.issueOAuthToken({ scope: 'read' });
	n8n = await N8nInstance.start({
		label: 'pretix',
		// Small, so the payload limit of n8n itself can be crossed cheaply (in MiB).
		env: { N8N_PAYLOAD_SIZE_MAX: '1' },
		credentials: [
			{ ...TEAM_CRED, type: 'pretixApi', data: { url: fake.url, apiToken: FAKE_TEAM_TOKEN } },
			{
				...OAUTH_CRED,
				type: 'pretixOAuth2Api',
				data: {
					url: fake.url,
					accessLevel: 'read',
					clientId: FAKE_OAUTH_CLIENT.clientId,
					clientSecret: FAKE_OAUTH_CLIENT.clientSecret,
					oauthTokenData: { ...oauthToken, token_type: 'Bearer' },
				},
			},
		],
		workflows: workflows(fake.url),
		publish: [TRIGGER_WF, OAUTH_WF, TEAM_WF],
	});
}, 240_000);

afterAll(async () => {
	fake?.sender.stop();
	await n8n?.destroy();
	await fake?.stop();
});

const productionPath = `${TRIGGER_WEBHOOK_ID}/pretix/${PATH_SECRET}`;
const basicHeader = `Basic ${Buffer.from(`${HOOK_USER}:${HOOK_PASSWORD}`).toString('base64')}`;
/** The URL given to pretix: production URL with user:password@ (pretix sends them as Basic auth). */
function pretixTargetUrl(): string {
	const url = new URL(n8n.webhookUrl(productionPath));
	url.username = encodeURIComponent(HOOK_USER);
	url.password = encodeURIComponent(HOOK_PASSWORD);
	return url.toString();
}

/** Every status n8n answered to a pretix-like caller in this file: none may be 410 (it disables the webhook). */
const answered: number[] = [];

async function post(
	path: string,
	body: string | Buffer,
	headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
	const res = await fetch(n8n.webhookUrl(path), {
		method: 'POST',
		headers: { 'content-type': 'application/json', authorization: basicHeader, ...headers },
		body,
	});
	const text = await res.text();
	answered.push(res.status);
	return { status: res.status, text, headers: res.headers };
}

describe('Pretix Trigger in real n8n', () => {
	test('the production webhook has the path <webhookId>/pretix/<secret>; nothing else answers', async () => {
		const webhooks = (await n8n.rest('GET', `/rest/workflows/${TRIGGER_WF}`)) as {
			data: { active: boolean; activeVersionId?: string | null };
		};
		expect(webhooks.data.activeVersionId ?? webhooks.data.active).toBeTruthy();
		// Without the secret, or with a wrong one, n8n itself answers 404 (a 4xx with a reason, never 410).
		for (const path of [
			`${TRIGGER_WEBHOOK_ID}/pretix`,
			`${TRIGGER_WEBHOOK_ID}/pretix/${PATH_SECRET.replace('X', 'Y')}`,
			`${TRIGGER_WEBHOOK_ID}/pretix/${PATH_SECRET}/x`,
		]) {
			const res = await post(path, JSON.stringify(webhookFixture('order-paid')));
			expect({ path, status: res.status }).toEqual({ path, status: 404 });
			expect(res.text).toMatch(/not registered/i);
		}
		expect(await settledCount(TRIGGER_WF)).toBe(0);
	});

	test('a trigger with an empty or placeholder path secret never goes live: publishing is refused or its activation fails with the reason; its URL never answers', async () => {
		for (const weak of WEAK_TRIGGERS) {
			const refused = await publicationRefusal(weak.id);
			expect(refused).toMatch(weak.refusal);
			if (weak.pathSecret) expect(refused).not.toContain(weak.pathSecret);
			for (const path of [
				`${weak.webhookId}/pretix`,
				`${weak.webhookId}/pretix/${weak.pathSecret}`,
			]) {
				const res = await post(path, JSON.stringify(webhookFixture('order-paid')));
				expect({ path, status: res.status }).toEqual({ path, status: 404 });
			}
			expect(await settledCount(weak.id)).toBe(0);
		}
	});

	test('fixture notifications delivered by the fake pretix start runs with exactly the right attendees; duplicates do not', async () => {
		const target = pretixTargetUrl();
		const send = async (name: WebhookFixtureName) => {
			const delivery = fake.deliver(target, webhookFixture(name));
			expect(await delivery.done).toBe('delivered');
			for (const attempt of delivery.attempts) answered.push(attempt.status ?? 0);
			return delivery;
		};
		// What the default trigger (paid orders, default actions) starts for each fixture.
		const plan: Array<[WebhookFixtureName, number[] | 'none']> = [
			['order-paid', [5001]],
			['order-placed', 'none'], // B7NQX is pending: acknowledged, no run
			['order-changed-item', [5006, 5007, 5008, 5009]], // 5009 is 5006's workshop add-on: a ticket of its own, its parent's attendee
			['checkin', 'none'], // action not selected
			['order-modified', [5013]],
			['order-changed-cancel-position', [5004]], // the canceled position 5005 is not emitted
			['order-canceled', 'none'],
		];
		for (const [name] of plan) {
			const delivery = await send(name);
			expect({ name, statuses: delivery.attempts.map((a) => a.status) }).toEqual({
				name,
				statuses: [200],
			});
		}
		const expected = plan.filter(([, want]) => want !== 'none') as Array<
			[WebhookFixtureName, number[]]
		>;
		const runs = await finished(TRIGGER_WF, expected.length);
		expect(runs).toHaveLength(expected.length);
		for (const [index, [name, positions]] of expected.entries()) {
			const run = runs[index];
			expect({ name, status: run.status, mode: run.mode }).toEqual({
				name,
				status: 'success',
				mode: 'webhook',
			});
			const items = runData(run, 'Pretix Trigger');
			const fixture = webhookFixture(name);
			expect({ name, positions: items.map((a) => a.positionId) }).toEqual({ name, positions });
			for (const item of items)
				expect(item).toMatchObject({
					notificationId: fixture.notification_id,
					action: fixture.action,
					organizer: 'exampleorg',
					event: 'summit26',
					orderCode: fixture.code,
				});
		}
		expect(runData(runs[0], 'Pretix Trigger')[0].matrixId).toBe('@alice:example.org');
		// No personal data by default.
		for (const run of runs)
			for (const item of runData(run, 'Pretix Trigger'))
				expect(Object.keys(item).filter((k) => /name|mail/i.test(k))).toEqual([]);

		// pretix re-sends notifications it is unsure about: the same notification_id again.
		const before = fake.requestCount({ path: '/orders/' });
		for (const name of ['order-paid', 'order-changed-item'] as const) {
			const again = await send(name);
			expect(again.attempts.map((a) => a.status)).toEqual([200]);
			expect(JSON.parse(again.attempts[0].body ?? '{}')).toEqual({
				received: true,
				duplicate: true,
			});
		}
		expect(fake.requestCount({ path: '/orders/' })).toBe(before);
		expect(await settledCount(TRIGGER_WF)).toBe(expected.length);
	});

	test('a subscribed pretix webhook delivers through notify() with Basic auth from the target URL', async () => {
		const hook = fake.addWebhook({
			target_url: pretixTargetUrl(),
			action_types: DEFAULT_TRIGGER_ACTIONS,
		});
		const count = (await n8n.executions(TRIGGER_WF, false)).length;
		const { deliveries } = fake.notify('pretix.event.order.paid', {
			event: 'summit26',
			code: 'N7VWZ',
		});
		expect(deliveries).toHaveLength(1);
		expect(await deliveries[0].done).toBe('delivered');
		answered.push(...deliveries[0].attempts.map((a) => a.status ?? 0));
		const runs = await finished(TRIGGER_WF, count + 1);
		expect(
			runData(runs[runs.length - 1], 'Pretix Trigger').map((a) => [a.orderCode, a.positionId]),
		).toEqual([['N7VWZ', 5017]]);
		hook.enabled = false;
	});

	test('bad calls get a clear 4xx, n8n stays up, nothing starts', async () => {
		const before = await settledRuns(TRIGGER_WF);
		const count = before.length;
		const valid = webhookFixture('order-paid');
		const fresh = { ...valid, notification_id: 90000001 };

		const noAuth = await post(productionPath, JSON.stringify(fresh), { authorization: '' });
		expect(noAuth.status).toBe(401);
		expect(noAuth.headers.get('www-authenticate')).toMatch(/^Basic/);
		expect(JSON.parse(noAuth.text).error).toMatch(/user:password@/);
		const wrongAuth = await post(productionPath, JSON.stringify(fresh), {
			authorization: `Basic ${Buffer.from(`${HOOK_USER}:nope`).toString('base64')}`,
		});
		expect(wrongAuth.status).toBe(401);

		// application/json that is not JSON: n8n's body parser answers before the node runs.
		const broken = await post(productionPath, '{"notification_id": 1, "organizer":');
		expect(broken.status).toBe(422);
		expect(JSON.parse(broken.text).message).toBe('Failed to parse request body');
		// Without a content type n8n leaves the body to the node, which says what is wrong.
		const untyped = await post(productionPath, '{"notification_id": 1, "organizer":', {
			'content-type': '',
		});
		expect(untyped.status).toBe(400);
		expect(JSON.parse(untyped.text).error).toMatch(/not valid JSON/);
		const missing = await post(productionPath, JSON.stringify({ ...fresh, code: undefined }));
		expect(missing.status).toBe(400);
		expect(JSON.parse(missing.text).error).toMatch(/"code"/);
		const array = await post(productionPath, '[]');
		expect(array.status).toBe(400);
		expect(JSON.parse(array.text).error).toMatch(/JSON object/);
		const oversized = await post(
			productionPath,
			JSON.stringify({ ...fresh, pad: 'x'.repeat(20_000) }),
		);
		expect(oversized.status).toBe(413);
		expect(JSON.parse(oversized.text).error).toMatch(/larger than/);
		// Beyond n8n's own payload limit (N8N_PAYLOAD_SIZE_MAX=1 MiB here) n8n answers 500 before the node
		// runs (pretix would retry, not disable); nothing pretix sends comes near that.
		const huge = await post(
			productionPath,
			JSON.stringify({ ...fresh, pad: 'x'.repeat(2 * 1024 * 1024) }),
		);
		expect(huge.status).toBe(500);

		expect((await fetch(`${n8n.baseUrl}/healthz/readiness`)).status).toBe(200);
		expect(await settledRuns(TRIGGER_WF)).toEqual(before);
		// Still serving: the fresh notification goes through afterwards.
		const ok = await post(productionPath, JSON.stringify(fresh));
		expect(ok.status).toBe(200);
		expect(JSON.parse(ok.text)).toEqual({ received: true, attendees: 1 });
		await finished(TRIGGER_WF, count + 1);
	});

	test('two overlapping deliveries of one notification start one run; the other is told to retry', async () => {
		const count = (await n8n.executions(TRIGGER_WF, false)).length;
		fake.injectFaults({ kind: 'hang', delayMs: 500, match: '/orders/K7MNP/' });
		const payload = JSON.stringify({
			notification_id: 90000002,
			organizer: 'exampleorg',
			event: 'summit26',
			code: 'K7MNP',
			action: 'pretix.event.order.paid',
		});
		const [a, b] = await Promise.all([
			post(productionPath, payload),
			delay(100).then(() => post(productionPath, payload)),
		]);
		expect([a.status, b.status].sort()).toEqual([200, 503]);
		const runs = await finished(TRIGGER_WF, count + 1);
		expect(runData(runs[runs.length - 1], 'Pretix Trigger').map((x) => x.orderCode)).toEqual([
			'K7MNP',
		]);
		// pretix's retry of the 503 is acknowledged as a duplicate.
		const retry = await post(productionPath, payload);
		expect(JSON.parse(retry.text)).toEqual({ received: true, duplicate: true });
		expect(await settledCount(TRIGGER_WF)).toBe(count + 1);
	});

	test('no answer to a pretix-like caller was ever 410', () => {
		expect(answered.length).toBeGreaterThan(10);
		expect(answered).not.toContain(410);
	});
});

describe('Pretix Orders in real n8n', () => {
	test('OAuth2: an expired access token is refreshed by n8n (non-rotating refresh token) and the run succeeds', async () => {
		fake.expireAccessToken(oauthToken.access_token);
		fake.resetRequests();
		const res = await fetch(n8n.webhookUrl('pretix-orders-oauth'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		expect(res.status).toBe(200);
		const [run] = await finished(OAUTH_WF, 1);
		expect(run.data?.resultData.error?.message).toBeUndefined();
		expect(run.status).toBe('success');
		expect(runData(run, 'Orders').map((a) => a.positionId)).toEqual(PAID_POSITIONS);
		// 401 with the expired token, one refresh (client authenticated by HTTP Basic), then Bearer with the new token.
		const token = fake.requests.filter((r) => r.path.endsWith('/oauth/token'));
		expect(token.map((r) => [r.method, r.auth, r.status])).toEqual([['POST', 'basic', 200]]);
		expect(fake.requests[0]).toMatchObject({ auth: 'bearer', status: 401 });
		const api = fake.requests.filter((r) => r.path.startsWith('/api/v1/organizers'));
		expect(api.slice(1).every((r) => r.auth === 'bearer' && r.status === 200)).toBe(true);

		// n8n stored the new token: the next run needs no refresh.
		fake.resetRequests();
		await fetch(n8n.webhookUrl('pretix-orders-oauth'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		const second = (await finished(OAUTH_WF, 2))[1];
		expect(second.status).toBe('success');
		expect(fake.requestCount({ path: '/oauth/token' })).toBe(0);
		expect(fake.requests.every((r) => r.status === 200)).toBe(true);

		// A day later the refreshed token expires too; the same (not rotated) refresh token still works.
		fake.clock.advance(25 * 3600 * 1000);
		fake.resetRequests();
		await fetch(n8n.webhookUrl('pretix-orders-oauth'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		const third = (await finished(OAUTH_WF, 3))[2];
		expect(third.data?.resultData.error?.message).toBeUndefined();
		expect(third.status).toBe('success');
		expect(fake.requestCount({ path: '/oauth/token' })).toBe(1);
		expect(runData(third, 'Orders')).toHaveLength(PAID_POSITIONS.length);
	});

	test('team token: attendees with legacy parameters, incremental re-run costs one request, resource-locator values work', async () => {
		fake.resetRequests();
		await fetch(n8n.webhookUrl('pretix-orders-team'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		const [first] = await finished(TEAM_WF, 1);
		expect(first.data?.resultData.error?.message).toBeUndefined();
		expect(first.status).toBe('success');
		expect(runData(first, 'Orders').map((a) => a.positionId)).toEqual(PAID_POSITIONS);
		expect(runData(first, 'Event')).toEqual([
			expect.objectContaining({ organizer: 'exampleorg', slug: 'summit26' }),
		]);
		expect(fake.requests.every((r) => r.auth === 'token')).toBe(true);

		// The cursor lives in the workflow's static data, which n8n persists after a production run.
		fake.resetRequests();
		await fetch(n8n.webhookUrl('pretix-orders-team'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		const second = (await finished(TEAM_WF, 2))[1];
		expect(second.status).toBe('success');
		expect(runData(second, 'Orders')).toEqual([]);
		expect(fake.requestCount({ path: '/orders/' })).toBe(1);

		fake.setAnswer('F7KMA', 5010, '@ivan:example.org');
		await fetch(n8n.webhookUrl('pretix-orders-team'), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		const third = (await finished(TEAM_WF, 3))[2];
		expect(runData(third, 'Orders').map((a) => [a.positionId, a.matrixId])).toEqual([
			[5010, '@ivan:example.org'],
		]);
	});

	test('the team-token credential test passes in n8n and fails clearly with a wrong token', async () => {
		const test = async (apiToken: string) =>
			(await n8n.rest('POST', '/rest/credentials/test', {
				credentials: { ...TEAM_CRED, type: 'pretixApi', data: { url: fake.url, apiToken } },
			})) as { data: { status: string; message: string } };
		expect((await test(FAKE_TEAM_TOKEN)).data.status).toBe('OK');
		const wrong = (await test('not-a-real-token')).data;
		expect(wrong.status).toBe('Error');
		expect(wrong.message).not.toContain('not-a-real-token');
	});

	test("list search for organizers and events answers through n8n's editor API", async () => {
		const search = async (
			methodName: string,
			path: string,
			currentNodeParameters: Record<string, unknown>,
			filter?: string,
		) =>
			(
				(await n8n.rest('POST', '/rest/dynamic-node-parameters/resource-locator-results', {
					path,
					methodName,
					filter,
					nodeTypeAndVersion: { name: `${PKG}.pretixOrders`, version: 1 },
					currentNodeParameters: {
						authentication: 'pretixApi',
						resource: 'attendee',
						operation: 'getMany',
						eventBy: 'slugs',
						...currentNodeParameters,
					},
					credentials: { pretixApi: TEAM_CRED },
				})) as { data: { results: Array<{ name: string; value: string; url?: string }> } }
			).data.results;
		const organizers = await search('searchOrganizers', 'organizer', {
			organizer: { __rl: true, mode: 'list', value: '' },
		});
		expect(organizers.map((o) => o.value)).toContain('exampleorg');
		const events = await search('searchEvents', 'event', {
			organizer: { __rl: true, mode: 'list', value: 'exampleorg' },
			event: { __rl: true, mode: 'list', value: '' },
		});
		expect(events.map((e) => e.value).sort()).toEqual(['meetups26', 'summit26']);
		const filtered = await search(
			'searchEvents',
			'event',
			{ organizer: 'exampleorg', event: { __rl: true, mode: 'list', value: '' } },
			'summit',
		);
		expect(filtered.map((e) => e.value)).toEqual(['summit26']);
	});
});

describe('n8n logs', () => {
	test("no order code or Matrix ID of the fixtures appears in n8n's output", () => {
		const orders = [
			...readFixture<{
				results: Array<{ code: string; positions: Array<{ answers: Array<{ answer: string }> }> }>;
			}>('orders-page-1.json').results,
			...readFixture<{
				results: Array<{ code: string; positions: Array<{ answers: Array<{ answer: string }> }> }>;
			}>('orders-page-2.json').results,
		];
		const codes = orders.map((o) => o.code);
		const matrixIds = orders
			.flatMap((o) => o.positions.flatMap((p) => p.answers.map((a) => a.answer.trim())))
			.filter((answer) => answer.includes(':') || answer.startsWith('@'));
		expect(codes).toHaveLength(15);
		expect(matrixIds.length).toBeGreaterThan(10);
		const log = n8n.logs();
		expect(log.length).toBeGreaterThan(1000);
		const leaks = [
			...codes.filter((code) => new RegExp(`\\b${code}\\b`).test(log)),
			...matrixIds.filter((id) => log.includes(id)),
			...(log.includes('@ivan:example.org') ? ['@ivan:example.org'] : []),
		];
		expect(leaks).toEqual([]);
		for (const secret of [
			FAKE_TEAM_TOKEN,
			FAKE_OAUTH_CLIENT.clientSecret,
			oauthToken.refresh_token,
			HOOK_PASSWORD,
		])
			expect(log.includes(secret)).toBe(false);
	});
});
