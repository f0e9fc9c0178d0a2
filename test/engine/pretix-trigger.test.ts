import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IDataObject } from 'n8n-workflow';

import { runWebhook, runWebhookLifecycle, wf } from '../harness/engine';
import { FAKE_TEAM_TOKEN, FAKE_TEAM_TOKEN_NO_ORDERS, WEBHOOK_FIXTURES, webhookFixture, startFakePretix, type FakePretix, type StartedFakePretix } from '../fakes/pretix';
import { DEFAULT_TRIGGER_ACTIONS, actionMatches } from '../../lib/pretix';

let fake: StartedFakePretix & FakePretix;
beforeEach(async () => {
	fake = await startFakePretix();
});
afterEach(async () => {
	await fake.stop();
});

const credentials = (token = FAKE_TEAM_TOKEN) => ({ pretixApi: { url: fake.url, apiToken: token } });
const plain = (data: IDataObject): IDataObject => JSON.parse(JSON.stringify(data));

function trigger(parameters: IDataObject = {}) {
	return wf([{ name: 'Trigger', type: 'pretixTrigger', parameters: { authentication: 'pretixApi', ...parameters }, credentials: ['pretixApi'], webhookId: 'c0ffee00-1111-4222-8333-444455556666' }]);
}

function post(body: unknown, extra: { headers?: Record<string, string>; path?: string; rawBody?: Buffer } = {}) {
	return { method: 'POST', path: extra.path ?? 'pretix', headers: { 'content-type': 'application/json', ...(extra.headers ?? {}) }, body, rawBody: extra.rawBody };
}

