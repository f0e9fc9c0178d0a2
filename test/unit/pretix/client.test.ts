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

test('generic lists follow next links only: 60 webhooks = 2 requests, the second exactly the link pretix gave', async () => {
	for (let i = 0; i < 59; i++) fake.addWebhook({ target_url: `https://n8n.example.org/webhook/${i}`, action_types: ['pretix.event.order.paid'] });
	const c = client();
	expect(await c.webhooks('exampleorg')).toHaveLength(60);
	expect(c.requests).toBe(2);
	expect(fake.requests[1].search).toBe('page=2');
});

test('orders are paged by key: 135 orders = 3 requests, each asking again from the last datetime received', async () => {
	fake.generateOrders({ count: 120, seed: 1 });
	const c = client();
	const pages = [];
	for await (const page of c.orderPages('exampleorg', 'summit26')) pages.push(page);
	// The boundary order of each page comes back first on the next one and is yielded once.
	expect(pages.map((p) => p.results.length)).toEqual([50, 49, 36]);
	expect(new Set(pages.flatMap((p) => p.results.map((o) => o.code))).size).toBe(135);
	expect(pages[0].generated).toMatch(/Z$/);
	expect(c.requests).toBe(3);
	const [first, second] = fake.requests;
	expect(first.query).toEqual({ include_canceled_positions: ['true'], ordering: ['datetime'], page_size: ['50'] });
	expect(second.query.created_since).toEqual([pages[0].results[49].datetime]);
	expect(second.query.page).toBeUndefined();
	expect(fake.requests.every((r) => r.query.status === undefined && r.query.item === undefined)).toBe(true);
});

test('order(): canceled positions are included by default (pretix omits them otherwise)', async () => {
	const c = client();
	expect((await c.order('exampleorg', 'summit26', 'D9HLM')).positions.map((p) => [p.id, p.canceled])).toEqual([
		[5004, false],
		[5005, true],
	]);
	expect(fake.requests[0].query.include_canceled_positions).toEqual(['true']);
	expect((await c.order('exampleorg', 'summit26', 'D9HLM', false)).positions).toHaveLength(1);
});

