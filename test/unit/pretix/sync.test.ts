import { FAKE_TEAM_TOKEN, startFakePretix, type FakePretix, type StartedFakePretix } from '../../fakes/pretix';
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { fetchAttendees, fetchOrderAttendees, modifiedSince, nextCursor, isValidCursor, PretixClient } from '../../../lib/pretix';

let fake: StartedFakePretix & FakePretix;
beforeEach(async () => {
	fake = await startFakePretix();
});
afterEach(async () => {
	await fake.stop();
});
const client = () => new PretixClient({ transport: fetchTransport(() => `Token ${FAKE_TEAM_TOKEN}`), instanceUrl: fake.url, sleep: async () => {} });

describe('cursor', () => {
	test('modified_since = generated minus the margin', () => {
		expect(modifiedSince({ generated: '2026-06-10T08:00:00.512377Z' }, 5 * 60_000)).toBe('2026-06-10T07:55:00.512Z');
		expect(modifiedSince(undefined)).toBeUndefined();
		expect(modifiedSince({ generated: 'garbage' })).toBeUndefined();
	});

	test('the cursor is a timestamp only: no order code is kept in node static data', () => {
		const c = nextCursor('2026-06-10T08:00:00.512377Z', new Date());
		expect(c).toEqual({ generated: '2026-06-10T08:00:00.512377Z' });
	});

	test('missing X-Page-Generated falls back to the run start', () => {
		const start = new Date('2026-06-10T08:00:00Z');
		expect(nextCursor(undefined, start).generated).toBe('2026-06-10T08:00:00.000Z');
		expect(isValidCursor({ generated: 'x' })).toBe(false);
		expect(isValidCursor({ generated: '2026-06-10T08:00:00Z' })).toBe(true);
		// A cursor of an earlier version (with a map of order codes) is still read for its timestamp.
		expect(isValidCursor({ generated: '2026-06-10T08:00:00Z', recent: { ABC3K: 'x' } })).toBe(true);
	});
});

