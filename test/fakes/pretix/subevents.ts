import { isoToUs, type Json } from './state';
import { parseBool, QueryError } from './orders';
import type { OrderingSpec } from './paging';

/**
 * Event series: `src/pretix/api/views/event.py` (`SubEventFilter`, `SubEventViewSet`: plain DRF
 * `OrderingFilter`, `ordering = ('date_from',)`, `ordering_fields = ('id', 'date_from',
 * 'last_modified')`) and the field set of `SubEventSerializer` as `src/tests/api/test_subevents.py`
 * (`TEST_SUBEVENT_RES`) shows it.
 */

export const SUBEVENT_ORDERING: OrderingSpec = {
	fields: { id: 'number', date_from: 'datetime', last_modified: 'datetime' },
	default: ['date_from'],
	totalOrdering: false,
};

/** A sub-event with every serializer field, defaults as pretix creates them. */
export function subEventResource(event: string, input: Json & { id: number; date_from: string }, nowIso: string): Json {
	return {
		name: { en: `Date ${input.id}` },
		event,
		active: true,
		is_public: true,
		date_to: null,
		date_admission: null,
		presale_start: null,
		presale_end: null,
		location: null,
		geo_lat: null,
		geo_lon: null,
		frontpage_text: null,
		seating_plan: null,
		seat_category_mapping: {},
		item_price_overrides: [],
		variation_price_overrides: [],
		comment: null,
		meta_data: {},
		last_modified: nowIso,
		...input,
	};
}

/**
 * `SubEventFilter`: `active`, `event__live`, `is_past`, `is_future` (against now), `ends_after`
 * (date_to >= value, or date_from >= value without date_to) and `modified_since` (last_modified >=).
 */
export function filterSubEvents(source: Json[], q: URLSearchParams, nowUs: number, liveOf: (event: string) => boolean): Json[] {
	let list = [...source];
	const active = parseBool(q.get('active'));
	if (active !== undefined) list = list.filter((s) => s.active === active);
	const live = parseBool(q.get('event__live'));
	if (live !== undefined) list = list.filter((s) => liveOf(String(s.event)) === live);
	const endUs = (s: Json) => isoToUs(String(s.date_to ?? s.date_from)) ?? 0;
	const isPast = (s: Json) => endUs(s) < nowUs;
	const past = parseBool(q.get('is_past'));
	if (past !== undefined) list = list.filter((s) => isPast(s) === past);
	const future = parseBool(q.get('is_future'));
	if (future !== undefined) list = list.filter((s) => !isPast(s) === future);
	const dateFilters: Array<[string, (s: Json, v: number) => boolean]> = [
		['ends_after', (s, v) => endUs(s) >= v],
		['modified_since', (s, v) => (isoToUs(String(s.last_modified)) ?? 0) >= v],
	];
	for (const [name, apply] of dateFilters) {
		const raw = q.get(name);
		if (raw === null) continue;
		const value = isoToUs(raw);
		if (value === undefined) throw new QueryError({ [name]: ['Enter a valid date/time.'] });
		list = list.filter((s) => apply(s, value));
	}
	return list;
}
