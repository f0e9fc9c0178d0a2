import { extractAttendees, type Attendee, type AttendeeOptions } from './attendees';
import type { PretixClient } from './client';
import { modifiedSince, nextCursor, seenUnchanged, DEFAULT_SAFETY_MARGIN_MS, type OrderCursor } from './cursor';

export interface FetchAttendeesOptions extends AttendeeOptions {
	organizer: string;
	event: string;
	/** Incremental mode: only orders modified since the cursor (none = full fetch, cursor returned). */
	incremental?: { cursor?: OrderCursor; marginMs?: number };
	/** Stop early after this many attendees (the cursor is then not advanced). */
	limit?: number;
}

export interface FetchAttendeesResult {
	attendees: Attendee[];
	/** Orders received from pretix. */
	orders: number;
	/** Unusable order/position objects (counted, skipped). */
	malformed: number;
	/** Orders skipped because the previous incremental run already emitted them unchanged. */
	unchanged: number;
	/** The cursor to store for the next incremental run (undefined when not incremental or cut short). */
	cursor?: OrderCursor;
}

/** All active attendees of an event (or those changed since the cursor), following `next` links. */
export async function fetchAttendees(client: PretixClient, options: FetchAttendeesOptions): Promise<FetchAttendeesResult> {
	const startedAt = new Date();
	const statuses = (options.statuses ?? ['p']).filter((s) => s !== 'c');
	const margin = options.incremental?.marginMs ?? DEFAULT_SAFETY_MARGIN_MS;
	const cursor = options.incremental?.cursor;
	const result: FetchAttendeesResult = { attendees: [], orders: 0, malformed: 0, unchanged: 0 };
	if (statuses.length === 0) return result;
	let generated: string | undefined;
	const seen: Array<{ code: string; last_modified?: string }> = [];
	let cut = false;
	const pages = client.orderPages(options.organizer, options.event, {
		testmode: false,
		// One status can be filtered by pretix; several are filtered here.
		status: statuses.length === 1 ? statuses[0] : undefined,
		item: options.itemIds?.length === 1 ? options.itemIds[0] : undefined,
		modifiedSince: options.incremental ? modifiedSince(cursor, margin) : undefined,
	});
	for await (const page of pages) {
		if (page.index === 0) generated = page.generated;
		for (const order of page.results) {
			result.orders++;
			if (order && typeof order.code === 'string') seen.push({ code: order.code, last_modified: order.last_modified });
			if (options.incremental && seenUnchanged(cursor, order?.code, order?.last_modified)) {
				result.unchanged++;
				continue;
			}
			const extracted = extractAttendees(order, { organizer: options.organizer, event: options.event }, { ...options, statuses });
			result.malformed += extracted.malformed;
			result.attendees.push(...extracted.attendees);
		}
		if (options.limit !== undefined && result.attendees.length >= options.limit) {
			result.attendees = result.attendees.slice(0, options.limit);
			cut = true;
			break;
		}
	}
	if (options.incremental && !cut) result.cursor = nextCursor(generated, startedAt, seen, margin);
	return result;
}

/** The active attendees of one order (for "Order: get" and webhook-resolved orders). */
export async function fetchOrderAttendees(client: PretixClient, organizer: string, event: string, code: string, options: AttendeeOptions = {}): Promise<{ attendees: Attendee[]; orderStatus: string; testmode: boolean }> {
	const order = await client.order(organizer, event, code);
	const extracted = extractAttendees(order, { organizer, event }, options);
	return { attendees: extracted.attendees, orderStatus: order.status, testmode: order.testmode === true };
}