describe('fetchAttendees', () => {
	test('full fetch: the 15 tickets with access (14 paid + the workshop add-on); no status or item filter on the wire, canceled positions asked for', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26' });
		expect(r.attendees).toHaveLength(15);
		expect(r.orders).toBe(15);
		expect(r.cursor).toBeUndefined();
		expect(fake.requests[0].query).toEqual({ testmode: ['false'], include_canceled_positions: ['true'], ordering: ['datetime'], page_size: ['50'] });
	});

	test('statuses and items are filtered locally, never by pretix', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26', statuses: ['p', 'n'], itemIds: [203] });
		expect(r.attendees.map((a) => a.positionId)).toEqual([5009]);
		const pending = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26', statuses: ['p', 'n'] });
		expect(pending.attendees.map((a) => a.orderCode)).toContain('B7NQX');
		expect(fake.requests.every((q) => q.query.status === undefined && q.query.item === undefined)).toBe(true);
	});

	test('subevent: sent to pretix as subevent=, only that date of the series', async () => {
		const gen = fake.generateOrders({ count: 40, seed: 4, event: 'meetups26', subevents: [41, 42] });
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'meetups26', subevent: 42 });
		const expected = gen.attendees.filter((a) => a.active && a.subevent === 42).map((a) => a.positionId);
		expect(expected.length).toBeGreaterThan(5);
		expect(r.attendees.map((a) => a.positionId)).toEqual(expected);
		expect(r.attendees.every((a) => a.subeventId === 42)).toBe(true);
		expect(fake.requests.map((q) => q.query.subevent)).toEqual([['42']]);
	});

	test('incremental: first run full + cursor, re-run with nothing new = 1 request and 0 attendees, a change shows up once', async () => {
		const c = client();
		const first = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: {} });
		expect(first.attendees).toHaveLength(15);
		// microseconds: it is pretix's X-Page-Generated, not the local clock
		expect(first.cursor!.generated).toMatch(/\.\d{6}Z$/);
		fake.resetRequests();
		const again = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: first.cursor } });
		expect(fake.requestCount()).toBe(1);
		expect(again.attendees).toEqual([]);
		expect(fake.requests[0].query.modified_since).toHaveLength(1);
		fake.setAnswer('M8BCX', 5016, '@olivia:example.org');
		const changed = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: again.cursor } });
		expect(changed.attendees.map((a) => [a.orderCode, a.matrixId])).toEqual([['M8BCX', '@olivia:example.org']]);
		// Inside the safety margin the same order comes back from pretix and is emitted again (the
		// ledger plans each ticket once); past the margin it is not.
		const third = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: changed.cursor } });
		expect(third.orders).toBe(1);
		expect(third.attendees.map((a) => a.orderCode)).toEqual(['M8BCX']);
		fake.clock.advance(10 * 60_000);
		const fourth = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: third.cursor } });
		const later = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: fourth.cursor } });
		expect(later.attendees).toEqual([]);
	});

	test('incremental with a zero margin uses X-Page-Generated exactly (inclusive)', async () => {
		const c = client();
		const first = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { marginMs: 0 } });
		const generated = first.cursor!.generated;
		expect(generated).toMatch(/^\d{4}-.*\.\d{6}Z$/);
		fake.resetRequests();
		await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: first.cursor, marginMs: 0 } });
		expect(new Date(fake.requests[0].query.modified_since[0]).getTime()).toBe(Math.floor(Date.parse(generated)));
	});

	test('5,000 generated orders with a mix: counts match the generator', async () => {
		const gen = fake.generateOrders({ count: 5000, seed: 3, mix: { valid: 8, malformed: 1, missing: 1 }, statuses: { p: 9, n: 1 } });
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26' });
		const expected = gen.attendees.filter((a) => a.active).length + 15;
		expect(r.attendees).toHaveLength(expected);
		expect(r.attendees.filter((a) => a.matrixId === null).length).toBe(gen.attendees.filter((a) => a.active && a.kind === 'missing').length + 1);
		expect(r.attendees.every((a) => a.access === 'granted')).toBe(true);
	}, 30000);

	test('limit stops early and does not advance the cursor', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26', limit: 3, incremental: {} });
		expect(r.attendees).toHaveLength(3);
		expect(r.cursor).toBeUndefined();
	});

	test('one order, read with its canceled positions', async () => {
		const r = await fetchOrderAttendees(client(), 'exampleorg', 'summit26', 'E3PZV');
		expect(r.attendees.map((a) => a.positionId)).toEqual([5006, 5007, 5008, 5009]);
		const d9 = await fetchOrderAttendees(client(), 'exampleorg', 'summit26', 'D9HLM', { includeInactive: true });
		expect(d9.attendees.map((a) => [a.positionId, a.access])).toEqual([
			[5004, 'granted'],
			[5005, 'revoked'],
		]);
		expect(fake.requests.every((q) => q.query.include_canceled_positions?.[0] === 'true')).toBe(true);
		const canceled = await fetchOrderAttendees(client(), 'exampleorg', 'summit26', 'C8RTW');
		expect(canceled).toEqual({ attendees: [], orderStatus: 'c', testmode: false });
	});

	test('an order that changes after it was read comes again and replaces its earlier attendees (emitted once)', async () => {
		fake.generateOrders({ count: 60, seed: 3 });
		let changed = '';
		fake.betweenPages((served) => {
			// The last order of page 1 is the key of page 2, so pretix sends it again.
			changed = served.results[49].code;
			fake.setAnswer(changed, served.results[49].positions[0].id, '@changed:example.org');
		});
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26' });
		expect(r.orders).toBe(75);
		expect(r.attendees).toHaveLength(75);
		expect(r.attendees.filter((a) => a.orderCode === changed).map((a) => a.matrixId)).toEqual(['@changed:example.org']);
	});
});

