/**
 * The one rule for "this ticket grants access now" (lib/pretix/access.ts), case by case as pretix
 * has them (doc/api/resources/orders.rst, doc/api/guides/order_lifecycle.rst,
 * src/pretix/base/models/orders.py, src/pretix/base/services/checkin.py), over the fixture orders
 * and the odd shapes pretix and broken proxies produce.
 */
import { readFixture } from '../../fakes/pretix';
import { extractAttendees, ticketAccess, type PretixOrder, type PretixPosition } from '../../../lib/pretix';

const orders: PretixOrder[] = [
	...readFixture<{ results: PretixOrder[] }>('orders-page-1.json').results,
	...readFixture<{ results: PretixOrder[] }>('orders-page-2.json').results,
];
const NOW = Date.parse('2026-06-10T08:00:00Z');

function order(code: string, change: (o: PretixOrder) => void = () => undefined): PretixOrder {
	const found = orders.find((o) => o.code === code);
	if (!found) throw new Error(`fixture order ${code} missing`);
	const copy = structuredClone(found);
	change(copy);
	return copy;
}

function verdicts(o: PretixOrder, grantPending = false): Array<[number, string, string]> {
	return o.positions.map((p) => {
		const v = ticketAccess(o, p, { grantPending, now: NOW });
		return [p.id, v.access, v.reason];
	});
}