describe('every fixture notification', () => {
	// What the default trigger (resolve order on, paid only) emits for each fixture payload.
	const expected: Record<string, number[] | 'ignored'> = {
		'order-placed': [], // B7NQX is pending
		'order-placed-require-approval': 'ignored',
		'order-payment-confirmed': 'ignored',
		'order-paid': [5001],
		'order-canceled': [], // C8RTW canceled
		'order-changed-cancel-position': [5004],
		'order-changed-item': [5006, 5007, 5008, 5009], // the workshop add-on is a ticket of its own,
		'order-modified': [5013],
		'order-approved': [],
		'order-denied': 'ignored',
		'order-expired': [],
		'order-reactivated': [],
		'order-deleted': 'ignored',
		checkin: 'ignored',
		'event-changed': 'ignored',
	};

	test.each(WEBHOOK_FIXTURES)('%s', async (name) => {
		const body = webhookFixture(name);
		const w = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(body) });
		expect(w.response.status).toBe(200);
		const want = expected[name];
		expect(actionMatches(DEFAULT_TRIGGER_ACTIONS, String(body.action))).toBe(want !== 'ignored');
		if (want === 'ignored') {
			expect(w.response.body).toEqual({ received: true, ignored: 'action not selected' });
			expect(w.run).toBeUndefined();
			expect(fake.requestCount()).toBe(0);
			return;
		}
		expect(w.response.body).toMatchObject({ received: true, attendees: want.length });
		const emitted = w.run ? w.run.output('Trigger') : [];
		expect(emitted.map((a) => a.positionId)).toEqual(want);
		for (const item of emitted) expect(item).toMatchObject({ notificationId: body.notification_id, action: body.action, organizer: 'exampleorg', event: 'summit26', orderCode: body.code });
		expect(fake.requestCount({ path: `/orders/${String(body.code)}/` })).toBe(1);
		// The credential read once for the re-read, and handed to n8n to sign it (in the webhook
		// phase n8n sets up an expression isolate for every read: issue 16).
		expect(w.credentialsHelper.reads).toEqual(['pretixApi']);
	});

	test('pending included by option; deleted order (404) answered 200 with nothing emitted', async () => {
		const placed = await runWebhook({ workflow: trigger({ attendeeOptions: { statuses: ['p', 'n'] } }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-placed')) });
		expect(placed.run!.output('Trigger').map((a) => a.orderCode)).toEqual(['B7NQX']);
		const deleted = await runWebhook({ workflow: trigger({ actions: ['pretix.event.order.deleted'] }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-deleted')) });
		expect(deleted.response.status).toBe(200);
		expect(deleted.response.body).toMatchObject({ attendees: 0, order: 'not found' });
		expect(deleted.run).toBeUndefined();
	});

	test('without resolving: the notification itself is emitted (check-in extras kept)', async () => {
		const w = await runWebhook({ workflow: trigger({ resolveOrder: false, actions: ['pretix.event.checkin'] }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('checkin')) });
		expect(w.run!.output('Trigger')).toEqual([{ notificationId: 50120077, action: 'pretix.event.checkin', organizer: 'exampleorg', event: 'summit26', orderCode: 'ABC3K', orderposition_id: 5001, orderposition_positionid: 1, checkin_list: 17, type: 'entry', first_checkin: true }]);
		expect(fake.requestCount()).toBe(0);
	});
});

describe('filters and de-duplication', () => {
	test('organizer and event filters answer 200 and start nothing', async () => {
		const other = await runWebhook({ workflow: trigger({ eventFilter: 'meetups26' }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')) });
		expect(other.response.body).toEqual({ received: true, ignored: 'event not selected' });
		const org = await runWebhook({ workflow: trigger({ organizerFilter: 'sampleevents' }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')) });
		expect(org.response.body).toEqual({ received: true, ignored: 'organizer not selected' });
		const match = await runWebhook({ workflow: trigger({ organizerFilter: 'ExampleOrg', eventFilter: 'meetups26, summit26' }), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')) });
		expect(match.run!.output('Trigger')).toHaveLength(1);
	});

	test('a duplicate notification_id is acknowledged but not emitted again', async () => {
		const first = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')) });
		expect(first.run!.output('Trigger')).toHaveLength(1);
		const again = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: plain(first.staticData) });
		expect(again.response.status).toBe(200);
		expect(again.response.body).toEqual({ received: true, duplicate: true });
		expect(again.run).toBeUndefined();
		expect(fake.requestCount({ path: '/orders/' })).toBe(1);
	});

	test('overlapping deliveries of one notification: one run, the other answered 503 (retry), none lost', async () => {
		// n8n hands each request its own copy of the static data, as here: the overlap is invisible to it.
		fake.injectFaults({ kind: 'hang', delayMs: 300, match: '/orders/ABC3K/' });
		const workflow = trigger();
		const shared = {};
		const [a, b] = await Promise.all([
			runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: shared }),
			runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: shared }),
		]);
		const statuses = [a.response.status, b.response.status].sort();
		expect(statuses).toEqual([200, 503]);
		const busy = a.response.status === 503 ? a : b;
		expect(String((busy.response.body as IDataObject).error)).toMatch(/being processed already; pretix will retry/);
		expect(busy.response.headers['retry-after']).toBe('30');
		expect([a.run, b.run].filter(Boolean)).toHaveLength(1);
		expect(fake.requestCount({ path: '/orders/ABC3K/' })).toBe(1);
		// pretix's retry, still with the stale static data n8n may not have saved yet: acknowledged, no second run.
		const retry = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: shared });
		expect(retry.response.body).toEqual({ received: true, duplicate: true });
		expect(retry.run).toBeUndefined();
		// Another trigger node (another workflow or node id) keeps its own memory.
		const fresh = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')) });
		expect(fresh.run!.output('Trigger')).toHaveLength(1);
	});

	test('a failed attempt is not remembered in memory either: the retry runs', async () => {
		fake.injectFaults({ status: 502, times: 10, match: '/orders/ABC3K/' });
		const workflow = trigger();
		const shared = {};
		const failed = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: shared });
		expect(failed.response.status).toBe(503);
		fake.clearFaults();
		const retry = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(webhookFixture('order-paid')), staticData: shared });
		expect(retry.run!.output('Trigger')).toHaveLength(1);
	}, 20000);

	test('the dedupe memory is bounded', async () => {
		const seen = Array.from({ length: 5000 }, (_, i) => i + 1);
		const w = await runWebhook({ workflow: trigger({ resolveOrder: false }), node: 'Trigger', credentials: credentials(), request: post({ ...webhookFixture('order-paid'), notification_id: 999999 }), staticData: { 'node:Trigger': { seenNotifications: seen } } });
		const list = (plain(w.staticData)['node:Trigger'] as IDataObject).seenNotifications as number[];
		expect(list).toHaveLength(5000);
		expect(list[0]).toBe(2);
		expect(list[list.length - 1]).toBe(999999);
	});
});

