import { readFixture } from '../../fakes/pretix';
import { answerFor, extractAttendees, type Attendee, type AttendeeOptions } from '../../../lib/pretix';
import type { PretixOrder } from '../../../lib/pretix';

const orders: PretixOrder[] = [
	...readFixture<{ results: PretixOrder[] }>('orders-page-1.json').results,
	...readFixture<{ results: PretixOrder[] }>('orders-page-2.json').results,
];

function all(options: AttendeeOptions = {}): Attendee[] {
	return orders.flatMap((order) => extractAttendees(order, { organizer: 'exampleorg', event: 'summit26' }, options).attendees);
}

const PAID: Array<[string, number, string | null]> = [
	['ABC3K', 5001, '@alice:example.org'],
	['D9HLM', 5004, '@dave:example.org'],
	['E3PZV', 5006, '@frank:example.org'],
	['E3PZV', 5007, '@grace:example.net'],
	['E3PZV', 5008, '@heidi:chat.example.org'],
	// The workshop add-on of 5006: an attendee of its own (a room may be mapped to item 203).
	['E3PZV', 5009, '@frank:example.org'],
	['F7KMA', 5010, 'ivan:example.org'],
	['G8WXY', 5011, '@judy'],
	['H3TUV', 5012, '@ken smith:example.org'],
	['J9QRS', 5013, '@Laura:Example.ORG'],
	['K7MNP', 5014, 'https://matrix.to/#/@mallory:example.org'],
	['L3DFG', 5015, '@niaj:example.org  '],
	['M8BCX', 5016, null],
	['N7VWZ', 5017, '@peggy:example.org'],
	['P3HJK', 5018, '@alice:example.org'],
];

describe('extractAttendees over the fixture orders', () => {
	test('default: one item per position that grants access (paid, add-ons too); canceled, pending, expired excluded', () => {
		const got = all();
		expect(got.map((a) => [a.orderCode, a.positionId, a.matrixId])).toEqual(PAID);
		// the raw answer is passed through unvalidated (MXID Validate normalises it)
		expect(got.find((a) => a.positionId === 5015)!.matrixId).toBe('@niaj:example.org  ');
	});

	test('fields of one attendee; no name or e-mail unless switched on', () => {
		const [alice] = all();
		expect(alice).toEqual({
			organizer: 'exampleorg',
			event: 'summit26',
			orderCode: 'ABC3K',
			orderStatus: 'p',
			positionId: 5001,
			positionNumber: 1,
			itemId: 201,
			variationId: null,
			subeventId: null,
			addonTo: null,
			matrixId: '@alice:example.org',
			lastModified: '2026-05-04T09:14:02.118204Z',
			access: 'granted',
			accessReason: 'paid',
		});
		for (const attendee of all()) {
			expect(attendee).not.toHaveProperty('attendeeName');
			expect(attendee).not.toHaveProperty('attendeeEmail');
			expect(attendee).not.toHaveProperty('orderEmail');
		}
	});

	test('name and e-mail when enabled; attendee e-mail null stays null, buyer e-mail separate', () => {
		const got = all({ includeName: true, includeEmail: true });
		const heidi = got.find((a) => a.positionId === 5008)!;
		expect(heidi.attendeeName).toBe('Heidi Sample');
		expect(heidi.attendeeEmail).toBeNull();
		expect(typeof heidi.orderEmail).toBe('string');
		expect(got.find((a) => a.positionId === 5001)!.attendeeEmail).toBe('alice@example.org');
	});

	test('pending orders grant access only when selected; canceled and expired never, even when asked for', () => {
		const got = all({ statuses: ['p', 'n', 'c'] });
		expect(got.map((a) => a.orderCode)).toContain('B7NQX');
		expect(got.find((a) => a.orderCode === 'B7NQX')).toMatchObject({ access: 'granted', accessReason: 'pendingAccepted' });
		expect(got.map((a) => a.orderCode)).not.toContain('C8RTW');
		expect(all({ statuses: ['e'] }).map((a) => a.orderCode)).not.toContain('Q9LTR');
		expect(all().map((a) => a.orderCode)).not.toContain('B7NQX');
	});

	test('item filter selects add-on positions, which inherit the parent attendee answer and name', () => {
		const workshop = all({ itemIds: [203], includeName: true });
		expect(workshop).toHaveLength(1);
		expect(workshop[0]).toMatchObject({ orderCode: 'E3PZV', positionId: 5009, itemId: 203, addonTo: 5006, matrixId: '@frank:example.org', attendeeName: 'Frank Sample' });
		expect(all({ itemIds: [202] }).map((a) => a.orderCode)).toEqual(['N7VWZ']);
		expect(all({ variationIds: [1] })).toEqual([]);
	});

	test('question identifier is configurable and matched case-insensitively', () => {
		expect(all({ questionIdentifier: 'MATRIX' }).map((a) => a.matrixId)).toEqual(PAID.map((p) => p[2]));
		// The add-on has no answer of its own; it takes its parent's (5006 answered "L" for tshirt).
		const tshirt = all({ questionIdentifier: 'tshirt' });
		expect(tshirt.find((a) => a.positionId === 5004)!.matrixId).toBe('L');
		expect(answerFor([{ question: 1, answer: 'x', question_identifier: 'Matrix' }], 'matrix')).toBe('x');
		expect(answerFor('garbage', 'matrix')).toBeNull();
	});

	test('test-mode orders grant nothing and, included, are pending (never revoked)', () => {
		const test = { ...orders[0], code: 'A0BCD', testmode: true };
		expect(extractAttendees(test, { organizer: 'exampleorg' }).attendees).toEqual([]);
		expect(extractAttendees(test, { organizer: 'exampleorg' }, { includeInactive: true }).attendees.map((a) => [a.access, a.accessReason])).toEqual([['pending', 'testMode']]);
	});

	test('a date filter keeps only the positions of that date of a series', () => {
		const series = { ...orders[0], positions: [{ ...orders[0].positions[0], id: 1, subevent: 11 }, { ...orders[0].positions[0], id: 2, subevent: 12 }] };
		expect(extractAttendees(series, { organizer: 'exampleorg', event: 'meetups26' }, { subevent: 12 }).attendees.map((a) => [a.positionId, a.subeventId])).toEqual([[2, 12]]);
	});

	test('garbage never throws: counted as malformed', () => {
		expect(extractAttendees(null as unknown as PretixOrder, { organizer: 'o' })).toEqual({ attendees: [], malformed: 1 });
		expect(extractAttendees({ code: 'X', status: 'p', testmode: false, positions: 'nope' } as unknown as PretixOrder, { organizer: 'o' }).malformed).toBe(1);
		const withJunk = { ...orders[0], positions: [null, { id: 'x' }, orders[0].positions[0]] } as unknown as PretixOrder;
		const r = extractAttendees(withJunk, { organizer: 'exampleorg', event: 'summit26' });
		expect(r.malformed).toBe(2);
		expect(r.attendees).toHaveLength(1);
	});

	test('organizer-level lists take the event from the order', () => {
		const r = extractAttendees({ ...orders[0], event: 'summit26' }, { organizer: 'exampleorg' });
		expect(r.attendees[0].event).toBe('summit26');
	});
});
