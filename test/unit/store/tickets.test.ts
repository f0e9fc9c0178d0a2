/**
 * Tickets decide who is in (lib/store/tickets.ts), on every backend: what a plan does for granted,
 * pending and revoked tickets, who is withdrawn and — above all — who is not.
 */
import {
	claimSeats,
	Ledger,
	LedgerInputError,
	planTickets,
	recordTicketOutcomes,
	UNREACHABLE_BACKOFF_MS,
	type LedgerBackend,
	type PlanOptions,
	type SeatInput,
	type TicketInput,
	type TicketStep,
} from '../../../lib/store';
import { STORES, type TestStore } from './backends';

const SECRET = 'tickets-test-secret-7a9c41e2b8d3f605';
const EVENT = 'exampleorg/summit26';
const ROOM = '!attendees:example.org';
const OTHER_ROOM = '!workshop:example.org';
const ALICE = '@alice:example.org';
const MALLORY = '@mallory:example.org';
const LEASE: PlanOptions = { leaseSeconds: 900 };

function ticket(id: number, access: TicketInput['access'], userId: string | null, extra: Partial<TicketInput> = {}): TicketInput {
	return { event: EVENT, ticket: id, orderCode: `ORD${id}`, access, userId, answer: userId ?? '', rooms: [ROOM], ...extra };
}

const actions = (steps: TicketStep[][]) => steps.map((s) => s.map((step) => `${step.action}:${step.reason}${step.userId ? `:${step.userId}` : ''}${step.room ? `@${step.room}` : ''}`));