describe('bad input', () => {
	const valid = webhookFixture('order-paid');
	test.each([
		['broken JSON → 400', Buffer.from('{"notification_id": 1, "organizer":'), 400, 'not valid JSON'],
		['array → 400', Buffer.from('[]'), 400, 'JSON object'],
		['missing code → 400', Buffer.from(JSON.stringify({ ...valid, code: undefined })), 400, '"code"'],
		['mistyped id → 400', Buffer.from(JSON.stringify({ ...valid, notification_id: 'x' })), 400, 'notification_id'],
		['unknown action shape → 400', Buffer.from(JSON.stringify({ ...valid, action: 'DROP TABLE' })), 400, '"action"'],
		['oversized → 413', Buffer.from(JSON.stringify({ ...valid, pad: 'x'.repeat(20000) })), 413, 'larger than'],
	])('%s, with a reason', async (_name, rawBody, status, reason) => {
		const w = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post({}, { rawBody }) });
		expect(w.response.status).toBe(status);
		expect(String((w.response.body as IDataObject).error)).toContain(reason);
		expect(w.run).toBeUndefined();
	});

	test('a valid but unknown (plugin) action is acknowledged, not rejected', async () => {
		const w = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post({ ...valid, action: 'pretix.plugins.something.happened' }) });
		expect(w.response.status).toBe(200);
	});

	test('pretix failing while resolving → 503 so pretix retries; the id is not remembered', async () => {
		fake.injectFaults({ status: 502, times: 10 });
		const w = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(valid) });
		expect(w.response.status).toBe(503);
		expect(String((w.response.body as IDataObject).error)).toMatch(/retry/);
		fake.clearFaults();
		const retry = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(), request: post(valid), staticData: plain(w.staticData) });
		expect(retry.run!.output('Trigger')).toHaveLength(1);
	}, 20000);

	test('a credential without order permission → 503 (pretix keeps retrying while it is fixed), no secrets in the body', async () => {
		const w = await runWebhook({ workflow: trigger(), node: 'Trigger', credentials: credentials(FAKE_TEAM_TOKEN_NO_ORDERS), request: post(valid) });
		expect(w.response.status).toBe(503);
		expect(String((w.response.body as IDataObject).error)).toContain('cannot read organizer "exampleorg"');
		expect(JSON.stringify(w.response.body)).not.toContain(FAKE_TEAM_TOKEN_NO_ORDERS);
	});
});

