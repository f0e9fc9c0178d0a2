import type { PretixOrder, PretixPosition } from './types';

/**
 * The one rule for "this ticket grants access now", used by every node and template.
 *
 * Three answers, because the difference between "not yet" and "no longer" decides whether anybody
 * may be removed from a room:
 *   granted  — invite the ticket's Matrix ID;
 *   pending  — nothing happens: no invite, and never a revocation (unpaid, awaiting approval, test
 *              mode, not valid yet, a status this package does not know);
 *   revoked  — the ticket no longer grants access: withdraw what it granted.
 *
 * pretix's own rules (src/pretix/base/models/orders.py, doc/api/guides/order_lifecycle.rst,
 * src/pretix/base/services/checkin.py for blocked and the validity window):
 *   - `p` is paid (also free orders and "canceled with a fee", where every position is canceled);
 *   - `n` is pending; with `require_approval` it awaits the organizer's approval (never valid); with
 *     `valid_if_pending` pretix treats it like a paid order;
 *   - `e` expired, `c` canceled (with `require_approval`: the approval was denied);
 *   - positions canceled one by one keep the order's status and carry `canceled: true`;
 *   - `blocked` (a list of reasons) makes a ticket unusable; `valid_from`/`valid_until` bound it;
 *   - add-ons are canceled with their parent, and an add-on without its parent grants nothing.
 */
export type Access = 'granted' | 'pending' | 'revoked';

export type AccessReason =
	| 'paid'
	| 'validIfPending'
	| 'pendingAccepted'
	| 'awaitingPayment'
	| 'awaitingApproval'
	| 'testMode'
	| 'unknownStatus'
	| 'notYetValid'
	| 'orderCanceled'
	| 'approvalDenied'
	| 'orderExpired'
	| 'positionCanceled'
	| 'ticketBlocked'
	| 'validityEnded'
	| 'parentWithoutAccess';

export interface AccessVerdict {
	access: Access;
	reason: AccessReason;
}

export interface AccessOptions {
	/**
	 * Treat unpaid (pending) orders as valid, e.g. for invoice payment. Orders awaiting approval
	 * never count, whatever this says.
	 */
	grantPending?: boolean;
	/** The time the validity window is compared with (ms since epoch). Default: now. */
	now?: number;
}

function orderVerdict(order: PretixOrder, options: AccessOptions): AccessVerdict {
	if (order.testmode === true) return { access: 'pending', reason: 'testMode' };
	switch (order.status) {
		case 'p':
			return { access: 'granted', reason: 'paid' };
		case 'n':
			if (order.require_approval === true) return { access: 'pending', reason: 'awaitingApproval' };
			if (order.valid_if_pending === true) return { access: 'granted', reason: 'validIfPending' };
			return options.grantPending
				? { access: 'granted', reason: 'pendingAccepted' }
				: { access: 'pending', reason: 'awaitingPayment' };
		case 'c':
			return {
				access: 'revoked',
				reason: order.require_approval === true ? 'approvalDenied' : 'orderCanceled',
			};
		case 'e':
			return { access: 'revoked', reason: 'orderExpired' };
		default:
			return { access: 'pending', reason: 'unknownStatus' };
	}
}

function timeOf(value: unknown): number | undefined {
	if (typeof value !== 'string' || value === '') return undefined;
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? undefined : ms;
}

/** The verdict for one position, ignoring its parent (see `ticketAccess` for add-ons). */
function ownVerdict(order: PretixOrder, position: PretixPosition, options: AccessOptions): AccessVerdict {
	const verdict = orderVerdict(order, options);
	// A test-mode order or an unknown status says nothing about its positions: nobody is removed.
	if (verdict.reason === 'testMode' || verdict.reason === 'unknownStatus') return verdict;
	if (position.canceled === true) return { access: 'revoked', reason: 'positionCanceled' };
	if (verdict.access !== 'granted') return verdict;
	if (Array.isArray(position.blocked) && position.blocked.length > 0) return { access: 'revoked', reason: 'ticketBlocked' };
	const now = options.now ?? Date.now();
	const from = timeOf(position.valid_from);
	if (from !== undefined && from > now) return { access: 'pending', reason: 'notYetValid' };
	const until = timeOf(position.valid_until);
	if (until !== undefined && until < now) return { access: 'revoked', reason: 'validityEnded' };
	return verdict;
}

/**
 * Whether `position` of `order` grants access now. An add-on takes the weaker of its own verdict
 * and its parent's: a canceled or blocked parent takes the add-on's room away too, and an add-on
 * whose parent is missing from the order grants nothing (`pending`, so nobody is removed on
 * incomplete data).
 */
export function ticketAccess(order: PretixOrder, position: PretixPosition, options: AccessOptions = {}): AccessVerdict {
	const own = ownVerdict(order, position, options);
	const parentId = position.addon_to;
	if (parentId === null || parentId === undefined || own.access !== 'granted') return own;
	const parent = Array.isArray(order.positions) ? order.positions.find((p) => p && p.id === parentId) : undefined;
	if (!parent) return { access: 'pending', reason: 'parentWithoutAccess' };
	const parentVerdict = ownVerdict(order, parent, options);
	if (parentVerdict.access === 'granted') return own;
	return { access: parentVerdict.access, reason: 'parentWithoutAccess' };
}
