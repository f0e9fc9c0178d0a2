import { FAKE_TEAM_TOKEN, FAKE_TEAM_TOKEN_NO_ORDERS, FAKE_TEAM_TOKEN_OTHER_EVENT, startFakePretix, type FakePretix, type StartedFakePretix } from '../../fakes/pretix';
import { fetchTransport } from '../../../lib/http/fetch-transport';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../../lib/http/types';
import { normalizeInstanceUrl, PretixApiError, PretixClient } from '../../../lib/pretix';

let fake: StartedFakePretix & FakePretix;
let sleeps: number[];

beforeEach(async () => {
	fake = await startFakePretix();
	sleeps = [];
});
afterEach(async () => {
	await fake.stop();
});

function client(token = FAKE_TEAM_TOKEN, extra: Partial<ConstructorParameters<typeof PretixClient>[0]> = {}) {
	return new PretixClient({
		transport: fetchTransport(() => `Token ${token}`),
		instanceUrl: fake.url,
		sleep: async (ms) => {
			sleeps.push(ms);
		},
		random: () => 0.5,
		...extra,
	});
}

async function errorOf(promise: Promise<unknown>): Promise<PretixApiError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(PretixApiError);
		return error as PretixApiError;
	}
	throw new Error('expected a rejection');
}

test('instance URL normalisation', () => {
	expect(normalizeInstanceUrl('https://pretix.eu/')).toBe('https://pretix.eu');
	expect(normalizeInstanceUrl(' https://pretix.eu/api/v1/ ')).toBe('https://pretix.eu');
	expect(normalizeInstanceUrl('https://example.org/tickets/')).toBe('https://example.org/tickets');
	expect(() => normalizeInstanceUrl('pretix')).toThrow(/not a valid URL/);
	expect(() => normalizeInstanceUrl('ftp://x')).toThrow(/https/);
});

test('pagination follows next links only: 135 orders = 3 requests', async () => {
	fake.generateOrders({ count: 120, seed: 1 });
	const c = client();
	const pages = [];
	for await (const page of c.orderPages('exampleorg', 'summit26')) pages.push(page);
	expect(pages.map((p) => p.results.length)).toEqual([50, 50, 35]);
	expect(pages[0].generated).toMatch(/Z$/);
	expect(fake.requests.map((r) => r.query.page?.[0] ?? '1')).toEqual(['1', '2', '3']);
	expect(c.requests).toBe(3);
	// every next request is exactly the link pretix gave (page_size kept)
	expect(fake.requests[1].search).toBe('page=2&page_size=50');
});

test('429 storm: honours Retry-After, then succeeds', async () => {
	fake.storm429(3, 2);
	const orgs = await client().organizers();
	expect(orgs.map((o) => o.slug)).toEqual(['exampleorg']);
	expect(sleeps).toEqual([2000, 2000, 2000]);
	expect(fake.requestCount()).toBe(4);
});

test('409 lock: waits Retry-After 5 s', async () => {
	fake.injectFaults({ status: 409 });
	await client().event('exampleorg', 'summit26');
	expect(sleeps).toEqual([5000]);
});

test('bounded: too many 429s → rate_limited error; a huge Retry-After fails fast', async () => {
	fake.storm429(10, 1);
	const e = await errorOf(client(FAKE_TEAM_TOKEN, { maxThrottleRetries: 3 }).organizers());
	expect(e.kind).toBe('rate_limited');
	expect(e.status).toBe(429);
	expect(fake.requestCount()).toBe(4);
	fake.clearFaults();
	fake.storm429(1, 3600);
	const slow = await errorOf(client().organizers());
	expect(slow.kind).toBe('rate_limited');
	expect(slow.message).toContain('3600 s');
});

test('5xx and garbage bodies are retried with backoff, then a clear error', async () => {
	fake.injectFaults({ status: 502 }, { kind: 'garbage' }, { kind: 'truncated' });
	const event = await client().event('exampleorg', 'summit26');
	expect(event.slug).toBe('summit26');
	expect(sleeps).toHaveLength(3);
	expect(sleeps[1]).toBeGreaterThan(sleeps[0]);
	fake.injectFaults({ status: 500, times: 10 });
	const e = await errorOf(client().event('exampleorg', 'summit26'));
	expect(e.kind).toBe('server');
	expect(e.status).toBe(500);
	fake.clearFaults();
	fake.injectFaults({ kind: 'garbage', times: 10 });
	expect((await errorOf(client().event('exampleorg', 'summit26'))).kind).toBe('bad_response');
});