describe.each(STORES)('tickets on %s', (_kind, makeStore) => {
	let store: TestStore;
	let backend: LedgerBackend;
	let clock: number;
	let ledger: Ledger;

	beforeEach(async () => {
		store = makeStore();
		clock = Math.floor(Date.now() / 1000) * 1000;
		backend = store.create();
		await backend.init();
		ledger = new Ledger(backend, { secret: SECRET, now: () => clock });
	});
	afterEach(async () => {
		await backend.close();
		await store.cleanup();
	});

	const plan = (inputs: TicketInput[], options: Partial<PlanOptions> = {}) => planTickets(ledger, inputs, { ...LEASE, ...options });
	/** Plans, then records every acting step with the given Matrix status. */
	const run = async (inputs: TicketInput[], status: (step: TicketStep) => string = (s) => (s.action === 'report' ? 'sent' : s.action === 'invite' ? 'invited' : 'withdrawn'), options: Partial<PlanOptions> = {}) => {
		const steps = await plan(inputs, options);
		const acting = steps.flat().filter((s) => s.action !== 'skip');
		await recordTicketOutcomes(ledger, acting.map((step) => ({ step, status: status(step) })));
		return steps;
	};

	test('a ticket with access invites its Matrix ID into each room once; a second run skips it', async () => {
		const first = await run([ticket(5001, 'granted', ALICE, { rooms: [ROOM, OTHER_ROOM] })]);
		expect(actions(first)).toEqual([[`invite:newGrant:${ALICE}@${ROOM}`, `invite:newGrant:${ALICE}@${OTHER_ROOM}`]]);
		const second = await plan([ticket(5001, 'granted', ALICE, { rooms: [ROOM, OTHER_ROOM] })]);
		expect(second.flat().map((s) => [s.action, s.reason])).toEqual([
			['skip', 'already:invited'],
			['skip', 'already:invited'],
		]);
	});

	test('two runs of the same ticket at once: exactly one invites (the other sees it in progress)', async () => {
		const [a, b] = await Promise.all([plan([ticket(5001, 'granted', ALICE)]), plan([ticket(5001, 'granted', ALICE)])]);
		const steps = [...a.flat(), ...b.flat()];
		expect(steps.filter((s) => s.action === 'invite')).toHaveLength(1);
		expect(steps.filter((s) => s.action === 'skip').map((s) => s.reason)).toEqual(['inProgress']);
	});

	test('a pending order never revokes: a stranger naming a real attendee changes nothing (case 1)', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		const attacker = await plan([ticket(6666, 'pending', ALICE, { accessReason: 'awaitingPayment' })]);
		expect(actions(attacker)).toEqual([['skip:ticketPending']]);
		// The attacker's order canceled: it granted nothing, so it withdraws nothing.
		const canceled = await plan([ticket(6666, 'revoked', ALICE, { accessReason: 'orderCanceled' })]);
		expect(actions(canceled)).toEqual([['skip:nothingGranted']]);
		// Alice's own grant is untouched.
		expect(actions(await plan([ticket(5001, 'granted', ALICE)]))).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`]]);
	});

	test('one of two tickets of the same person canceled: she stays; the second canceled: she is withdrawn (case 1)', async () => {
		await run([ticket(5001, 'granted', ALICE), ticket(5018, 'granted', ALICE)], (s) => (s.ticket === '5001' ? 'invited' : 'alreadyInvited'));
		const first = await plan([ticket(5001, 'revoked', ALICE, { accessReason: 'orderCanceled' })]);
		expect(actions(first)).toEqual([[`skip:coveredByOtherTicket:${ALICE}@${ROOM}`]]);
		const second = await plan([ticket(5018, 'revoked', ALICE, { accessReason: 'orderCanceled' })]);
		expect(actions(second)).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
		expect(second[0][0].removeMember).toBe(true);
	});

	test('a ticket of another event mapped to the same room keeps the person in (another event)', async () => {
		await run([ticket(5001, 'granted', ALICE), ticket(7001, 'granted', ALICE, { event: 'exampleorg/meetups26' })], (s) => (s.ticket === '5001' ? 'invited' : 'alreadyInvited'));
		const steps = await plan([ticket(5001, 'revoked', ALICE)]);
		expect(actions(steps)).toEqual([[`skip:coveredByOtherTicket:${ALICE}@${ROOM}`]]);
	});

	test('two tickets of one person revoked at the same time: at least one run withdraws her', async () => {
		await run([ticket(5001, 'granted', ALICE), ticket(5018, 'granted', ALICE)], (s) => (s.ticket === '5001' ? 'invited' : 'alreadyInvited'));
		const [a, b] = await Promise.all([plan([ticket(5001, 'revoked', ALICE)]), plan([ticket(5018, 'revoked', ALICE)])]);
		const withdrawals = [...a.flat(), ...b.flat()].filter((s) => s.action === 'withdraw');
		expect(withdrawals.length).toBeGreaterThanOrEqual(1);
		expect(withdrawals.every((s) => s.userId === ALICE && s.room === ROOM)).toBe(true);
	});

	test('a membership that existed before any ticket is never withdrawn by one', async () => {
		// Mallory's moderator is already in the room; a stranger's paid ticket names her.
		await run([ticket(6001, 'granted', MALLORY)], () => 'alreadyJoined');
		const steps = await plan([ticket(6001, 'revoked', MALLORY)]);
		expect(actions(steps)).toEqual([[`skip:membershipNotGranted:${MALLORY}@${ROOM}`]]);
	});

	test('our invite, then a second ticket "already joined": revoking both withdraws once, at the last one', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		await run([ticket(5018, 'granted', ALICE)], () => 'alreadyJoined');
		expect(actions(await plan([ticket(5001, 'revoked', ALICE)]))).toEqual([[`skip:coveredByOtherTicket:${ALICE}@${ROOM}`]]);
		expect(actions(await plan([ticket(5018, 'revoked', ALICE)]))).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
	});

	test('a changed answer withdraws the old ID (invite only, by default) and invites the new one (case 6)', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		const steps = await plan([ticket(5001, 'granted', MALLORY)]);
		expect(actions(steps)).toEqual([[`invite:newGrant:${MALLORY}@${ROOM}`, `withdraw:answerChanged:${ALICE}@${ROOM}`]]);
		expect(steps[0][1].removeMember).toBe(false);
		expect((await plan([ticket(5002, 'granted', MALLORY)], { removeChangedMember: true })).flat().every((s) => s.action === 'invite')).toBe(true);
		const removing = await plan([ticket(5003, 'granted', ALICE)]);
		await recordTicketOutcomes(ledger, removing.flat().map((step) => ({ step, status: 'invited' })));
		const changed = await plan([ticket(5003, 'granted', MALLORY)], { removeChangedMember: true });
		expect(changed[0].find((s) => s.action === 'withdraw')?.removeMember).toBe(true);
	});

	test('an answer changed to garbage withdraws the old ID and reports the ticket once', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		const steps = await plan([ticket(5001, 'granted', null, { answer: 'alice at example', invalidReason: 'noServer' })]);
		expect(actions(steps)).toEqual([['report:invalidMatrixId', `withdraw:answerInvalid:${ALICE}@${ROOM}`]]);
		expect(steps[0][0].invalidReason).toBe('noServer');
	});

	test('an invalid ID is reported once; a notice that failed is reported again next time', async () => {
		const input = ticket(5010, 'granted', null, { answer: 'ivan:example.org', invalidReason: 'missingSigil' });
		const first = await plan([input]);
		expect(actions(first)).toEqual([['report:invalidMatrixId']]);
		await recordTicketOutcomes(ledger, [{ step: first[0][0], status: 'failed' }]);
		const again = await plan([input]);
		expect(actions(again)).toEqual([['report:invalidMatrixId']]);
		await recordTicketOutcomes(ledger, [{ step: again[0][0], status: 'sent' }]);
		expect(actions(await plan([input]))).toEqual([['skip:alreadyReported']]);
		expect(await ledger.stats(EVENT)).toMatchObject({ invalid: 1, seen: 1 });
	});

	test('a withdrawn ticket that becomes valid again is invited again (reactivation)', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		await run([ticket(5001, 'revoked', ALICE)]);
		expect(await ledger.stats(EVENT)).toMatchObject({ withdrawn: 1, invited: 0 });
		const steps = await plan([ticket(5001, 'granted', ALICE)]);
		expect(actions(steps)).toEqual([[`invite:retry:${ALICE}@${ROOM}`]]);
	});

	test('a withdrawal that failed keeps the grant, so the next run tries again', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		const first = await run([ticket(5001, 'revoked', ALICE)], () => 'notPermitted');
		expect(actions(first)).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
		expect(actions(await plan([ticket(5001, 'revoked', ALICE)]))).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
	});

	test('people who left are invited again only with reinviteLeft, and their grant stays ours', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		expect(actions(await plan([ticket(5001, 'granted', ALICE)]))).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`]]);
		const recheck = await plan([ticket(5001, 'granted', ALICE)], { reinviteLeft: true });
		expect(actions(recheck)).toEqual([[`invite:recheck:${ALICE}@${ROOM}`]]);
		expect(recheck[0][0].ours).toBe(true);
		await recordTicketOutcomes(ledger, [{ step: recheck[0][0], status: 'alreadyJoined' }]);
		// Still ours: revoking the ticket withdraws her.
		expect(actions(await plan([ticket(5001, 'revoked', ALICE)]))).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
	});

	test('force re-invites a withdrawn or failed ticket (the organizer command)', async () => {
		await run([ticket(5001, 'granted', ALICE)], () => 'banned');
		expect(actions(await plan([ticket(5001, 'granted', ALICE)]))).toEqual([[`skip:already:banned:${ALICE}@${ROOM}`]]);
		expect(actions(await plan([ticket(5001, 'granted', ALICE)], { force: true }))).toEqual([[`invite:forced:${ALICE}@${ROOM}`]]);
	});

	test('an unreachable homeserver is not tried again for an hour', async () => {
		await run([ticket(5001, 'granted', '@bob:gone.example')], () => 'serverUnreachable');
		expect(actions(await plan([ticket(5001, 'granted', '@bob:gone.example')]))).toEqual([['skip:backoff:serverUnreachable:@bob:gone.example@' + ROOM]]);
		clock += UNREACHABLE_BACKOFF_MS + 1000;
		expect(actions(await plan([ticket(5001, 'granted', '@bob:gone.example')]))).toEqual([['invite:retry:@bob:gone.example@' + ROOM]]);
	});

	test('a new grant that raced with a withdrawal is made claimable again', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		const withdraw = await plan([ticket(5001, 'revoked', ALICE)]);
		// Meanwhile her second ticket is invited; Matrix says "already invited" (our invite, not yet withdrawn).
		await run([ticket(5018, 'granted', ALICE)], () => 'alreadyInvited');
		const [recorded] = await recordTicketOutcomes(ledger, [{ step: withdraw[0][0], status: 'withdrawn' }]);
		expect(recorded).toEqual({ recorded: 'withdrawn', reinviteQueued: true });
		expect(actions(await plan([ticket(5018, 'granted', ALICE)]))).toEqual([[`invite:retry:${ALICE}@${ROOM}`]]);
	});

	test('no rooms, pending and revoked-without-grant tickets touch nobody', async () => {
		const steps = await plan([ticket(5001, 'granted', ALICE, { rooms: [] }), ticket(5002, 'pending', ALICE), ticket(5003, 'revoked', ALICE)]);
		expect(actions(steps)).toEqual([[`skip:noRooms:${ALICE}`], ['skip:ticketPending'], ['skip:nothingGranted']]);
		expect(await ledger.stats(EVENT)).toMatchObject({ seen: 0 });
	});

	test('bad input is refused with the item index and writes nothing', async () => {
		await expect(plan([ticket(5001, 'granted', ALICE), { ...ticket(5002, 'granted', ALICE), access: 'paid' }])).rejects.toThrow(
			expect.objectContaining({ name: 'LedgerInputError', index: 1 }) as unknown as Error,
		);
		await expect(plan([{ ...ticket(5001, 'granted', ALICE), ticket: '' }])).rejects.toBeInstanceOf(LedgerInputError);
		await expect(recordTicketOutcomes(ledger, [{ step: undefined as unknown as TicketStep, status: 'invited' }])).rejects.toBeInstanceOf(LedgerInputError);
		expect(await ledger.stats(EVENT)).toMatchObject({ seen: 0 });
	});

	test('rotating the secret (previous secret set) re-invites nobody, withdraws under old keys, looks up and forgets both', async () => {
		await run([ticket(5001, 'granted', ALICE), ticket(5010, 'granted', null, { answer: 'ivan:example' })]);
		await ledger.claim([{ event: EVENT, scope: 'x', subject: 'generic', matrixId: ALICE }]);
		const rotated = new Ledger(backend, { secret: 'tickets-rotated-secret-6e2b9f417ac3d508', previousSecret: SECRET, now: () => clock });
		const again = await planTickets(rotated, [ticket(5001, 'granted', ALICE), ticket(5010, 'granted', null, { answer: 'ivan:example' })], LEASE);
		expect(actions(again)).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`], ['skip:alreadyReported']]);
		expect((await rotated.claim([{ event: EVENT, scope: 'x', subject: 'generic', matrixId: ALICE }]))[0].status).toBe('leased');
		// Revoking still finds the grant written under the old secret, and Record settles that row.
		const revoke = await planTickets(rotated, [ticket(5001, 'revoked', ALICE)], LEASE);
		expect(actions(revoke)).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
		expect(await recordTicketOutcomes(rotated, [{ step: revoke[0][0], status: 'withdrawn' }])).toEqual([{ recorded: 'withdrawn' }]);
		expect(await rotated.stats(EVENT)).toMatchObject({ withdrawn: 1, seen: 3 });
		expect((await rotated.lookup({ matrixId: ALICE })).length).toBe(2);
		expect(await rotated.forget({ matrixId: ALICE })).toBe(2);
		expect(await ledger.lookup({ matrixId: ALICE })).toEqual([]);
	});

	test('a dry run predicts the plan and changes nothing (for an ETA)', async () => {
		const inputs = [ticket(5001, 'granted', ALICE, { rooms: [ROOM, OTHER_ROOM] }), ticket(5002, 'granted', null, { answer: 'x' }), ticket(5003, 'pending', MALLORY)];
		const dry = await plan(inputs, { dryRun: true });
		expect(await ledger.stats(EVENT)).toMatchObject({ seen: 0 });
		const real = await run(inputs);
		expect(actions(dry)).toEqual(actions(real));
		await run([ticket(5009, 'granted', MALLORY)]);
		const after = await plan([...inputs, ticket(5009, 'revoked', MALLORY)], { dryRun: true });
		expect(actions(after)).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`, `skip:already:invited:${ALICE}@${OTHER_ROOM}`], ['skip:alreadyReported'], ['skip:ticketPending'], [`withdraw:ticketRevoked:${MALLORY}@${ROOM}`]]);
		// Still nothing changed by the dry run: the real revocation withdraws.
		expect(actions(await plan([ticket(5009, 'revoked', MALLORY)]))).toEqual([[`withdraw:ticketRevoked:${MALLORY}@${ROOM}`]]);
	});

	test('the store holds no plaintext Matrix ID, ticket id or order code', async () => {
		await run([ticket(5001, 'granted', ALICE)]);
		await run([ticket(5001, 'granted', MALLORY)]);
		await run([ticket(5010, 'granted', null, { answer: 'ivan:example.org' })]);
		const dump = await store.dump();
		for (const needle of ['alice', 'mallory', 'ivan', '5001', '5010', 'ORD5001']) expect(dump.toLowerCase()).not.toContain(needle.toLowerCase());
	});
});

