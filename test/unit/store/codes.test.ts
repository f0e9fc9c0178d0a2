/**
 * Self-service rows of the ledger (lib/store/codes.ts) on every backend: invite codes (create,
 * inspect, list, revoke, redeem with use limits under concurrency), attempt throttles, and
 * registration tokens bound to tickets — each stored as keyed hashes and deleted with the event.
 */
import {
	canonicalCode,
	countAttempt,
	createInviteCode,
	inspectInviteCode,
	Ledger,
	LedgerInputError,
	listInviteCodes,
	listTicketTokens,
	planTicketTokens,
	recordTicketOutcomes,
	recordTicketTokens,
	redeemInviteCode,
	revokeInviteCode,
	type LedgerBackend,
	type TicketTokenInput,
} from '../../../lib/store';
import { STORES, type TestStore } from './backends';

const SECRET = 'codes-test-secret-3f9a71c2e8b4d605aa';
const EVENT = 'exampleorg/summit26';
const OTHER_EVENT = 'exampleorg/meetup26';
const ROOMS = ['!hall:example.org', '!workshop:example.org', '#lounge:example.org'];
const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';
const DAY = 86_400_000;

describe.each(STORES)('self-service rows on %s', (_kind, makeStore) => {
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

	const redeem = (code: string, userId: string) => redeemInviteCode(ledger, { code, userId, leaseSeconds: 900 });

	describe('invite codes', () => {
		test('a code shows what it grants without redeeming; redeeming plans one invite per room, recorded like any grant', async () => {
			const { code, info } = await createInviteCode(ledger, { event: EVENT, rooms: ROOMS, usesAllowed: 2, expiresAt: clock + 7 * DAY });
			expect(code).toMatch(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
			expect(info).toMatchObject({ event: EVENT, rooms: ROOMS, usesAllowed: 2, uses: 0, status: 'active', expiresAt: clock + 7 * DAY });
			// Inspecting (any spelling of the code) changes nothing.
			expect(await inspectInviteCode(ledger, code.toLowerCase().replace(/-/g, ' '))).toMatchObject({ id: info.id, uses: 0, status: 'active' });
			const first = await redeem(code, ALICE);
			expect(first.status).toBe('redeemed');
			expect(first.steps.map((s) => [s.action, s.room, s.userId])).toEqual(ROOMS.map((room) => ['invite', room, ALICE]));
			await recordTicketOutcomes(ledger, first.steps.map((step, n) => ({ step, status: n === 1 ? 'notPermitted' : 'invited' })));
			expect(await inspectInviteCode(ledger, code)).toMatchObject({ uses: 1, status: 'active' });
			// Alice again: no second use; the rooms that worked are skipped, the failed one stays failed.
			const again = await redeem(code, ALICE);
			expect(again.status).toBe('again');
			expect(again.steps.map((s) => [s.action, s.reason])).toEqual([['skip', 'already:invited'], ['skip', 'already:notPermitted'], ['skip', 'already:invited']]);
			expect((await inspectInviteCode(ledger, code))?.uses).toBe(1);
			expect(await ledger.stats(EVENT)).toMatchObject({ invited: 2, failed: 1 });
		});

		test('uses run out (two at once for the last use: one wins), expiry and revocation stop redemptions, unknown codes are unknown', async () => {
			const { code } = await createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]], usesAllowed: 2 });
			expect((await redeem(code, ALICE)).status).toBe('redeemed');
			const [bob, carol] = await Promise.all([redeem(code, BOB), redeem(code, '@carol:example.org')]);
			expect([bob.status, carol.status].sort()).toEqual(['redeemed', 'usedUp']);
			expect((await redeem(code, '@dave:example.org')).status).toBe('usedUp');
			expect((await inspectInviteCode(ledger, code))?.status).toBe('usedUp');

			const { code: short } = await createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]], expiresAt: clock + 1000 });
			clock += 1000;
			expect(await redeem(short, ALICE)).toMatchObject({ status: 'expired', steps: [] });

			const { code: gone, info } = await createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]] });
			expect(await revokeInviteCode(ledger, info.id, [EVENT])).toMatchObject({ id: info.id, status: 'revoked' });
			expect(await redeem(gone, ALICE)).toMatchObject({ status: 'revoked', steps: [] });
			expect(await redeem('ABCD-EFGH-JKMN', ALICE)).toEqual({ status: 'unknown', code: null, steps: [] });
			expect(await redeem('short', ALICE)).toEqual({ status: 'unknown', code: null, steps: [] });
			expect(await inspectInviteCode(ledger, 'ABCD-EFGH-JKMN')).toBeNull();
		});

		test('unlimited codes count every person once; lists and revocations stay within the events given', async () => {
			const { code, info } = await createInviteCode(ledger, { event: EVENT, rooms: ROOMS.slice(0, 2) });
			const other = await createInviteCode(ledger, { event: OTHER_EVENT, rooms: [ROOMS[2]], usesAllowed: 5 });
			for (const user of [ALICE, BOB, ALICE]) await redeem(code, user);
			expect((await inspectInviteCode(ledger, code))?.uses).toBe(2);
			expect((await listInviteCodes(ledger, [EVENT])).map((c) => [c.id, c.uses, c.usesAllowed])).toEqual([[info.id, 2, null]]);
			expect((await listInviteCodes(ledger, [EVENT, OTHER_EVENT])).map((c) => c.id).sort()).toEqual([info.id, other.info.id].sort());
			// A moderator of EVENT cannot revoke OTHER_EVENT's code, by code or by id.
			expect(await revokeInviteCode(ledger, other.code, [EVENT])).toBeNull();
			expect(await revokeInviteCode(ledger, other.info.id, [EVENT])).toBeNull();
			expect((await inspectInviteCode(ledger, other.code))?.status).toBe('active');
			// A bot admin may (any event for the code itself).
			expect((await revokeInviteCode(ledger, other.code, null))?.status).toBe('revoked');
		});

		test('purging the event deletes codes and redemptions; forgetting a person deletes their redemption and invites only', async () => {
			const { code } = await createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]], usesAllowed: 3 });
			const keep = await createInviteCode(ledger, { event: OTHER_EVENT, rooms: [ROOMS[0]] });
			for (const user of [ALICE, BOB]) {
				const result = await redeem(code, user);
				await recordTicketOutcomes(ledger, result.steps.map((step) => ({ step, status: 'invited' })));
			}
			expect(await ledger.forget({ matrixId: ALICE })).toBe(2);
			expect(await ledger.lookup({ matrixId: ALICE })).toEqual([]);
			expect((await ledger.lookup({ matrixId: BOB })).length).toBe(2);
			await ledger.purgeEvent(EVENT);
			expect(await inspectInviteCode(ledger, code)).toBeNull();
			expect(await ledger.lookup({ matrixId: BOB })).toEqual([]);
			expect((await inspectInviteCode(ledger, keep.code))?.status).toBe('active');
		});

		test('bad input is refused and nothing is stored; the store holds neither the code nor the Matrix ID in plain text (rooms appear only as the scopes of grants, as for every invite)', async () => {
			await expect(createInviteCode(ledger, { event: EVENT, rooms: [] })).rejects.toBeInstanceOf(LedgerInputError);
			await expect(createInviteCode(ledger, { event: EVENT, rooms: ['not-a-room'] })).rejects.toThrow(/room ID/);
			await expect(createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]], usesAllowed: 0 })).rejects.toThrow(/uses/);
			await expect(createInviteCode(ledger, { event: EVENT, rooms: [ROOMS[0]], expiresAt: clock - 1 })).rejects.toThrow(/future/);
			await expect(redeem('ABCD-EFGH-JKMN', 'alice')).rejects.toBeInstanceOf(LedgerInputError);
			expect(await ledger.stats(EVENT)).toMatchObject({ seen: 0 });
			const { code } = await createInviteCode(ledger, { event: EVENT, rooms: ROOMS });
			await redeem(code, ALICE);
			const dump = (await store.dump()).toLowerCase();
			for (const needle of [canonicalCode(code), code, 'alice']) expect(dump).not.toContain(needle.toLowerCase());
		});
	});

	describe('attempt throttle', () => {
		const attempt = (sender: string, order: string, events = [EVENT]) => countAttempt(ledger, { events, keys: [{ kind: 'sender', value: sender }, { kind: 'order', value: order }], limit: 3, windowSeconds: 600 });

		test('counts per sender and per order code; over the limit is refused until the window passes without attempts', async () => {
			expect(await attempt(ALICE, 'ABC12')).toEqual({ allowed: true, attempts: 1 });
			expect((await attempt(ALICE, 'XYZ98')).attempts).toBe(2);
			expect((await attempt(ALICE, 'XYZ98')).attempts).toBe(3);
			expect(await attempt(ALICE, 'QRS45')).toEqual({ allowed: false, attempts: 4 });
			// Another sender is not slowed by Alice, but the order code she tried is counted for everyone.
			expect(await attempt(BOB, 'LMN67')).toEqual({ allowed: true, attempts: 1 });
			expect((await attempt(BOB, 'xyz98')).attempts).toBe(3);
			// Trying on keeps the window open; ten quiet minutes close it.
			clock += 599_000;
			expect((await attempt(ALICE, 'NEW01')).allowed).toBe(false);
			clock += 600_000;
			expect(await attempt(ALICE, 'NEW02')).toEqual({ allowed: true, attempts: 1 });
			// Counters are no work in progress: statistics show none pending.
			expect(await ledger.stats(EVENT)).toMatchObject({ pending: 0 });
		});

		test('parallel attempts are all counted; the rows are Matrix-ID and order hashes, found by Lookup and deleted with the event', async () => {
			const results = await Promise.all(Array.from({ length: 8 }, () => attempt(ALICE, 'ABC12')));
			expect(results.map((r) => r.attempts).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
			expect(results.filter((r) => r.allowed)).toHaveLength(3);
			expect((await ledger.lookup({ matrixId: ALICE })).map((r) => r.scope)).toEqual(['#throttle']);
			expect((await ledger.lookup({ orderCode: 'abc12' })).map((r) => r.scope)).toEqual(['#throttle']);
			await attempt(ALICE, 'ABC12', [OTHER_EVENT]);
			await ledger.purgeEvent(EVENT);
			expect((await ledger.lookup({ matrixId: ALICE })).map((r) => r.event)).toEqual([OTHER_EVENT]);
			const dump = (await store.dump()).toLowerCase();
			expect(dump).not.toContain('alice');
			expect(dump).not.toContain('abc12');
		});

		test('bad limits are refused', async () => {
			await expect(countAttempt(ledger, { events: [EVENT], keys: [{ kind: 'sender', value: ALICE }], limit: 0, windowSeconds: 60 })).rejects.toBeInstanceOf(LedgerInputError);
			await expect(countAttempt(ledger, { events: [EVENT], keys: [{ kind: 'sender', value: ALICE }], limit: 3, windowSeconds: 0 })).rejects.toBeInstanceOf(LedgerInputError);
			expect(await countAttempt(ledger, { events: [], keys: [{ kind: 'sender', value: ALICE }], limit: 3, windowSeconds: 60 })).toEqual({ allowed: true, attempts: 0 });
		});
	});

	describe('registration tokens of tickets', () => {
		const ticket = (id: number, access: TicketTokenInput['access'], needsAccount = true): TicketTokenInput => ({ event: EVENT, ticket: id, orderCode: `ORD${id}`, access, needsAccount });
		const plan = (inputs: TicketTokenInput[]) => planTicketTokens(ledger, inputs, { leaseSeconds: 900 });
		const brief = (steps: Array<{ action: string; reason: string; token: string | null }>) => steps.map((s) => `${s.action}:${s.reason}${s.token ? `:${s.token}` : ''}`);

		test('a ticket that needs an account gets one token, once; cancellation deletes it; other tickets are untouched', async () => {
			const first = await plan([ticket(8001, 'granted'), ticket(8002, 'granted', false), ticket(8003, 'pending'), ticket(8004, 'granted')]);
			expect(brief(first)).toEqual(['create:newTicket', 'skip:hasAccount', 'skip:ticketPending', 'create:newTicket']);
			expect(brief(await plan([ticket(8001, 'granted')]))).toEqual(['skip:inProgress']);
			expect(await recordTicketTokens(ledger, [{ step: first[0], status: 'sent', token: 'ticket-AAAA1111' }, { step: first[3], status: 'sent', token: 'ticket-BBBB2222' }])).toEqual([{ recorded: 'sent' }, { recorded: 'sent' }]);
			expect(brief(await plan([ticket(8001, 'granted')]))).toEqual(['skip:already:tokenSent']);
			expect((await listTicketTokens(ledger, [EVENT])).map((t) => t.token).sort()).toEqual(['ticket-AAAA1111', 'ticket-BBBB2222']);

			const canceled = await plan([ticket(8001, 'revoked')]);
			expect(brief(canceled)).toEqual(['delete:ticketRevoked:ticket-AAAA1111']);
			expect(await recordTicketTokens(ledger, [{ step: canceled[0], status: 'deleted' }])).toEqual([{ recorded: 'deleted' }]);
			expect(brief(await plan([ticket(8001, 'revoked')]))).toEqual(['skip:nothingToDelete']);
			expect((await listTicketTokens(ledger, [EVENT])).map((t) => t.token)).toEqual(['ticket-BBBB2222']);
			// Reactivated: a new token.
			expect(brief(await plan([ticket(8001, 'granted')]))).toEqual(['create:reactivated']);
		});

		test('a failed e-mail sends the same token again next time; a failed deletion is tried again; an answered Matrix ID deletes the token', async () => {
			const [step] = await plan([ticket(8001, 'granted')]);
			await recordTicketTokens(ledger, [{ step, status: 'mailFailed', token: 'ticket-CCCC3333' }]);
			const [resend] = await plan([ticket(8001, 'granted')]);
			expect(brief([resend])).toEqual(['create:resend:ticket-CCCC3333']);
			await recordTicketTokens(ledger, [{ step: resend, status: 'sent' }]);
			const [del] = await plan([ticket(8001, 'granted', false)]);
			expect(brief([del])).toEqual(['delete:hasAccount:ticket-CCCC3333']);
			expect(await recordTicketTokens(ledger, [{ step: del, status: 'failed' }])).toEqual([{ recorded: 'stillThere' }]);
			expect(brief(await plan([ticket(8001, 'revoked')]))).toEqual(['delete:ticketRevoked:ticket-CCCC3333']);
			const [created] = await plan([ticket(8002, 'granted')]);
			expect(await recordTicketTokens(ledger, [{ step: created, status: 'failed' }])).toEqual([{ recorded: 'failed' }]);
			expect(brief(await plan([ticket(8002, 'granted')]))).toEqual(['create:newTicket']);
		});

		test('tokens are sealed, tickets and orders hashed; the event purge deletes them; bad input is refused', async () => {
			const [step] = await plan([ticket(8001, 'granted')]);
			await recordTicketTokens(ledger, [{ step, status: 'sent', token: 'ticket-DDDD4444' }]);
			const dump = (await store.dump()).toLowerCase();
			for (const needle of ['dddd4444', '8001', 'ord8001']) expect(dump).not.toContain(needle);
			expect((await ledger.lookup({ orderCode: 'ORD8001' })).map((r) => r.scope)).toEqual(['#regtoken']);
			await ledger.purgeEvent(EVENT);
			expect(await listTicketTokens(ledger, [EVENT])).toEqual([]);
			await expect(plan([{ ...ticket(8001, 'granted'), access: 'maybe' }])).rejects.toBeInstanceOf(LedgerInputError);
			await expect(recordTicketTokens(ledger, [{ step: undefined as never, status: 'sent' }])).rejects.toBeInstanceOf(LedgerInputError);
		});
	});
});