describe('the paging race of issue 11 (case 5): nothing is skipped in list or incremental mode', () => {
	const ref = { organizer: 'exampleorg', event: 'summit26' };
	const ORDERS = '/organizers/exampleorg/events/summit26/orders/';

	test('list mode: an order canceled between two pages hides no other attendee', async () => {
		const gen = fake.generateOrders({ count: 120, seed: 9 });
		// The old request (status=p on the wire, next links) loses the order that slides onto page 1.
		fake.betweenPages((served) => void fake.cancelOrder(served.results[10].code));
		const old: string[] = [];
		for await (const page of client().pages<{ code: string }>(ORDERS, { testmode: 'false', status: 'p', page_size: 50 }, { action: 'list orders' })) old.push(...page.results.map((o) => o.code));
		const paidCodes = gen.orders.map((o) => String(o.code));
		expect(paidCodes.filter((code) => !old.includes(code) && fake.findOrder(code)!.status === 'p')).toHaveLength(1);
		// fetchAttendees with the same kind of change: every ticket that stayed paid is there.
		let canceled = '';
		fake.betweenPages((served) => {
			canceled = served.results[20].code;
			fake.cancelOrder(canceled);
		});
		const r = await fetchAttendees(client(), ref);
		const got = new Set(r.attendees.map((a) => a.positionId));
		const stillPaid = gen.attendees.filter((a) => fake.findOrder(a.code)!.status === 'p');
		expect(stillPaid.length).toBe(118);
		expect(stillPaid.filter((a) => !got.has(a.positionId))).toEqual([]);
		expect(r.orders).toBe(135);
		expect(canceled).not.toBe('');
	});

	/** 120 paid orders, an incremental cursor, then 80 of them change and the clock runs past the margin. */
	async function incrementalScenario(f: StartedFakePretix & FakePretix) {
		const gen = f.generateOrders({ count: 120, seed: 10 });
		const c = new PretixClient({ transport: fetchTransport(() => `Token ${FAKE_TEAM_TOKEN}`), instanceUrl: f.url, sleep: async () => {} });
		const first = await fetchAttendees(c, { ...ref, incremental: {} });
		f.clock.advance(60_000);
		const changed = gen.orders.slice(0, 80).map((o) => String(o.code));
		for (const code of changed) f.setAnswer(code, f.findOrder(code)!.positions[0].id, `@changed-${code.toLowerCase()}:example.org`);
		f.clock.advance(10 * 60_000);
		return { c, first, changed };
	}

	test('incremental mode, the old way: the skipped order is lost for good', async () => {
		const { first, changed } = await incrementalScenario(fake);
		const since = modifiedSince(first.cursor)!;
		fake.betweenPages((served) => void fake.cancelOrder(served.results[5].code));
		const seen: string[] = [];
		let generated: string | undefined;
		for await (const page of client().pages<{ code: string }>(ORDERS, { testmode: 'false', status: 'p', modified_since: since, page_size: 50 }, { action: 'list orders' })) {
			generated ??= page.generated;
			seen.push(...page.results.map((o) => o.code));
		}
		const lost = changed.filter((code) => !seen.includes(code) && fake.findOrder(code)!.status === 'p');
		expect(lost).toHaveLength(1);
		// Its last_modified is older than the next run's modified_since: it never comes back.
		const next = modifiedSince(nextCursor(generated, new Date()))!;
		expect(Date.parse(fake.findOrder(lost[0])!.last_modified) < Date.parse(next)).toBe(true);
	});

	test('incremental mode: an order canceled mid-fetch hides no other, and the next run reports it canceled', async () => {
		const { c, first, changed } = await incrementalScenario(fake);
		let canceled = '';
		fake.betweenPages(
			(served) => {
				canceled = served.results[5].code;
				fake.cancelOrder(canceled);
			},
			{ match: 'modified_since' },
		);
		const second = await fetchAttendees(c, { ...ref, incremental: { cursor: first.cursor }, includeInactive: true });
		const codes = new Set(second.attendees.map((a) => a.orderCode));
		expect(changed.filter((code) => !codes.has(code))).toEqual([]);
		expect(second.orders).toBe(80);
		expect(second.attendees.filter((a) => a.orderCode !== canceled).every((a) => a.matrixId === `@changed-${a.orderCode.toLowerCase()}:example.org`)).toBe(true);
		const third = await fetchAttendees(c, { ...ref, incremental: { cursor: second.cursor }, includeInactive: true });
		// Orders inside the margin come again; the canceled one is among them, revoked.
		expect(third.attendees.filter((a) => a.orderCode === canceled).map((a) => [a.orderStatus, a.access])).toEqual([['c', 'revoked']]);
	});
});