describe('orderPages loses nothing to concurrent changes (the paging race of issue 11, case 5)', () => {
	const codesOf = async (c: PretixClient, params: Parameters<PretixClient['orderPages']>[2] = {}) => {
		const codes: string[] = [];
		for await (const page of c.orderPages('exampleorg', 'summit26', params)) codes.push(...page.results.map((o) => o.code));
		return codes;
	};

	test('the old way — status=p on the wire, following next links — skips an order; paging by key does not', async () => {
		fake.generateOrders({ count: 120, seed: 9 });
		const paidBefore = fake.ordersOf().filter((o) => o.status === 'p').map((o) => String(o.code));
		// Old: the generic pager with a status filter. An order on page 1 is canceled after page 1.
		fake.betweenPages((served) => void fake.cancelOrder(served.results[10].code));
		const old: string[] = [];
		for await (const page of client().pages<{ code: string }>('/organizers/exampleorg/events/summit26/orders/', { status: 'p', page_size: 50 }, { action: 'list orders' })) old.push(...page.results.map((o) => o.code));
		const lostByOld = paidBefore.filter((code) => !old.includes(code));
		expect(lostByOld).toHaveLength(1);
		// New: the same kind of change during the listing (another order on page 1 is canceled).
		fake.betweenPages((served) => void fake.cancelOrder(served.results[20].code));
		const now = await codesOf(client());
		expect(now).toHaveLength(135);
		expect(paidBefore.filter((code) => !now.includes(code))).toEqual([]);
	});

	test('an order leaving the subevent filter between pages moves nothing after it', async () => {
		fake.generateOrders({ count: 150, seed: 12, event: 'meetups26', subevents: [41] });
		const before: string[] = [];
		for await (const page of client().orderPages('exampleorg', 'meetups26', { subevent: 41 })) before.push(...page.results.map((o) => o.code));
		expect(before).toHaveLength(150);
		// Following next links, the same move skips one order of the date.
		let movedByOld = '';
		fake.betweenPages((served) => {
			movedByOld = served.results[3].code;
			fake.setSubEvent(movedByOld, served.results[3].positions[0].id, 42, 'exampleorg', 'meetups26');
		});
		const old: string[] = [];
		for await (const page of client().pages<{ code: string }>('/organizers/exampleorg/events/meetups26/orders/', { subevent: 41, page_size: 50 }, { action: 'list orders' })) old.push(...page.results.map((o) => o.code));
		const lostByOld = before.filter((code) => !old.includes(code));
		expect(lostByOld).toHaveLength(1);
		expect(lostByOld).not.toContain(movedByOld);
		let moved = '';
		fake.betweenPages((served) => {
			moved = served.results[5].code;
			fake.setSubEvent(moved, served.results[5].positions[0].id, 42, 'exampleorg', 'meetups26');
		});
		const after: string[] = [];
		for await (const page of client().orderPages('exampleorg', 'meetups26', { subevent: 41 })) after.push(...page.results.map((o) => o.code));
		// Only the order moved away before this listing started is missing; the one moved during it was
		// already served on page 1, and nothing after it shifted.
		expect(before.filter((code) => !after.includes(code))).toEqual([movedByOld]);
		expect(after).toContain(moved);
		expect(fake.requests.some((r) => r.query.subevent?.[0] === '41')).toBe(true);
		expect(moved).not.toBe('');
	});

	test('an order changed after it was served comes again with its newer last_modified; unchanged repeats do not', async () => {
		fake.generateOrders({ count: 60, seed: 3 });
		fake.betweenPages((served) => void fake.setAnswer(served.results[49].code, served.results[49].positions[0].id, '@changed:example.org'));
		const seen: Array<[string, string]> = [];
		for await (const page of client().orderPages('exampleorg', 'summit26')) seen.push(...page.results.map((o) => [o.code, String(o.last_modified)] as [string, string]));
		const codes = seen.map(([code]) => code);
		expect(new Set(codes).size).toBe(75);
		expect(codes).toHaveLength(76);
		const twice = codes.find((code, i) => codes.indexOf(code) !== i)!;
		const versions = seen.filter(([code]) => code === twice).map(([, lm]) => lm);
		expect(versions[1] > versions[0]).toBe(true);
	});

	test('more than a page of orders in one microsecond: the key cannot move, so next links are followed within it', async () => {
		const at = '2026-05-20T10:00:00.000001Z';
		for (let i = 0; i < 70; i++) fake.copyOrder({ datetime: at });
		const codes = await codesOf(client());
		expect(codes).toHaveLength(85);
		expect(new Set(codes).size).toBe(85);
		expect(fake.requests.some((r) => r.query.page?.[0] === '2' && r.query.created_since !== undefined)).toBe(true);
	});

	test('a server that ignores created_since (old pretix): falls back to next links, still every order once', async () => {
		const all = Array.from({ length: 120 }, (_, i) => ({ code: `C${String(i).padStart(4, '0')}`, status: 'p', testmode: false, datetime: `2026-05-01T08:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`, last_modified: '2026-05-02T00:00:00Z', positions: [] }));
		const seenUrls: string[] = [];
		const transport: HttpTransport = async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
			const url = new URL(request.url);
			for (const [key, value] of Object.entries(request.qs ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
			seenUrls.push(url.search);
			const page = Number(url.searchParams.get('page') ?? '1');
			const next = page * 50 < all.length ? new URL(url) : null;
			next?.searchParams.set('page', String(page + 1));
			return { status: 200, headers: {}, body: { count: all.length, next: next?.toString() ?? null, previous: null, results: all.slice((page - 1) * 50, page * 50) } as T };
		};
		const c = new PretixClient({ transport, instanceUrl: 'https://pretix.example.org' });
		const codes: string[] = [];
		for await (const page of c.orderPages('exampleorg', 'summit26')) codes.push(...page.results.map((o) => o.code));
		expect(codes).toEqual(all.map((o) => o.code));
		expect(seenUrls.length).toBeLessThanOrEqual(5);
	});

	test('a bad sub-event id is refused before any request', async () => {
		expect(() => client().orderPages('exampleorg', 'meetups26', { subevent: -3 })).toThrow(/sub-event/);
		expect(fake.requestCount()).toBe(0);
	});
});

test('sub-events of a series: list ordered by date, one date, unknown date → not_found', async () => {
	const c = client();
	expect((await c.subEvents('exampleorg', 'meetups26')).map((s) => [s.id, s.date_to])).toEqual([
		[41, '2026-01-15T20:00:00Z'],
		[42, '2026-03-19T20:00:00Z'],
		[43, null],
	]);
	expect(await c.subEvents('exampleorg', 'summit26')).toEqual([]);
	expect((await c.subEvent('exampleorg', 'meetups26', 42)).date_from).toBe('2026-03-19T17:00:00Z');
	expect((await errorOf(c.subEvent('exampleorg', 'meetups26', 99))).kind).toBe('not_found');
	await expect(c.subEvent('exampleorg', 'meetups26', 0)).rejects.toThrow(/sub-event/);
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
