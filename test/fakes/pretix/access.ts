import { isoToUs, type Json } from './state';

/**
 * The test oracle for "this ticket grants access now", written independently of `lib/pretix` so
 * generated data carries the expected answer. It follows pretix's own notion of a valid ticket
 * (`Order.valid_if_pending`: "treat this order like a paid order"; `OrderPosition.blocked`;
 * `valid_from`/`valid_until`; test mode orders are never real) and the issue-11 rule:
 *
 * testmode → no; position canceled → no; order `c`/`e` → no; `n` + require_approval → no;
 * `n` + valid_if_pending → like paid; other `n` → no unless pending orders are selected; `p` → yes;
 * any other status → no; then a non-empty `blocked` → no; `valid_from` in the future → no;
 * `valid_until` in the past → no; an add-on counts only when its parent counts.
 */
export type ExpectedInactiveReason =
	| 'testmode'
	| 'positionCanceled'
	| 'orderCanceled'
	| 'orderExpired'
	| 'approvalPending'
	| 'orderPending'
	| 'unknownStatus'
	| 'blocked'
	| 'notYetValid'
	| 'noLongerValid'
	| 'parentInactive';

export interface ExpectedAccessOptions {
	/** The reference time (µs since the epoch) for validity windows. */
	nowUs: number;
	/** Whether the caller selected pending (`n`) orders as well. Default false. */
	pendingCounts?: boolean;
}

function ownReason(order: Json, position: Json, options: ExpectedAccessOptions): ExpectedInactiveReason | null {
	if (order.testmode === true) return 'testmode';
	if (position.canceled === true) return 'positionCanceled';
	const status = order.status;
	if (status === 'c') return 'orderCanceled';
	if (status === 'e') return 'orderExpired';
	if (status === 'n') {
		if (order.require_approval === true) return 'approvalPending';
		if (order.valid_if_pending !== true && !options.pendingCounts) return 'orderPending';
	} else if (status !== 'p') return 'unknownStatus';
	if (Array.isArray(position.blocked) && position.blocked.length > 0) return 'blocked';
	const from = typeof position.valid_from === 'string' ? isoToUs(position.valid_from) : undefined;
	if (from !== undefined && from > options.nowUs) return 'notYetValid';
	const until = typeof position.valid_until === 'string' ? isoToUs(position.valid_until) : undefined;
	if (until !== undefined && until < options.nowUs) return 'noLongerValid';
	return null;
}

/** Why this position grants no access (null when it does). */
export function expectedInactiveReason(order: Json, position: Json, options: ExpectedAccessOptions): ExpectedInactiveReason | null {
	const own = ownReason(order, position, options);
	if (own !== null) return own;
	if (position.addon_to !== null && position.addon_to !== undefined) {
		const parent = (order.positions as Json[]).find((p) => p.id === position.addon_to);
		if (!parent || ownReason(order, parent, options) !== null) return 'parentInactive';
	}
	return null;
}