describe('caller authentication', () => {
	const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
	const valid = webhookFixture('order-paid');

	test('path secret: right → 200, wrong → 404 (never 410)', async () => {
		const workflow = trigger({ callerAuth: 'pathSecret', pathSecret: 'Zk3v9QwT7rLx2abcdPq8Wn4M' });
		const ok = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { path: 'pretix/Zk3v9QwT7rLx2abcdPq8Wn4M' }) });
		expect(ok.response.status).toBe(200);
		const wrong = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { path: 'pretix/Zk3v9QwT7rLx3abcdPq8Wn4M' }) });
		expect(wrong.response.status).toBe(404);
		expect(wrong.run).toBeUndefined();
	});

	// What people leave in or type: each refused, both at activation and per request.
	const WEAK_PATH_SECRETS: Array<[string, RegExp]> = [
		['', /The Path Secret is empty/],
		['replace-with-a-long-random-secret', /placeholder or a well-known value/],
		['changeme', /placeholder or a well-known value/],
		['Zk3v9QwT7rLx2abcd', /at least 22 characters/],
		['a'.repeat(16), /at least 22 characters/],
		['a'.repeat(30), /too regular/],
		['abcdefghijklmnopqrstuvwxyz', /too regular/],
		['qwertyuiopasdfghjklzxcvbnm', /too regular/],
		['Xk3vQ9pL2mXk3vQ9pL2mXk3vQ9pL', /too regular/],
		['Zk3v9QwT7rLx2abcdPq8Wn4M/', /may only contain letters, digits/],
	];

	test.each(WEAK_PATH_SECRETS)('path secret %j: activation refused with a clear reason; a call never passes', async (pathSecret, reason) => {
		const workflow = trigger({ callerAuth: 'pathSecret', pathSecret });
		const activation = runWebhookLifecycle({ workflow, node: 'Trigger', method: 'checkExists', credentials: credentials() });
		await expect(activation).rejects.toThrow(reason);
		await expect(activation).rejects.toThrow(/Pretix Trigger cannot be activated: .*(openssl rand|URL)/);
		if (pathSecret) await expect(activation).rejects.not.toThrow(pathSecret);
		await expect(runWebhookLifecycle({ workflow, node: 'Trigger', method: 'create', credentials: credentials() })).rejects.toThrow(reason);
		const call = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { path: `pretix/${pathSecret}` }) });
		expect(call.response.status).toBe(500);
		expect(call.response.body).toEqual({ error: 'Pretix Trigger is misconfigured: its caller authentication is not usable; fix the trigger in n8n.' });
		expect(call.run).toBeUndefined();
		expect(fake.requestCount()).toBe(0);
	});

	test('a generated secret activates (registration off: nothing is asked of pretix)', async () => {
		const workflow = trigger({ callerAuth: 'pathSecretAndBasicAuth', pathSecret: 'edQj9FvQqmG8e6qu5SpS-76r', basicAuthUser: 'hook', basicAuthPassword: 'p' });
		expect((await runWebhookLifecycle({ workflow, node: 'Trigger', method: 'checkExists', credentials: credentials() })).result).toBe(true);
		expect(fake.requestCount()).toBe(0);
	});

	test('an empty Basic Auth password (or user) refuses activation; a call with an empty password never passes', async () => {
		const cases: Array<[IDataObject, RegExp]> = [
			[{ callerAuth: 'basicAuth', basicAuthUser: 'pretix', basicAuthPassword: '' }, /Basic Auth Password is empty/],
			[{ callerAuth: 'basicAuth', basicAuthUser: 'pretix', basicAuthPassword: '   ' }, /Basic Auth Password is empty/],
			[{ callerAuth: 'basicAuth', basicAuthUser: '', basicAuthPassword: 'x' }, /Basic Auth User is empty/],
			[{ callerAuth: 'pathSecretAndBasicAuth', pathSecret: 'edQj9FvQqmG8e6qu5SpS-76r', basicAuthUser: 'pretix', basicAuthPassword: '' }, /Basic Auth Password is empty/],
		];
		for (const [parameters, reason] of cases) {
			await expect(runWebhookLifecycle({ workflow: trigger(parameters), node: 'Trigger', method: 'checkExists', credentials: credentials() })).rejects.toThrow(reason);
		}
		const workflow = trigger({ callerAuth: 'basicAuth', basicAuthUser: 'pretix', basicAuthPassword: '' });
		const call = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { headers: { authorization: basic('pretix', '') } }) });
		expect(call.response.status).toBe(500);
		expect(call.run).toBeUndefined();
	});

	test('Basic auth: right → 200, missing/wrong → 401 with a reason', async () => {
		const workflow = trigger({ callerAuth: 'basicAuth', basicAuthUser: 'pretix', basicAuthPassword: 's3cr@t' });
		const ok = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { headers: { authorization: basic('pretix', 's3cr@t') } }) });
		expect(ok.response.status).toBe(200);
		for (const header of [undefined, basic('pretix', 'nope'), basic('other', 's3cr@t'), 'Bearer x', 'Basic !!!']) {
			const w = await runWebhook({ workflow, node: 'Trigger', credentials: credentials(), request: post(valid, { headers: header ? { authorization: header } : {} }) });
			expect(w.response.status).toBe(401);
			expect(w.response.headers['www-authenticate']).toMatch(/^Basic/);
			expect(String((w.response.body as IDataObject).error)).toMatch(/user:password@/);
		}
	});
});

