/**
 * Room upgrades in the ledger (issue 18), on every backend. When a room is upgraded the spec's
 * m.room.tombstone state event names the replacement room (client-server API, "Room Upgrades"):
 * Ledger.moveRoom points the old room's mappings and ticket grants at it, so nobody already
 * invited is invited again and a canceled ticket still withdraws its holder — from the new room.
 * Every test also checks who was not touched: other rooms' mappings and grants.
 */
import {
	Ledger,
	LedgerInputError,
	planTickets,
	planUpgradeInvites,
	recordTicketOutcomes,
	type LedgerBackend,
	type TicketInput,
	type TicketStep,
} from '../../../lib/store';
import { STORES, type TestStore } from './backends';

const SECRET = 'move-room-test-secret-3f81c0d7a2e94b56';
const EVENT = 'exampleorg/summit26';
const OTHER_EVENT = 'exampleorg/meetups26';
const OLD = '!hall:example.org';
const NEW = '!hall-v2:example.org';
const ELSEWHERE = '!workshop:example.org';
const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const DAVE = '@dave:example.org';
const ERIN = '@erin:example.org';

function ticket(id: number, access: TicketInput['access'], userId: string, rooms: string[], event = EVENT): TicketInput {
	return { event, ticket: id, orderCode: `ORD${id}`, access, userId, answer: userId, rooms };
}

const actions = (steps: TicketStep[][]) => steps.flat().map((s) => `${s.action}:${s.reason}:${s.userId}@${s.room}`);