describe.each(STORES)('seat claims on %s', (_kind, makeStore) => {
	let store: TestStore;
	let backend: LedgerBackend;
	let clock: number;
	let ledger: Ledger;
	const BOB = '@bob:example.org';

	beforeEach(async () => {
		store = makeStore();
		clock = Math.floor(Date.now() / 1000) * 1000;
		backend = store.create();
		await backend.init();
		ledger = new Ledger(backend, { secret: SECRET, now: () => clock });
	});
	afterEach(async () => {
		await backend.close();
		await store.cleanup();
	});

	const seat = (id: number, access: SeatInput['access'] = 'granted', extra: Partial<SeatInput> = {}): SeatInput => ({ event: EVENT, ticket: id, orderCode: 'ORD1', access, ...extra });
	const plan = (inputs: TicketInput[]) => planTickets(ledger, inputs, LEASE);
	const invite = async (inputs: TicketInput[]) => {
		const steps = await plan(inputs);
		await recordTicketOutcomes(ledger, steps.flat().filter((s) => s.action !== 'skip').map((step) => ({ step, status: step.action === 'invite' ? 'invited' : step.action === 'report' ? 'sent' : 'withdrawn' })));
		return steps;
	};
	const statuses = (results: Array<{ status: string }>) => results.map((r) => r.status);

	test('a ticket without a Matrix ID is claimed once; the same sender again is "alreadyYours", a second account is refused', async () => {
		expect(statuses(await claimSeats(ledger, [seat(7001)], ALICE))).toEqual(['claimed']);
		expect(statuses(await claimSeats(ledger, [seat(7001)], ALICE))).toEqual(['alreadyYours']);
		expect(statuses(await claimSeats(ledger, [seat(7001)], BOB))).toEqual(['takenByOther']);
		// Nothing of Bob's was stored: the claim row holds Alice.
		expect(await ledger.lookup({ matrixId: BOB })).toEqual([]);
		expect((await ledger.lookup({ matrixId: ALICE })).map((r) => r.scope)).toEqual(['#claim']);
	});

	test('Plan uses the claimed Matrix ID over pretix\'s empty or invalid answer, so later runs keep the claimant in', async () => {
		await claimSeats(ledger, [seat(7001)], ALICE);
		const claimed = await invite([ticket(7001, 'granted', ALICE)]);
		expect(actions(claimed)).toEqual([[`invite:newGrant:${ALICE}@${ROOM}`]]);
		// The webhook or a batch later reads pretix again: no answer, or a broken one — nothing is withdrawn or reported.
		expect(actions(await plan([ticket(7001, 'granted', null, { answer: '' })]))).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`]]);
		expect(actions(await plan([ticket(7001, 'granted', null, { answer: 'not an id', invalidReason: 'noColon' })]))).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`]]);
		expect(actions(await plan([ticket(7001, 'granted', MALLORY)]))).toEqual([[`skip:already:invited:${ALICE}@${ROOM}`]]);
		// Canceling the ticket still withdraws the claimant.
		expect(actions(await plan([ticket(7001, 'revoked', null)]))).toEqual([[`withdraw:ticketRevoked:${ALICE}@${ROOM}`]]);
	});

	test('a seat invited with pretix\'s answer belongs to that ID: its owner is "alreadyYours", anyone else is refused — unless moveSeat', async () => {
		await invite([ticket(7001, 'granted', ALICE)]);
		expect(statuses(await claimSeats(ledger, [seat(7001, 'granted', { answered: true })], ALICE))).toEqual(['alreadyYours']);
		expect(statuses(await claimSeats(ledger, [seat(7001, 'granted', { answered: true })], BOB))).toEqual(['takenByOther']);
		expect(statuses(await claimSeats(ledger, [seat(7001, 'granted', { answered: true })], BOB, { moveSeat: true }))).toEqual(['moved']);
		// Plan now moves the seat: Alice's invite is withdrawn, Bob invited; Mallory (another ticket) untouched.
		await invite([ticket(7002, 'granted', MALLORY)]);
		const moved = await plan([ticket(7001, 'granted', ALICE), ticket(7002, 'granted', MALLORY)]);
		expect(actions(moved)).toEqual([[`invite:newGrant:${BOB}@${ROOM}`, `withdraw:answerChanged:${ALICE}@${ROOM}`], [`skip:already:invited:${MALLORY}@${ROOM}`]]);
	});

	test('one seat per account and order: a group order gives each claimant one ticket (unanswered first), its add-on goes with it', async () => {
		const order = [seat(7001, 'granted', { answered: true }), seat(7002), seat(7003), seat(7004, 'granted', { addonTo: 7002 })];
		expect(statuses(await claimSeats(ledger, order, ALICE))).toEqual(['notChosen', 'claimed', 'notChosen', 'claimed']);
		expect(statuses(await claimSeats(ledger, order, BOB))).toEqual(['notChosen', 'notChosen', 'claimed', 'notChosen']);
		expect(statuses(await claimSeats(ledger, order, ALICE))).toEqual(['notChosen', 'alreadyYours', 'notChosen', 'alreadyYours']);
		expect(statuses(await claimSeats(ledger, order, MALLORY))).toEqual(['claimed', 'notChosen', 'notChosen', 'notChosen']);
		expect(statuses(await claimSeats(ledger, order, '@dave:example.org'))).toEqual(['takenByOther', 'takenByOther', 'takenByOther', 'takenByOther']);
	});

	test('canceled and unpaid tickets are not claimed; two accounts claiming one free seat at once: exactly one gets it', async () => {
		expect(statuses(await claimSeats(ledger, [seat(7001, 'revoked'), seat(7002, 'pending')], ALICE))).toEqual(['noAccess', 'pending']);
		expect(await ledger.lookup({ matrixId: ALICE })).toEqual([]);
		const [a, b] = await Promise.all([claimSeats(ledger, [seat(7010)], ALICE), claimSeats(ledger, [seat(7010)], BOB)]);
		expect([statuses(a)[0], statuses(b)[0]].sort()).toEqual(['claimed', 'takenByOther']);
	});

	test('bad input is refused before anything is stored', async () => {
		await expect(claimSeats(ledger, [seat(7001)], '')).rejects.toBeInstanceOf(LedgerInputError);
		await expect(claimSeats(ledger, [{ ...seat(7001), access: 'yes' }], ALICE)).rejects.toBeInstanceOf(LedgerInputError);
		await expect(claimSeats(ledger, [{ ...seat(7001), ticket: '' }], ALICE)).rejects.toBeInstanceOf(LedgerInputError);
		expect(await ledger.stats(EVENT)).toMatchObject({ seen: 0 });
		await claimSeats(ledger, [seat(7001)], ALICE);
		const dump = await store.dump();
		for (const needle of ['alice', '7001', 'ORD1']) expect(dump.toLowerCase()).not.toContain(needle.toLowerCase());
	});
});
