/**
 * `includeInactive`: attendees who lost their ticket come out marked, so a workflow can revoke their
 * invites (canceled and expired orders, canceled positions, orders in an unselected status).
 */
import { readFixture } from '../../fakes/pretix';
import { extractAttendees, type Attendee, type PretixOrder } from '../../../lib/pretix';

const orders: PretixOrder[] = [
	...readFixture<{ results: PretixOrder[] }>('orders-page-1.json').results,
	...readFixture<{ results: PretixOrder[] }>('orders-page-2.json').results,
];

function byCode(code: string): PretixOrder {
	const order = orders.find((o) => o.code === code);
	if (!order) throw new Error(`fixture order ${code} missing`);
	return order;
}

function extract(code: string, includeInactive = true): Attendee[] {
	return extractAttendees(byCode(code), { organizer: 'exampleorg', event: 'summit26' }, { includeInactive }).attendees;
}

describe('inactive attendees', () => {
	test('a canceled order yields its attendees as inactive (orderCanceled)', () => {
		expect(extract('C8RTW').map((a) => [a.matrixId, a.active, a.inactiveReason])).toEqual([['@carol:example.org', false, 'orderCanceled']]);
		expect(extract('C8RTW', false)).toEqual([]);
	});

	test('an expired order yields orderExpired', () => {
		expect(extract('Q9LTR').map((a) => [a.active, a.inactiveReason])).toEqual([[false, 'orderExpired']]);
	});

	test('a canceled position inside a paid order is inactive, its sibling stays active', () => {
		const attendees = extract('D9HLM');
		expect(attendees.map((a) => [a.matrixId, a.active, a.inactiveReason])).toEqual([
			['@dave:example.org', true, null],
			['@erin:example.org', false, 'positionCanceled'],
		]);
		expect(extract('D9HLM', false).map((a) => a.matrixId)).toEqual(['@dave:example.org']);
	});

	test('a pending order is inactive unless pending is a selected status', () => {
		expect(extract('B7NQX').map((a) => [a.active, a.inactiveReason])).toEqual([[false, 'orderNotSelected']]);
		const withPending = extractAttendees(byCode('B7NQX'), { organizer: 'exampleorg', event: 'summit26' }, { includeInactive: true, statuses: ['p', 'n'] }).attendees;
		expect(withPending.map((a) => [a.active, a.inactiveReason])).toEqual([[true, null]]);
	});

	test('paid orders are active and without the option carry no active field', () => {
		expect(extract('ABC3K').map((a) => [a.active, a.inactiveReason])).toEqual([[true, null]]);
		expect(extract('ABC3K', false)[0]).not.toHaveProperty('active');
	});
});