test('network errors: retried, then a network error without the URL', async () => {
	const c = new PretixClient({ transport: fetchTransport(() => 'Token x'), instanceUrl: 'http://127.0.0.1:1', sleep: async (ms) => void sleeps.push(ms), maxFailureRetries: 2 });
	const e = await errorOf(c.organizers());
	expect(e.kind).toBe('network');
	expect(sleeps).toHaveLength(2);
	expect(e.message).not.toContain('127.0.0.1');
});

test('socket reset mid-request is retried', async () => {
	fake.injectFaults({ kind: 'reset' });
	expect((await client().organizers()).length).toBe(1);
});

test('401 / 403 / 404 become actionable typed errors that never contain the token', async () => {
	const unauthorized = await errorOf(client('wrong-token-value-123').organizers());
	expect(unauthorized.kind).toBe('unauthorized');
	expect(unauthorized.hint).toMatch(/Reconnect/);
	expect(unauthorized.message).not.toContain('wrong-token-value-123');
	const forbidden = await errorOf(client(FAKE_TEAM_TOKEN_OTHER_EVENT).event('exampleorg', 'summit26'));
	expect(forbidden.kind).toBe('forbidden');
	expect(forbidden.message).toContain('organizer "exampleorg", event "summit26"');
	const noOrders = await errorOf(client(FAKE_TEAM_TOKEN_NO_ORDERS).order('exampleorg', 'summit26', 'ABC3K'));
	expect(noOrders.kind).toBe('forbidden');
	expect(noOrders.message).not.toContain(FAKE_TEAM_TOKEN_NO_ORDERS);
	const missing = await errorOf(client().order('exampleorg', 'summit26', 'T0STA'));
	expect(missing.kind).toBe('not_found');
	expect(missing.message).not.toContain('T0STA');
	expect(sleeps).toEqual([]);
});

test('bad slugs and codes are rejected before any request', async () => {
	await expect(client().event('../admin', 'x')).rejects.toThrow(/organizer slug/);
	await expect(client().order('exampleorg', 'summit26', 'AB/../C')).rejects.toThrow(/order code/);
	expect(fake.requestCount()).toBe(0);
});

test('a next link on another host is re-anchored on the instance; a foreign path is refused', async () => {
	const seen: string[] = [];
	const pages: Record<string, unknown> = {
		'https://pretix.example.org/api/v1/organizers/': { count: 2, next: 'http://internal:8000/api/v1/organizers/?page=2', previous: null, results: [{ slug: 'a' }] },
		'https://pretix.example.org/api/v1/organizers/?page=2': { count: 2, next: null, previous: null, results: [{ slug: 'b' }] },
	};
	const transport: HttpTransport = async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
		seen.push(request.url);
		return { status: 200, headers: {}, body: pages[request.url] as T };
	};
	const c = new PretixClient({ transport, instanceUrl: 'https://pretix.example.org' });
	expect((await c.organizers()).map((o) => o.slug)).toEqual(['a', 'b']);
	expect(seen).toEqual(Object.keys(pages));
	pages['https://pretix.example.org/api/v1/organizers/'] = { count: 2, next: 'https://evil.example.com/steal', previous: null, results: [] };
	await expect(c.organizers()).rejects.toThrow(/outside its API/);
});

test('POST is not retried on 5xx (it could create twice), but is on 429', async () => {
	fake.injectFaults({ status: 500, match: '/webhooks/' });
	const c = client();
	const e = await errorOf(c.createWebhook('exampleorg', { enabled: true, target_url: 'https://n8n.example.org/webhook/x', all_events: true, limit_events: [], action_types: ['pretix.event.order.paid'] }));
	expect(e.kind).toBe('server');
	expect(fake.requestCount({ method: 'POST' })).toBe(1);
	fake.storm429(1, 1, '/webhooks/');
	const created = await c.createWebhook('exampleorg', { enabled: true, target_url: 'https://n8n.example.org/webhook/x', all_events: true, limit_events: [], action_types: ['pretix.event.order.paid'] });
	expect(created.id).toBeGreaterThan(0);
	await c.deleteWebhook('exampleorg', created.id);
	expect((await c.webhooks('exampleorg')).find((w) => w.id === created.id)!.enabled).toBe(false);
	await c.deleteWebhook('exampleorg', 99999); // already gone is fine
});