describe.each(STORES)('moveRoom on %s', (_kind, makeStore) => {
	let store: TestStore;
	let backend: LedgerBackend;
	let ledger: Ledger;

	beforeEach(async () => {
		store = makeStore();
		backend = store.create();
		await backend.init();
		ledger = new Ledger(backend, { secret: SECRET });
	});
	afterEach(async () => {
		await backend.close();
		await store.cleanup();
	});

	const plan = (inputs: TicketInput[]) => planTickets(ledger, inputs, { leaseSeconds: 900 });
	/** Plans and records every acting step as done (invited / withdrawn). */
	const run = async (inputs: TicketInput[]) => {
		const steps = await plan(inputs);
		const acting = steps.flat().filter((s) => s.action !== 'skip');
		await recordTicketOutcomes(ledger, acting.map((step) => ({ step, status: step.action === 'invite' ? 'invited' : 'withdrawn' })));
		return steps;
	};
	const mappings = async () => (await ledger.listMappings()).map((m) => `${m.event}|${m.item ?? '*'}>${m.room}`);

	test('the old room\'s mappings point at the new room, once; other rooms\' mappings stay', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		await ledger.setMapping({ event: EVENT, room: OLD, item: '42' });
		await ledger.setMapping({ event: OTHER_EVENT, room: OLD });
		// Already mapped to the new room (an organizer was quicker): not duplicated.
		await ledger.setMapping({ event: EVENT, room: NEW });
		await ledger.setMapping({ event: EVENT, room: ELSEWHERE });

		const moved = await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		expect(moved).toEqual({ oldRoom: OLD, newRoom: NEW, mappings: 3, rows: 0 });
		expect((await mappings()).sort()).toEqual(
			[`${EVENT}|*>${NEW}`, `${EVENT}|*>${ELSEWHERE}`, `${EVENT}|42>${NEW}`, `${OTHER_EVENT}|*>${NEW}`].sort(),
		);
		expect(await ledger.listMappings({ room: OLD })).toEqual([]);
		expect(await ledger.resolveRooms({ event: EVENT })).toEqual(expect.arrayContaining([NEW, ELSEWHERE]));
	});

	test('grants of the old room are owed in the new one (nobody invited them there): a ticket run invites once; revocation withdraws them from the new room', async () => {
		await run([ticket(5001, 'granted', ALICE, [OLD, ELSEWHERE]), ticket(5002, 'granted', BOB, [OLD])]);
		const moved = await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		expect(moved.rows).toBe(2);

		// The moved row does not make the new room look "already invited": this run invites Alice there, the next one does not.
		const again = await plan([ticket(5001, 'granted', ALICE, [NEW, ELSEWHERE])]);
		expect(actions(again)).toEqual([`invite:roomUpgrade:${ALICE}@${NEW}`, `skip:already:invited:${ALICE}@${ELSEWHERE}`]);
		await recordTicketOutcomes(ledger, again.flat().filter((s) => s.action === 'invite').map((step) => ({ step, status: 'invited' })));
		expect(actions(await plan([ticket(5001, 'granted', ALICE, [NEW, ELSEWHERE])]))).toEqual([
			`skip:already:invited:${ALICE}@${NEW}`,
			`skip:already:invited:${ALICE}@${ELSEWHERE}`,
		]);
		// Bob's ticket canceled: the owed grant is found under the new room, the only place he can be kicked from.
		const revoked = await plan([ticket(5002, 'revoked', BOB, [])]);
		expect(actions(revoked)).toEqual([`withdraw:ticketRevoked:${BOB}@${NEW}`]);
		// Nothing left under the old room; Alice's grant in the other room untouched.
		expect(await backend.grants({ event: EVENT, scope: OLD }, Date.now())).toEqual([]);
		expect((await backend.grants({ event: EVENT, scope: ELSEWHERE }, Date.now())).map((g) => g.outcome)).toEqual(['invited']);
		// GDPR access and erasure (by Matrix ID) find the moved row under its new room.
		expect((await ledger.lookup({ matrixId: ALICE })).map((r) => r.scope).sort()).toEqual([ELSEWHERE, NEW].sort());
		expect(await ledger.forget({ matrixId: BOB })).toBe(1);
		expect((await ledger.lookup({ matrixId: ALICE })).length).toBe(2);
	});

	test('every row of the old room moves, whichever event it belongs to; other rooms\' rows stay', async () => {
		await run([ticket(5001, 'granted', ALICE, [OLD]), ticket(7001, 'granted', BOB, [OLD, ELSEWHERE], OTHER_EVENT)]);
		const before = await backend.grants({ event: OTHER_EVENT, scope: ELSEWHERE }, Date.now());
		expect((await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW })).rows).toBe(2);
		expect((await backend.grants({ event: EVENT, scope: NEW }, Date.now())).length).toBe(1);
		expect((await backend.grants({ event: OTHER_EVENT, scope: NEW }, Date.now())).length).toBe(1);
		expect(await backend.grants({ event: OTHER_EVENT, scope: ELSEWHERE }, Date.now())).toEqual(before);
		// The statistics still count each grant once.
		expect((await ledger.stats(EVENT)).invited).toBe(1);
		expect((await ledger.stats(OTHER_EVENT)).invited).toBe(2);
	});

	test('only live ticket grants become owed: withdrawn tickets, failed invites and rows without a ticket stay as they were; other rooms untouched', async () => {
		await run([ticket(5001, 'granted', ALICE, [OLD, ELSEWHERE]), ticket(5002, 'granted', BOB, [OLD])]);
		await run([ticket(5002, 'revoked', BOB, [])]);
		// A plain entry (no ticket) in the old room: not a grant the ledger can name.
		await ledger.claim([{ event: EVENT, scope: OLD, subject: 'entry-1', matrixId: '@carol:example.org' }]);
		await ledger.complete([{ event: EVENT, scope: OLD, subject: 'entry-1' }], 'invited');
		const elsewhere = await backend.grants({ event: EVENT, scope: ELSEWHERE }, Date.now());
		await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		const rows = (await backend.grants({ event: EVENT, scope: NEW }, Date.now())).map((r) => [r.ticket ? 'ticket' : 'entry', r.state, r.outcome, r.reason]);
		expect(rows.sort()).toEqual(
			[
				['ticket', 'retry', 'invited', 'roomUpgrade'],
				['ticket', 'retry', 'withdrawn', 'withdrawn'],
				['entry', 'done', 'invited', null],
			].sort(),
		);
		expect(await backend.grants({ event: EVENT, scope: ELSEWHERE }, Date.now())).toEqual(elsewhere);
		// Owed rows still count as invited in the statistics.
		expect((await ledger.stats(EVENT)).invited).toBe(3);
	});

	test('planUpgradeInvites: each person who had access is planned once; a second planner (tombstone seen twice, another worker) plans nobody', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		await ledger.setMapping({ event: OTHER_EVENT, room: OLD });
		// Alice: two tickets (two events) into the old room; Bob: one, canceled; Dave joined before his ticket (preexisting).
		await run([ticket(5001, 'granted', ALICE, [OLD]), ticket(7001, 'granted', ALICE, [OLD], OTHER_EVENT), ticket(5002, 'granted', BOB, [OLD])]);
		await run([ticket(5002, 'revoked', BOB, [])]);
		const dave = await plan([ticket(5003, 'granted', DAVE, [OLD])]);
		await recordTicketOutcomes(ledger, dave.flat().map((step) => ({ step, status: 'alreadyJoined' })));
		// Erin's ticket grants another room only.
		await run([ticket(5004, 'granted', ERIN, [ELSEWHERE])]);
		await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });

		const first = await planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 });
		expect(first.steps.map((s) => `${s.action}:${s.reason}:${s.userId}@${s.room}:${s.upgradeRows?.length}`).sort()).toEqual(
			[`invite:roomUpgrade:${ALICE}@${NEW}:2`, `invite:roomUpgrade:${DAVE}@${NEW}:1`].sort(),
		);
		expect(first.steps.some((s) => s.userId === BOB || s.userId === ERIN)).toBe(false);
		const second = await planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 });
		expect(second).toEqual({ steps: [], unnamed: 0, inProgress: 3 });
		// A ticket run meanwhile does not invite Alice a second time.
		expect(actions(await plan([ticket(5001, 'granted', ALICE, [NEW])]))).toEqual([`skip:inProgress:${ALICE}@${NEW}`]);

		const recorded = await recordTicketOutcomes(ledger, first.steps.map((step) => ({ step, status: step.userId === DAVE ? 'alreadyJoined' : 'invited' })));
		expect(recorded.map((r) => r.recorded)).toEqual(['invited', 'invited']);
		expect(await planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 })).toEqual({ steps: [], unnamed: 0, inProgress: 0 });
		expect(actions(await plan([ticket(5001, 'granted', ALICE, [NEW]), ticket(7001, 'granted', ALICE, [NEW], OTHER_EVENT)]))).toEqual([
			`skip:already:invited:${ALICE}@${NEW}`,
			`skip:already:invited:${ALICE}@${NEW}`,
		]);
		// Dave's membership still predates any ticket: his canceled ticket does not remove him from the new room.
		expect(actions(await plan([ticket(5003, 'revoked', DAVE, [])]))).toEqual([`skip:membershipNotGranted:${DAVE}@${NEW}`]);
		// Alice's ticket of one event canceled: her other ticket keeps her in the new room.
		expect(actions(await plan([ticket(5001, 'revoked', ALICE, [])]))).toEqual([`skip:coveredByOtherTicket:${ALICE}@${NEW}`]);
	});

	test('planUpgradeInvites: two planners at once (two workers) plan each person once between them', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		const people = Array.from({ length: 12 }, (_, i) => `@person${i}:example.org`);
		// Everyone has two tickets: a planner that won one of a person's rows but not the other would invite twice.
		await run(people.flatMap((userId, i) => [ticket(6000 + i, 'granted', userId, [OLD]), ticket(6100 + i, 'granted', userId, [OLD])]));
		await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		const other = new Ledger(store.create(), { secret: SECRET });
		await other.backend.init();
		try {
			const settled = await Promise.allSettled([planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 }), planUpgradeInvites(other, { room: NEW, leaseSeconds: 900 })]);
			// A planner may lose to the other one entirely (PostgreSQL may abort it as a deadlock victim): never half.
			const planned = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value.steps : []));
			expect(planned.map((s) => s.userId).sort()).toEqual([...people].sort());
			expect(planned.every((s) => s.upgradeRows?.length === 2)).toBe(true);
		} finally {
			await other.close();
		}
	});

	test('planUpgradeInvites: a ticket revoked before the re-invite is withdrawn, not invited; a retryable failure stays owed', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		await run([ticket(5001, 'granted', ALICE, [OLD]), ticket(5002, 'granted', BOB, [OLD])]);
		await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		const revoked = await plan([ticket(5002, 'revoked', BOB, [])]);
		expect(actions(revoked)).toEqual([`withdraw:ticketRevoked:${BOB}@${NEW}`]);
		await recordTicketOutcomes(ledger, revoked.flat().map((step) => ({ step, status: 'notInRoom' })));
		const planned = await planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 });
		expect(planned.steps.map((s) => s.userId)).toEqual([ALICE]);
		expect((await recordTicketOutcomes(ledger, [{ step: planned.steps[0], status: 'gaveUp' }]))[0].recorded).toBe('retry');
		const again = await planUpgradeInvites(ledger, { room: NEW, leaseSeconds: 900 });
		expect(again.steps.map((s) => s.userId)).toEqual([ALICE]);
	});

	test('a row the new room already has for the same ticket and person stays; the old one goes', async () => {
		await run([ticket(5001, 'granted', ALICE, [OLD, NEW])]);
		expect((await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW })).rows).toBe(1);
		const rows = await backend.grants({ event: EVENT }, Date.now());
		expect(rows.map((r) => [r.scope, r.outcome])).toEqual([[NEW, 'invited']]);
		expect((await ledger.stats(EVENT)).invited).toBe(1);
	});

	test('running it twice changes nothing more', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		await run([ticket(5001, 'granted', ALICE, [OLD])]);
		await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW });
		const mapped = await mappings();
		const rows = await backend.grants({ event: EVENT }, Date.now());
		expect(await ledger.moveRoom({ oldRoom: OLD, newRoom: NEW })).toEqual({ oldRoom: OLD, newRoom: NEW, mappings: 0, rows: 0 });
		expect(await mappings()).toEqual(mapped);
		expect(await backend.grants({ event: EVENT }, Date.now())).toEqual(rows);
	});

	test('a room that is not a room ID, or the same room twice, is refused and changes nothing', async () => {
		await ledger.setMapping({ event: EVENT, room: OLD });
		await expect(ledger.moveRoom({ oldRoom: OLD, newRoom: '#hall:example.org' })).rejects.toThrow(LedgerInputError);
		await expect(ledger.moveRoom({ oldRoom: OLD, newRoom: OLD })).rejects.toThrow(LedgerInputError);
		expect(await mappings()).toEqual([`${EVENT}|*>${OLD}`]);
	});
});