describe('ticket access, as pretix decides it', () => {
	test('paid order: every position grants access (status p)', () => {
		expect(verdicts(order('ABC3K'))).toEqual([[5001, 'granted', 'paid']]);
	});

	test('unpaid order: pending, never revoked — unless the organizer lets unpaid orders count (status n)', () => {
		expect(verdicts(order('B7NQX'))).toEqual([[5002, 'pending', 'awaitingPayment']]);
		expect(verdicts(order('B7NQX'), true)).toEqual([[5002, 'granted', 'pendingAccepted']]);
	});

	test('awaiting approval: pending even when unpaid orders count (n + require_approval)', () => {
		const o = order('B7NQX', (x) => (x.require_approval = true));
		expect(verdicts(o, true)).toEqual([[5002, 'pending', 'awaitingApproval']]);
	});

	test('valid_if_pending: treated like paid, as pretix does for check-in (n + valid_if_pending)', () => {
		const o = order('B7NQX', (x) => (x.valid_if_pending = true));
		expect(verdicts(o)).toEqual([[5002, 'granted', 'validIfPending']]);
	});

	test('canceled order revokes; with require_approval it was denied (status c)', () => {
		expect(verdicts(order('C8RTW'))).toEqual([[5003, 'revoked', 'orderCanceled']]);
		expect(verdicts(order('C8RTW', (x) => (x.require_approval = true)))).toEqual([[5003, 'revoked', 'approvalDenied']]);
	});

	test('expired order revokes (status e)', () => {
		expect(verdicts(order('Q9LTR'))).toEqual([[5019, 'revoked', 'orderExpired']]);
	});

	test('one position canceled inside a paid order: only that ticket is revoked (position canceled)', () => {
		expect(verdicts(order('D9HLM'))).toEqual([
			[5004, 'granted', 'paid'],
			[5005, 'revoked', 'positionCanceled'],
		]);
	});

	test('canceled with a fee: order stays paid, every position canceled, so every ticket is revoked', () => {
		const o = order('E3PZV', (x) => x.positions.forEach((p) => (p.canceled = true)));
		expect(o.status).toBe('p');
		expect(verdicts(o).map(([, access, reason]) => [access, reason])).toEqual(o.positions.map(() => ['revoked', 'positionCanceled']));
	});

	test('a blocked ticket is revoked; an empty block list is no block (position blocked)', () => {
		expect(verdicts(order('ABC3K', (x) => (x.positions[0].blocked = ['admin'])))).toEqual([[5001, 'revoked', 'ticketBlocked']]);
		expect(verdicts(order('ABC3K', (x) => (x.positions[0].blocked = [])))).toEqual([[5001, 'granted', 'paid']]);
		expect(verdicts(order('ABC3K', (x) => (x.positions[0].blocked = null)))).toEqual([[5001, 'granted', 'paid']]);
	});

	test('validity window: not yet valid is pending, past its end is revoked (valid_from / valid_until)', () => {
		expect(verdicts(order('ABC3K', (x) => (x.positions[0].valid_from = '2026-06-11T00:00:00Z')))).toEqual([[5001, 'pending', 'notYetValid']]);
		expect(verdicts(order('ABC3K', (x) => (x.positions[0].valid_until = '2026-06-09T00:00:00Z')))).toEqual([[5001, 'revoked', 'validityEnded']]);
		expect(verdicts(order('ABC3K', (x) => Object.assign(x.positions[0], { valid_from: '2026-06-01T00:00:00Z', valid_until: '2026-06-30T00:00:00Z' })))).toEqual([[5001, 'granted', 'paid']]);
	});

	test('test-mode orders grant nothing and revoke nothing, even canceled ones', () => {
		expect(verdicts(order('ABC3K', (x) => (x.testmode = true)))).toEqual([[5001, 'pending', 'testMode']]);
		expect(verdicts(order('C8RTW', (x) => (x.testmode = true)))).toEqual([[5003, 'pending', 'testMode']]);
	});

	test('add-ons follow their parent: canceled or blocked parent takes the add-on away; a missing parent grants nothing', () => {
		expect(verdicts(order('E3PZV')).find(([id]) => id === 5009)).toEqual([5009, 'granted', 'paid']);
		const parentCanceled = order('E3PZV', (x) => (x.positions.find((p) => p.id === 5006)!.canceled = true));
		expect(verdicts(parentCanceled).find(([id]) => id === 5009)).toEqual([5009, 'revoked', 'parentWithoutAccess']);
		const orphan = order('E3PZV', (x) => (x.positions = x.positions.filter((p) => p.id !== 5006)));
		expect(verdicts(orphan).find(([id]) => id === 5009)).toEqual([5009, 'pending', 'parentWithoutAccess']);
	});

	test('odd data never revokes: unknown status, missing status', () => {
		expect(verdicts(order('ABC3K', (x) => (x.status = 'r')))).toEqual([[5001, 'pending', 'unknownStatus']]);
		expect(verdicts(order('ABC3K', (x) => delete (x as Partial<PretixOrder>).status))).toEqual([[5001, 'pending', 'unknownStatus']]);
		// A canceled position of an order whose status is unknown: still nobody is removed.
		expect(verdicts(order('D9HLM', (x) => (x.status = 'x')))).toEqual([
			[5004, 'pending', 'unknownStatus'],
			[5005, 'pending', 'unknownStatus'],
		]);
	});

	test('extractAttendees carries the verdict; without includeInactive only granted tickets come out', () => {
		const all = orders.flatMap((o) => extractAttendees(o, { organizer: 'exampleorg', event: 'summit26' }, { includeInactive: true, now: NOW }).attendees);
		const byPosition = new Map(all.map((a) => [a.positionId, [a.access, a.accessReason]]));
		expect(byPosition.get(5002)).toEqual(['pending', 'awaitingPayment']);
		expect(byPosition.get(5003)).toEqual(['revoked', 'orderCanceled']);
		expect(byPosition.get(5005)).toEqual(['revoked', 'positionCanceled']);
		expect(byPosition.get(5019)).toEqual(['revoked', 'orderExpired']);
		const granted = orders.flatMap((o) => extractAttendees(o, { organizer: 'exampleorg', event: 'summit26' }, { now: NOW }).attendees);
		expect(granted.every((a) => a.access === 'granted')).toBe(true);
		expect(granted).toHaveLength(all.filter((a) => a.access === 'granted').length);
	});

	test('a position with garbage fields is counted, never turned into a verdict', () => {
		const o = order('ABC3K', (x) => (x.positions = [null as unknown as PretixPosition, { ...x.positions[0] }]));
		const result = extractAttendees(o, { organizer: 'exampleorg', event: 'summit26' }, { includeInactive: true, now: NOW });
		expect(result.malformed).toBe(1);
		expect(result.attendees.map((a) => a.access)).toEqual(['granted']);
	});
});
