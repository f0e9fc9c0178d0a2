import { FAKE_TEAM_TOKEN, startFakePretix, type FakePretix, type StartedFakePretix } from '../../fakes/pretix';
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { fetchAttendees, fetchOrderAttendees, modifiedSince, nextCursor, seenUnchanged, isValidCursor, PretixClient, MAX_RECENT } from '../../../lib/pretix';

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
		expect(modifiedSince({ generated: '2026-06-10T08:00:00.512377Z', recent: {} }, 5 * 60_000)).toBe('2026-06-10T07:55:00.512Z');
		expect(modifiedSince(undefined)).toBeUndefined();
		expect(modifiedSince({ generated: 'garbage', recent: {} })).toBeUndefined();
	});

	test('next cursor keeps only orders inside the margin window, bounded', () => {
		const c = nextCursor('2026-06-10T08:00:00Z', new Date(), [
			{ code: 'OLD', last_modified: '2026-06-01T00:00:00Z' },
			{ code: 'NEW', last_modified: '2026-06-10T07:59:00Z' },
		]);
		expect(c).toEqual({ generated: '2026-06-10T08:00:00Z', recent: { NEW: '2026-06-10T07:59:00Z' } });
		expect(seenUnchanged(c, 'NEW', '2026-06-10T07:59:00Z')).toBe(true);
		expect(seenUnchanged(c, 'NEW', '2026-06-10T08:01:00Z')).toBe(false);
		const many = Array.from({ length: MAX_RECENT + 50 }, (_, i) => ({ code: `C${i}`, last_modified: '2026-06-10T07:59:00Z' }));
		expect(Object.keys(nextCursor('2026-06-10T08:00:00Z', new Date(), many).recent)).toHaveLength(MAX_RECENT);
	});

	test('missing X-Page-Generated falls back to the run start', () => {
		const start = new Date('2026-06-10T08:00:00Z');
		expect(nextCursor(undefined, start, []).generated).toBe('2026-06-10T08:00:00.000Z');
		expect(isValidCursor({ generated: 'x', recent: {} })).toBe(false);
		expect(isValidCursor({ generated: '2026-06-10T08:00:00Z', recent: {} })).toBe(true);
	});
});

describe('fetchAttendees', () => {
	test('full fetch: the 14 active paid attendees, testmode=false and status=p sent to pretix', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26' });
		expect(r.attendees).toHaveLength(14);
		expect(r.cursor).toBeUndefined();
		expect(fake.requests[0].query).toMatchObject({ testmode: ['false'], status: ['p'], page_size: ['50'] });
	});

	test('several statuses are filtered locally', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26', statuses: ['p', 'n'] });
		expect(r.attendees.map((a) => a.orderCode)).toContain('B7NQX');
		expect(fake.requests[0].query.status).toBeUndefined();
	});

	test('incremental: first run full + cursor, re-run with nothing new = 1 request and 0 attendees, a change shows up once', async () => {
		const c = client();
		const first = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: {} });
		expect(first.attendees).toHaveLength(14);
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
		// inside the safety margin the same order comes back from pretix but is not emitted twice
		const third = await fetchAttendees(c, { organizer: 'exampleorg', event: 'summit26', incremental: { cursor: changed.cursor } });
		expect(third.orders).toBe(1);
		expect(third.unchanged).toBe(1);
		expect(third.attendees).toEqual([]);
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
		const expected = gen.attendees.filter((a) => a.active).length + 14;
		expect(r.attendees).toHaveLength(expected);
		expect(r.attendees.filter((a) => a.matrixId === null).length).toBe(gen.attendees.filter((a) => a.active && a.kind === 'missing').length + 1);
	}, 30000);

	test('limit stops early and does not advance the cursor', async () => {
		const r = await fetchAttendees(client(), { organizer: 'exampleorg', event: 'summit26', limit: 3, incremental: {} });
		expect(r.attendees).toHaveLength(3);
		expect(r.cursor).toBeUndefined();
	});

	test('one order', async () => {
		const r = await fetchOrderAttendees(client(), 'exampleorg', 'summit26', 'E3PZV');
		expect(r.attendees.map((a) => a.positionId)).toEqual([5006, 5007, 5008]);
		const canceled = await fetchOrderAttendees(client(), 'exampleorg', 'summit26', 'C8RTW');
		expect(canceled).toEqual({ attendees: [], orderStatus: 'c', testmode: false });
	});
});
