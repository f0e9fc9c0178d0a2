import { extractAttendees, type Attendee, type AttendeeOptions } from './attendees';
import type { PretixClient } from './client';
import { modifiedSince, nextCursor, DEFAULT_SAFETY_MARGIN_MS, type OrderCursor } from './cursor';
import type { PretixOrder } from './types';

export interface FetchAttendeesOptions extends AttendeeOptions {
	organizer: string;
	event: string;
	/** Only orders with a position in this date of an event series (sent to pretix as `subevent`). */
	subevent?: number;
	/** Incremental mode: only orders modified since the cursor (none = full fetch, cursor returned). */
	incremental?: { cursor?: OrderCursor; marginMs?: number };
	/** Stop early after this many attendees (the cursor is then not advanced). */
	limit?: number;
}

export interface FetchAttendeesResult {
	attendees: Attendee[];
	/** Orders received from pretix (each counted once, however often the paging returned it). */
	orders: number;
	/** Unusable order/position objects (counted, skipped). */
	malformed: number;
	/** The cursor to store for the next incremental run (undefined when not incremental or cut short). */
	cursor?: OrderCursor;
}

interface SeenOrder {
	lastModified?: string;
	attendees: Attendee[];
	malformed: number;
}

/**
 * The attendees of an event (or those of orders changed since the cursor).
 *
 * Nothing that can change during the fetch is filtered by pretix: no `status` (an order paid,
 * canceled or expired between two pages would leave the set and shift the next page — and in
 * incremental mode its `last_modified` would already be older than the next cursor, so it would
 * never come back), no `item`. Every order comes with its canceled positions and
 * `extractAttendees` decides, with the caller's options, what each ticket grants. The paging itself
 * is keyed on `datetime` (see PretixClient.orderPages); an order that shows up again with a newer
 * `last_modified` replaces what its earlier copy produced.
 */
export async function fetchAttendees(client: PretixClient, options: FetchAttendeesOptions): Promise<FetchAttendeesResult> {
	const startedAt = new Date();
	const margin = options.incremental?.marginMs ?? DEFAULT_SAFETY_MARGIN_MS;
	const cursor = options.incremental?.cursor;
	const result: FetchAttendeesResult = { attendees: [], orders: 0, malformed: 0 };
	const context = { organizer: options.organizer, event: options.event };
	let generated: string | undefined;
	const byCode = new Map<string, SeenOrder>();
	const unnamed: SeenOrder[] = [];
	let attendeeCount = 0;
	let cut = false;
	const pages = client.orderPages(options.organizer, options.event, {
		testmode: false,
		includeCanceledPositions: true,
		subevent: options.subevent,
		modifiedSince: options.incremental ? modifiedSince(cursor, margin) : undefined,
	});
	for await (const page of pages) {
		if (page.index === 0) generated = page.generated;
		for (const order of page.results as Array<PretixOrder | null | undefined>) {
			const code = order && typeof order.code === 'string' ? order.code : undefined;
			const lastModified = order && typeof order.last_modified === 'string' ? order.last_modified : undefined;
			const previous = code === undefined ? undefined : byCode.get(code);
			if (previous && previous.lastModified === lastModified) continue;
			if (!previous) result.orders++;
			const extracted = extractAttendees(order as PretixOrder, context, options);
			const seen: SeenOrder = { lastModified, attendees: extracted.attendees, malformed: extracted.malformed };
			attendeeCount += seen.attendees.length - (previous?.attendees.length ?? 0);
			if (code === undefined) unnamed.push(seen);
			else byCode.set(code, seen);
		}
		if (options.limit !== undefined && attendeeCount >= options.limit) {
			cut = true;
			break;
		}
	}
	for (const seen of [...byCode.values(), ...unnamed]) {
		result.attendees.push(...seen.attendees);
		result.malformed += seen.malformed;
	}
	if (cut) result.attendees = result.attendees.slice(0, options.limit);
	if (options.incremental && !cut) result.cursor = nextCursor(generated, startedAt);
	return result;
}

/** The attendees of one order, canceled positions included in what pretix sends (for "Order: get" and webhooks). */
export async function fetchOrderAttendees(client: PretixClient, organizer: string, event: string, code: string, options: AttendeeOptions = {}): Promise<{ attendees: Attendee[]; orderStatus: string; testmode: boolean }> {
	const order = await client.order(organizer, event, code);
	const extracted = extractAttendees(order, { organizer, event }, options);
	return { attendees: extracted.attendees, orderStatus: order.status, testmode: order.testmode === true };
}
