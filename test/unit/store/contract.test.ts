/**
 * The ledger contract, run unchanged against every backend (embedded sqlite file, PostgreSQL,
 * Redis — real servers). Time is a fake clock handed to the Ledger, so leases and retention are
 * tested without sleeping.
 */
import {
	Ledger,
	LedgerBackendError,
	LedgerInputError,
	type LedgerBackend,
} from '../../../lib/store';
import { STORES, type TestStore } from './backends';

const SECRET = 'kWAhOGt3UwaTGGebs7ai4Zzg-5NWw9Wu';
const DAY = 24 * 3600 * 1000;

describe.each(STORES)('ledger contract: %s', (_kind, makeStore) => {
	let store: TestStore;
	let backend: LedgerBackend;
	let clock: number;
	let ledger: Ledger;
	let opened: LedgerBackend[] = [];
	const open = async (retentionDays = 0) => {
		const b = store.create();
		opened.push(b);
		await b.init();
		return new Ledger(b, { secret: SECRET, retentionDays, now: () => clock });
	};

	beforeEach(async () => {
		store = makeStore();
		// Real time: Redis applies its own clock to the retention backstop (PEXPIREAT).
		clock = Math.floor(Date.now() / 1000) * 1000;
		ledger = await open();
		backend = ledger.backend;
	});
	afterEach(async () => {
		for (const b of opened) await b.close();
		opened = [];
		await store.cleanup();
	});

	const entry = (subject: string, extra: Record<string, unknown> = {}) => ({
		event: 'summit26',
		scope: '!room:example.org',
		subject,
		...extra,
	});

	describe('claim', () => {
		test('first claim wins every key, a second claim sees them leased', async () => {
			const first = await ledger.claim([entry('5001'), entry('5002'), entry('5003')]);
			expect(first.map((r) => [r.status, r.claimed, r.attempts])).toEqual([
				['new', true, 1],
				['new', true, 1],
				['new', true, 1],
			]);
			const second = await ledger.claim([entry('5002'), entry('5004')]);
			expect(second.map((r) => r.status)).toEqual(['leased', 'new']);
			expect(second[0].claimed).toBe(false);
		});

		test('the same key twice in one call: the first wins, the second is a duplicate', async () => {
			const results = await ledger.claim([entry('b'), entry('a'), entry('b')]);
			expect(results.map((r) => r.status)).toEqual(['new', 'new', 'duplicate']);
			expect(results[2].claimed).toBe(false);
		});

		test('keys differ by event and by scope', async () => {
			await ledger.claim([entry('x')]);
			const results = await ledger.claim([
				entry('x', { scope: '!other:example.org' }),
				entry('x', { event: 'meetups26' }),
				entry('x', { scope: '' }),
			]);
			expect(results.map((r) => r.status)).toEqual(['new', 'new', 'new']);
		});

		test('an expired lease is reclaimed by the next run; an unexpired one is not', async () => {
			await ledger.claim([entry('p1')], { leaseSeconds: 60 });
			clock += 59_000;
			expect((await ledger.claim([entry('p1')]))[0].status).toBe('leased');
			clock += 2_000;
			const again = await ledger.claim([entry('p1')]);
			expect(again[0]).toMatchObject({ status: 'reclaimed', claimed: true, attempts: 2 });
			expect((await ledger.claim([entry('p1')]))[0].status).toBe('leased');
		});

		test('completed keys are seen with their outcome, even after the lease time', async () => {
			await ledger.claim([entry('p1'), entry('p2')]);
			expect(await ledger.complete([entry('p1')], 'invited')).toBe(1);
			expect(await ledger.complete([entry('p2')], 'invalid', 'badLocalpart')).toBe(1);
			clock += 30 * DAY;
			const results = await ledger.claim([entry('p1'), entry('p2')]);
			expect(results).toEqual([
				{ status: 'done', claimed: false, attempts: 1, outcome: 'invited', reason: null },
				{ status: 'done', claimed: false, attempts: 1, outcome: 'invalid', reason: 'badLocalpart' },
			]);
		});

		test('release gives a key back at once', async () => {
			await ledger.claim([entry('p1'), entry('p2')]);
			expect(await ledger.release([entry('p1'), entry('never-claimed')])).toBe(1);
			expect((await ledger.claim([entry('p1'), entry('p2')])).map((r) => r.status)).toEqual([
				'reclaimed',
				'leased',
			]);
		});

		test('a retryable failure is claimed again; a final one is seen as failed', async () => {
			await ledger.claim([entry('p1'), entry('p2')]);
			await ledger.fail([entry('p1')], 'M_LIMIT_EXCEEDED', { retryable: true });
			await ledger.fail([entry('p2')], 'M_FORBIDDEN');
			const results = await ledger.claim([entry('p1'), entry('p2')]);
			expect(results[0]).toMatchObject({ status: 'reclaimed', claimed: true, attempts: 2 });
			expect(results[1]).toMatchObject({
				status: 'done',
				outcome: 'failed',
				reason: 'M_FORBIDDEN',
			});
		});

		test('complete without a prior claim records the outcome', async () => {
			expect(await ledger.complete([entry('p9')], 'invited')).toBe(1);
			expect((await ledger.claim([entry('p9')]))[0]).toMatchObject({
				status: 'done',
				outcome: 'invited',
			});
		});

		test('accepted is not downgraded by a later invited', async () => {
			await ledger.complete([entry('p1')], 'accepted');
			await ledger.complete([entry('p1')], 'invited');
			expect((await ledger.claim([entry('p1')]))[0].outcome).toBe('accepted');
		});

		test('subjects may be numbers (pretix position ids)', async () => {
			expect((await ledger.claim([entry(5001 as unknown as string)]))[0].status).toBe('new');
			expect((await ledger.claim([entry('5001')]))[0].status).toBe('leased');
		});
	});

	describe('bad input: clear errors, nothing written', () => {
		test.each([
			[{ event: 'summit26', subject: '' }, /subject is missing/],
			[{ event: 'summit26' }, /subject is missing/],
			[{ event: 'summit26', subject: { id: 1 } }, /subject must be text or a number/],
			[{ event: '', subject: 'x' }, /event is missing/],
			[{ event: 7.5e400, subject: 'x' }, /event must be text/],
			[{ event: 'summit26', scope: ['r'], subject: 'x' }, /scope must be text/],
			[{ event: 'summit26', subject: 'x', matrixId: 12 }, /Matrix ID must be text/],
		])('%j', async (bad, message) => {
			const batch = [entry('ok-1'), bad as never, entry('ok-2')];
			const error = await ledger.claim(batch).catch((e) => e);
			expect(error).toBeInstanceOf(LedgerInputError);
			expect(error.message).toMatch(message);
			expect(error.index).toBe(1);
			// Nothing of the batch was written: the valid entries are still new.
			expect((await ledger.claim([entry('ok-1'), entry('ok-2')])).map((r) => r.status)).toEqual([
				'new',
				'new',
			]);
		});
		test('reasons are codes, not free text (which could carry personal data)', async () => {
			await expect(
				ledger.fail([entry('p1')], 'could not invite @alice:example.org'),
			).rejects.toThrow(LedgerInputError);
			await expect(ledger.complete([entry('p1')], 'maybe' as never)).rejects.toThrow(/outcome/);
		});
		test('a lease out of range is refused', async () => {
			await expect(ledger.claim([entry('p1')], { leaseSeconds: 0 })).rejects.toThrow(/lease/);
		});
	});

	describe('room mappings', () => {
		test('set, list by event and by room, unset', async () => {
			expect(
				(await ledger.setMapping({ event: 'summit26', room: '!main:example.org' })).created,
			).toBe(true);
			expect(
				(await ledger.setMapping({ event: 'summit26', room: '!main:example.org' })).created,
			).toBe(false);
			await ledger.setMapping({ event: 'summit26', room: '!workshop:example.org', item: 203 });
			await ledger.setMapping({ event: 'meetups26', room: '!main:example.org' });
			expect(await ledger.listMappings({ event: 'summit26' })).toEqual([
				{ event: 'summit26', room: '!main:example.org', item: null, variation: null },
				{ event: 'summit26', room: '!workshop:example.org', item: '203', variation: null },
			]);
			expect(
				(await ledger.listMappings({ room: '!main:example.org' })).map((m) => m.event),
			).toEqual(['meetups26', 'summit26']);
			expect(await ledger.listMappings()).toHaveLength(3);
			expect(await ledger.unsetMappings({ room: '!main:example.org', event: 'summit26' })).toBe(1);
			expect(await ledger.unsetMappings({ room: '!main:example.org' })).toBe(1);
			expect(await ledger.listMappings()).toEqual([
				{ event: 'summit26', room: '!workshop:example.org', item: '203', variation: null },
			]);
			await expect(ledger.unsetMappings({})).rejects.toThrow(LedgerInputError);
		});

		test('resolve: unfiltered mappings match everyone, filtered ones only their item/variation, no fallback', async () => {
			await ledger.setMapping({ event: 'summit26', room: '!all:example.org' });
			await ledger.setMapping({ event: 'summit26', room: '!workshop:example.org', item: '203' });
			await ledger.setMapping({
				event: 'summit26',
				room: '!vip:example.org',
				item: '201',
				variation: '7',
			});
			await ledger.setMapping({ event: 'meetups26', room: '!community:example.org', item: '202' });
			expect(await ledger.resolveRooms({ event: 'summit26', item: 201 })).toEqual([
				'!all:example.org',
			]);
			expect(await ledger.resolveRooms({ event: 'summit26', item: '201', variation: 7 })).toEqual([
				'!all:example.org',
				'!vip:example.org',
			]);
			expect(await ledger.resolveRooms({ event: 'summit26', item: 203 })).toEqual([
				'!all:example.org',
				'!workshop:example.org',
			]);
			// Only filtered mappings and none matches: no rooms, never every room of the event.
			expect(await ledger.resolveRooms({ event: 'meetups26', item: 201 })).toEqual([]);
			expect(await ledger.resolveRooms({ event: 'meetups26' })).toEqual([]);
			expect(await ledger.resolveRooms({ event: 'unknown' })).toEqual([]);
			expect(await ledger.resolveRooms({ event: 'meetups26', item: 202 })).toEqual([
				'!community:example.org',
			]);
		});

		test('unset with an item filter removes only that mapping', async () => {
			await ledger.setMapping({ event: 'summit26', room: '!r:example.org' });
			await ledger.setMapping({ event: 'summit26', room: '!r:example.org', item: 203 });
			expect(
				await ledger.unsetMappings({ event: 'summit26', room: '!r:example.org', item: 203 }),
			).toBe(1);
			expect(await ledger.listMappings({ event: 'summit26' })).toEqual([
				{ event: 'summit26', room: '!r:example.org', item: null, variation: null },
			]);
		});
	});

	describe('cursors', () => {
		test('per event and name, overwritten by set', async () => {
			expect(await ledger.getCursor('summit26')).toBeNull();
			await ledger.setCursor('summit26', 'default', '2026-06-10T08:00:00.512377Z');
			await ledger.setCursor('summit26', 'default', '2026-06-10T09:00:00Z');
			await ledger.setCursor('summit26', 'checkins', '42');
			expect(await ledger.getCursor('summit26', 'default')).toBe('2026-06-10T09:00:00Z');
			expect(await ledger.getCursor('summit26', 'checkins')).toBe('42');
			expect(await ledger.getCursor('meetups26', 'default')).toBeNull();
			await expect(ledger.setCursor('summit26', 'default', 5)).rejects.toThrow(LedgerInputError);
		});
	});

	describe('stats, purge, forget, lookup', () => {
		const seed = async () => {
			const people = [
				entry('5001', { matrixId: '@alice:example.org', orderCode: 'ABC3K' }),
				entry('5002', { matrixId: '@bob:matrix.example.net', orderCode: 'B7NQX' }),
				entry('5003', { matrixId: '@judy', orderCode: 'G8WXY' }),
				entry('5004', { matrixId: '@dave:example.org', orderCode: 'D9HLM' }),
				entry('5005', { matrixId: '@erin:example.org', orderCode: 'D9HLM' }),
				entry('5006', { matrixId: '@frank:example.org', orderCode: 'E3PZV' }),
			];
			await ledger.claim(people);
			await ledger.complete([people[0], people[1]], 'invited');
			await ledger.complete([people[3]], 'accepted');
			await ledger.complete([people[2]], 'invalid', 'missingServer');
			await ledger.fail([people[4]], 'M_FORBIDDEN');
			await ledger.claim([
				entry('9001', { event: 'meetups26', matrixId: '@alice:example.org', orderCode: 'Z1AAA' }),
			]);
			return people;
		};

		test('stats count rows per event', async () => {
			await seed();
			expect(await ledger.stats('summit26')).toEqual({
				event: 'summit26',
				seen: 6,
				pending: 1,
				invited: 3,
				accepted: 1,
				invalid: 1,
				failed: 1,
				withdrawn: 0,
				held: 6,
			});
			expect(await ledger.stats('meetups26')).toMatchObject({ seen: 1, pending: 1, held: 1 });
			expect(await ledger.stats('nothing')).toEqual({
				event: 'nothing',
				seen: 0,
				pending: 0,
				invited: 0,
				accepted: 0,
				invalid: 0,
				failed: 0,
				withdrawn: 0,
				held: 0,
			});
		});

		test('purge deletes the event (ledger, cursors, mappings if asked) and keeps only counts', async () => {
			await seed();
			await ledger.setCursor('summit26', 'default', 'x');
			await ledger.setMapping({ event: 'summit26', room: '!r:example.org' });
			expect(await ledger.purgeEvent('summit26')).toEqual({ ledger: 6, cursors: 1, mappings: 0 });
			expect(await ledger.listMappings({ event: 'summit26' })).toHaveLength(1);
			expect(await ledger.getCursor('summit26')).toBeNull();
			expect(await ledger.stats('summit26')).toEqual({
				event: 'summit26',
				seen: 6,
				pending: 0,
				invited: 3,
				accepted: 1,
				invalid: 1,
				failed: 1,
				withdrawn: 0,
				held: 0,
			});
			expect(await ledger.lookup({ matrixId: '@alice:example.org' })).toEqual([
				expect.objectContaining({ event: 'meetups26' }),
			]);
			expect(await ledger.purgeEvent('summit26', { mappings: true })).toEqual({
				ledger: 0,
				cursors: 0,
				mappings: 1,
			});
			// After a purge the event starts over.
			expect((await ledger.claim([entry('5001')]))[0].status).toBe('new');
			expect(await ledger.stats('meetups26')).toMatchObject({ seen: 1, held: 1 });
		});

		test('lookup by Matrix ID (any spelling) or order code tells what is held, without hashes', async () => {
			await seed();
			const held = await ledger.lookup({ matrixId: ' @Alice:Example.org ' });
			expect(held.map((row) => [row.event, row.outcome, row.matchedBy])).toEqual([
				['meetups26', null, ['matrixId']],
				['summit26', 'invited', ['matrixId']],
			]);
			expect(held[1]).toEqual({
				event: 'summit26',
				scope: '!room:example.org',
				state: 'done',
				outcome: 'invited',
				reason: null,
				attempts: 1,
				createdAt: clock,
				updatedAt: clock,
				expiresAt: null,
				matchedBy: ['matrixId'],
			});
			expect(
				(await ledger.lookup({ orderCode: 'd9hlm' })).map((row) => row.outcome).sort(),
			).toEqual(['accepted', 'failed']);
			expect(await ledger.lookup({ matrixId: '@nobody:example.org' })).toEqual([]);
			await expect(ledger.lookup({})).rejects.toThrow(LedgerInputError);
		});

		test('forget erases one person everywhere, keeps others and the counts', async () => {
			await seed();
			expect(await ledger.forget({ matrixId: '@alice:example.org' })).toBe(2);
			expect(await ledger.lookup({ matrixId: '@alice:example.org' })).toEqual([]);
			expect(await ledger.lookup({ orderCode: 'ABC3K' })).toEqual([]);
			expect(await ledger.forget({ orderCode: 'D9HLM' })).toBe(2);
			expect(await ledger.lookup({ matrixId: '@bob:matrix.example.net' })).toHaveLength(1);
			expect(await ledger.stats('summit26')).toMatchObject({
				seen: 6,
				invited: 3,
				accepted: 1,
				failed: 1,
				held: 3,
			});
			expect(await ledger.forget({ matrixId: '@alice:example.org' })).toBe(0);
		});

		test('lookup and forget scoped to some events touch nothing of the others (a moderator\'s scope)', async () => {
			await seed();
			expect((await ledger.lookup({ matrixId: '@alice:example.org' }, { events: ['meetups26'] })).map((r) => r.event)).toEqual(['meetups26']);
			expect(await ledger.lookup({ matrixId: '@alice:example.org' }, { events: [] })).toEqual([]);
			expect(await ledger.forget({ matrixId: '@alice:example.org' }, { events: ['meetups26'] })).toBe(1);
			// Her summit26 row and everyone else are still held.
			expect((await ledger.lookup({ matrixId: '@alice:example.org' })).map((r) => r.event)).toEqual(['summit26']);
			expect(await ledger.stats('summit26')).toMatchObject({ held: 6 });
			await expect(ledger.forget({ matrixId: '@alice:example.org' }, { events: 'summit26' as unknown as unknown[] })).rejects.toThrow(LedgerInputError);
		});

		test('dates of a series: mappings of one date apply to its tickets only; the event purge removes them too', async () => {
			await ledger.setMapping({ event: 'org/series', room: '!all-dates:example.org' });
			await ledger.setMapping({ event: 'org/series/11', room: '!june:example.org' });
			await ledger.setMapping({ event: 'org/other/11', room: '!other:example.org' });
			expect(await ledger.resolveRooms({ event: 'org/series', subevent: 11 })).toEqual(['!all-dates:example.org', '!june:example.org']);
			expect(await ledger.resolveRooms({ event: 'org/series', subevent: 12 })).toEqual(['!all-dates:example.org']);
			expect(await ledger.resolveRooms({ event: 'org/series' })).toEqual(['!all-dates:example.org']);
			expect(await ledger.purgeEvent('org/series', { mappings: true })).toMatchObject({ mappings: 2 });
			expect(await ledger.listMappings()).toEqual([{ event: 'org/other/11', room: '!other:example.org', item: null, variation: null }]);
		});

		test('add-ons: an unfiltered mapping leaves them out, a mapping of their item takes them', async () => {
			await ledger.setMapping({ event: 'summit26', room: '!all:example.org' });
			await ledger.setMapping({ event: 'summit26', room: '!workshop:example.org', item: '203' });
			expect(await ledger.resolveRooms({ event: 'summit26', item: 203, addonTo: 5006 })).toEqual(['!workshop:example.org']);
			expect(await ledger.resolveRooms({ event: 'summit26', item: 201 })).toEqual(['!all:example.org']);
		});

		test('forget finds a person whose Matrix ID was the subject itself', async () => {
			await ledger.claim([entry('@carol:example.org')]);
			expect(await ledger.forget({ matrixId: '@Carol:example.org' })).toBe(1);
			expect((await ledger.claim([entry('@carol:example.org')]))[0].status).toBe('new');
		});

		test('nothing personal is stored in plaintext', async () => {
			await seed();
			await ledger.claim([entry('@carol:example.org')]);
			const raw = await store.dump();
			expect(raw.length).toBeGreaterThan(100);
			for (const secret of [
				'alice',
				'bob',
				'judy',
				'carol',
				'ABC3K',
				'B7NQX',
				'D9HLM',
				'5001',
				'5002',
				SECRET,
			]) {
				expect(raw).not.toContain(secret);
			}
			expect(raw).toContain('summit26');
		});

		test('a different secret cannot recognise anyone', async () => {
			await seed();
			const other = new Ledger(backend, { secret: 'TUFyFdNK-vmOe8mf-BiIQrR7yf9o3fce', now: () => clock });
			expect(await other.lookup({ matrixId: '@alice:example.org' })).toEqual([]);
			expect((await other.claim([entry('5001')]))[0].status).toBe('new');
		});
	});

	describe('retention', () => {
		test('rows expire after N days: swept into the summary, then claimable as new', async () => {
			const retained = await open(2);
			await retained.claim([entry('p1', { matrixId: '@alice:example.org' }), entry('p2')]);
			await retained.complete([entry('p1')], 'invited');
			clock += DAY;
			expect(await retained.stats('summit26')).toMatchObject({ seen: 2, held: 2 });
			clock += DAY + 1;
			// Expired rows are invisible at once, before any sweep.
			expect(await retained.lookup({ matrixId: '@alice:example.org' })).toEqual([]);
			expect(await retained.sweepExpired()).toBe(2);
			expect(await retained.stats('summit26')).toMatchObject({ seen: 2, invited: 1, held: 0 });
			expect((await retained.claim([entry('p1')]))[0]).toMatchObject({
				status: 'new',
				attempts: 1,
			});
		});

		test('an expired row is claimable even before the sweep', async () => {
			const retained = await open(1);
			await retained.complete([entry('p1')], 'invited');
			clock += DAY + 1;
			// The claim itself sweeps first when retention is on; either way the key is new again.
			expect((await retained.claim([entry('p1')]))[0]).toMatchObject({
				status: 'new',
				claimed: true,
			});
		});
	});

	describe('backend failures', () => {
		test('a closed backend gives a clear error and loses nothing', async () => {
			await ledger.claim([entry('p1')]);
			await backend.close();
			const error = await ledger.claim([entry('p2')]).catch((e) => e);
			expect(error).toBeInstanceOf(LedgerBackendError);
			expect(error.code).toBe('CLOSED');
			expect(error.message).toMatch(/closed/);
			const reopened = await open();
			backend = reopened.backend;
			expect((await reopened.claim([entry('p1'), entry('p2')])).map((r) => r.status)).toEqual([
				'leased',
				'new',
			]);
		});

		test('ping answers', async () => {
			await expect(ledger.ping()).resolves.toBeUndefined();
		});
	});
});
