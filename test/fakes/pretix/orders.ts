import { isoToUs, type Json } from './state';
import type { OrderingSpec } from './paging';

/**
 * The orders list and detail of pretix: `src/pretix/api/views/order.py` (`OrderFilter`,
 * `OrderViewSetMixin.get_queryset`/`_positions_prefetch`/`list`) and
 * `src/pretix/api/serializers/order.py` (`OrderSerializer`).
 */

/** `OrderViewSetMixin.ordering` / `ordering_fields`; `Order.code` is not unique (per event only), so `-pk` is always appended. */
export const ORDER_ORDERING: OrderingSpec = {
	fields: { datetime: 'datetime', code: 'string', status: 'string', last_modified: 'datetime', cancellation_date: 'datetime' },
	default: ['datetime'],
	totalOrdering: true,
};

export class QueryError {
	constructor(readonly body: Record<string, string[]>) {}
}

/** django-filter's BooleanFilter (BooleanWidget) spellings; anything else means "no filter". */
export function parseBool(value: string | null): boolean | undefined {
	if (value === null) return undefined;
	// django-filter's BooleanWidget.value_from_datadict lower-cases the value first.
	const lowered = value.toLowerCase();
	if (lowered === 'true' || lowered === '1') return true;
	if (lowered === 'false' || lowered === '0') return false;
	return undefined;
}

function dateParam(q: URLSearchParams, name: string): number | undefined {
	const raw = q.get(name);
	if (raw === null) return undefined;
	const us = isoToUs(raw);
	if (us === undefined) throw new QueryError({ [name]: ['Enter a valid date/time.'] });
	return us;
}

/** Sub-event dates the `subevent_after` / `subevent_before` filters compare with. */
export interface SubEventDates {
	id: number;
	date_from: string;
	date_to: string | null;
}

/**
 * `OrderFilter` applied to a list of orders. The position-based filters (`item`, `variation`,
 * `subevent`, `subevent_after`, `subevent_before`) look at `all_positions` / `OrderPosition.all`, so
 * an order matches even when the only matching position is canceled (pretix's docs warn about it).
 */
export function filterOrders(source: Json[], q: URLSearchParams, subevents: SubEventDates[]): Json[] {
	let list = [...source];
	const modifiedSince = dateParam(q, 'modified_since');
	if (modifiedSince !== undefined) list = list.filter((order) => (isoToUs(order.last_modified) ?? 0) >= modifiedSince);
	const createdSince = dateParam(q, 'created_since');
	if (createdSince !== undefined) list = list.filter((order) => (isoToUs(order.datetime) ?? 0) >= createdSince);
	const createdBefore = dateParam(q, 'created_before');
	if (createdBefore !== undefined) list = list.filter((order) => (isoToUs(order.datetime) ?? 0) < createdBefore);
	// `code`, `status`, `email`: lookup_expr='iexact'; `locale` comes from Meta.fields (exact).
	for (const field of ['status', 'code', 'email'] as const) {
		const value = q.get(field);
		if (value !== null) list = list.filter((order) => String(order[field] ?? '').toLowerCase() === value.toLowerCase());
	}
	const locale = q.get('locale');
	if (locale !== null) list = list.filter((order) => order.locale === locale);
	for (const field of ['testmode', 'require_approval'] as const) {
		const value = parseBool(q.get(field));
		if (value !== undefined) list = list.filter((order) => Boolean(order[field]) === value);
	}
	for (const field of ['item', 'variation', 'subevent'] as const) {
		const value = q.get(field);
		if (value !== null) list = list.filter((order) => (order.positions as Json[]).some((p) => String(p[field]) === value));
	}
	// subevent_after_qs: date_to > value, or date_from > value when there is no date_to (exclusive).
	const after = dateParam(q, 'subevent_after');
	if (after !== undefined) {
		const ids = new Set(subevents.filter((s) => (s.date_to !== null ? (isoToUs(s.date_to) ?? 0) > after : (isoToUs(s.date_from) ?? 0) > after)).map((s) => s.id));
		list = list.filter((order) => (order.positions as Json[]).some((p) => ids.has(p.subevent)));
	}
	// subevent_before_qs: date_from < value (exclusive).
	const before = dateParam(q, 'subevent_before');
	if (before !== undefined) {
		const ids = new Set(subevents.filter((s) => (isoToUs(s.date_from) ?? 0) < before).map((s) => s.id));
		list = list.filter((order) => (order.positions as Json[]).some((p) => ids.has(p.subevent)));
	}
	return list;
}

function flag(q: URLSearchParams, name: string): boolean {
	// `request.query_params.get(name, 'false').lower() == 'true'`
	return (q.get(name) ?? 'false').toLowerCase() === 'true';
}

/**
 * One order as the serializer renders it for this request. `_positions_prefetch` uses
 * `OrderPosition.objects` (canceled positions left out) unless `include_canceled_positions=true`
 * selects `OrderPosition.all`; `get_queryset` does the same for fees with `include_canceled_fees`.
 * A position-level cancellation also cancels the position's add-ons (OrderChangeManager.cancel), so
 * they disappear together. Fully canceled orders (`status: c`) keep their positions un-canceled.
 */
export function renderOrder(order: Json, q: URLSearchParams): Json {
	const copy = structuredClone(order);
	if (!flag(q, 'include_canceled_positions')) copy.positions = (copy.positions as Json[]).filter((p) => p.canceled !== true);
	if (Array.isArray(copy.fees) && !flag(q, 'include_canceled_fees')) copy.fees = (copy.fees as Json[]).filter((f) => f.canceled !== true);
	return copy;
}
