import type { PretixClient } from './client';
import type { PretixEvent, PretixSubEvent } from './types';

/**
 * When an event is over, for the purge. A plain event ends at `date_to` (or `date_from`). An event
 * series (`has_subevents`) has `date_to: null` itself: it ends with its last date, so it is read from
 * the series' dates (`/subevents/`); a series without dates is not over. One date of a series ends
 * with that date.
 */
export async function eventEndsAt(client: PretixClient, organizer: string, event: PretixEvent, subevent?: number): Promise<string | null> {
	if (subevent !== undefined) return endOf(await client.subEvent(organizer, event.slug, subevent));
	if (event.has_subevents !== true) return endOf(event);
	const dates = await client.subEvents(organizer, event.slug);
	let last: { iso: string; ms: number } | null = null;
	for (const date of dates) {
		const iso = endOf(date);
		const ms = iso === null ? NaN : Date.parse(iso);
		if (Number.isNaN(ms)) continue;
		if (!last || ms > last.ms) last = { iso: iso as string, ms };
	}
	return last?.iso ?? null;
}

function endOf(value: Pick<PretixEvent | PretixSubEvent, 'date_from' | 'date_to'>): string | null {
	const end = value.date_to ?? value.date_from;
	return typeof end === 'string' && end !== '' ? end : null;
}