describe('fake pretix sender → trigger', () => {
	test('python-requests delivery with Basic auth from the URL; retries after 503 and duplicates are absorbed', async () => {
		const compressed = await startFakePretix({ webhooks: { timeFactor: 1000 } });
		const workflow = wf([{ name: 'Trigger', type: 'pretixTrigger', parameters: { authentication: 'pretixApi', callerAuth: 'pathSecretAndBasicAuth', pathSecret: 'Q7pLm2x9Kd3Rt8VwHs5Yc1Nf', basicAuthUser: 'hook', basicAuthPassword: 'p@ss:word' }, credentials: ['pretixApi'], webhookId: 'c0ffee00-1111-4222-8333-444455556666' }]);
		let staticData: IDataObject = {};
		const emitted: IDataObject[][] = [];
		const statuses: number[] = [];
		const receiver = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', async () => {
				const rawBody = Buffer.concat(chunks);
				const w = await runWebhook({
					workflow,
					node: 'Trigger',
					credentials: { pretixApi: { url: compressed.url, apiToken: FAKE_TEAM_TOKEN } },
					request: { method: 'POST', path: (req.url ?? '').replace(/^\/webhook\//, ''), headers: req.headers as Record<string, string>, body: JSON.parse(rawBody.toString()), rawBody },
					staticData,
				});
				staticData = plain(w.staticData);
				if (w.run) emitted.push(w.run.output('Trigger'));
				statuses.push(w.response.status);
				res.writeHead(w.response.status, { 'Content-Type': 'application/json' });
				res.end(JSON.stringify(w.response.body));
			});
		});
		await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
		const port = (receiver.address() as AddressInfo).port;
		try {
			compressed.addWebhook({ target_url: `http://hook:p%40ss%3Aword@127.0.0.1:${port}/webhook/pretix/Q7pLm2x9Kd3Rt8VwHs5Yc1Nf`, action_types: DEFAULT_TRIGGER_ACTIONS });
			compressed.injectFaults({ status: 500, times: 2, match: '/orders/ABC3K/' }); // first delivery fails to resolve → 503
			const first = compressed.notify('pretix.event.order.paid', { event: 'summit26', code: 'ABC3K' });
			expect(await first.deliveries[0].done).toBe('delivered');
			expect(first.deliveries[0].attempts.map((a) => a.status)).toEqual([503, 200]);
			// pretix sends the same notification again (rare duplicate)
			const dup = compressed.deliver(first.deliveries[0].targetUrl, first.deliveries[0].payload);
			expect(await dup.done).toBe('delivered');
			expect(emitted).toHaveLength(1);
			expect(emitted[0].map((a) => a.matrixId)).toEqual(['@alice:example.org']);
			expect(statuses).toEqual([503, 200, 200]);
			// a wrong path secret is 404 and retried, never disabling the webhook
			const wrong = compressed.addWebhook({ target_url: `http://hook:p%40ss%3Aword@127.0.0.1:${port}/webhook/pretix/nope`, action_types: ['pretix.event.order.paid'] });
			const rejected = compressed.notify('pretix.event.order.paid', { event: 'summit26', code: 'ABC3K' });
			await new Promise((resolve) => setTimeout(resolve, 150));
			compressed.sender.stop();
			expect(rejected.deliveries.length).toBe(2);
			expect(wrong.enabled).toBe(true);
		} finally {
			receiver.closeAllConnections();
			await new Promise((resolve) => receiver.close(resolve));
			await compressed.stop();
		}
	}, 20000);
});

describe('webhook registration lifecycle', () => {
	const registering = (extra: IDataObject = {}) => trigger({ registerWebhook: true, registerOrganizer: 'exampleorg', eventFilter: 'summit26', callerAuth: 'pathSecretAndBasicAuth', pathSecret: 'R4nd0mS3cretPath_xJw7Lk2', basicAuthUser: 'hook', basicAuthPassword: 'pw', ...extra });

	test('checkExists → create → checkExists → delete (disables) with the webhook API', async () => {
		const workflow = registering();
		const before = await runWebhookLifecycle({ workflow, node: 'Trigger', method: 'checkExists', credentials: credentials() });
		expect(before.result).toBe(false);
		const created = await runWebhookLifecycle({ workflow, node: 'Trigger', method: 'create', credentials: credentials() });
		expect(created.result).toBe(true);
		const data = plain(created.staticData)['node:Trigger'] as IDataObject;
		const hook = fake.webhooks.get('exampleorg')!.find((h) => h.id === data.webhookId)!;
		expect(hook).toMatchObject({ enabled: true, all_events: false, limit_events: ['summit26'], action_types: DEFAULT_TRIGGER_ACTIONS });
		expect(hook.target_url).toMatch(/^http:\/\/hook:pw@127\.0\.0\.1:5678\/webhook\/c0ffee00-1111-4222-8333-444455556666\/pretix\/R4nd0mS3cretPath_xJw7Lk2$/);
		const exists = await runWebhookLifecycle({ workflow, node: 'Trigger', method: 'checkExists', credentials: credentials(), staticData: plain(created.staticData) });
		expect(exists.result).toBe(true);
		const removed = await runWebhookLifecycle({ workflow, node: 'Trigger', method: 'delete', credentials: credentials(), staticData: plain(created.staticData) });
		expect(removed.result).toBe(true);
		expect(hook.enabled).toBe(false);
		expect((plain(removed.staticData)['node:Trigger'] as IDataObject | undefined)?.webhookId).toBeUndefined();
	});

	test('without write permission: a clear 403 error on create', async () => {
		await expect(runWebhookLifecycle({ workflow: registering(), node: 'Trigger', method: 'create', credentials: credentials(FAKE_TEAM_TOKEN_NO_ORDERS) })).rejects.toThrow(/not allowed to change settings of organizer "exampleorg"/);
	});

	test('registration off: lifecycle methods do nothing', async () => {
		const r = await runWebhookLifecycle({ workflow: trigger(), node: 'Trigger', method: 'create', credentials: credentials() });
		expect(r.result).toBe(true);
		expect(fake.requestCount()).toBe(0);
	});
});
