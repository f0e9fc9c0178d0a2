/**
 * Incremental order sync. pretix filters `last_modified >= modified_since` and tells us, in
 * `X-Page-Generated`, the server time taken before the query. The next run asks from that time minus
 * a safety margin (an order saved just before the snapshot may commit after it). Orders inside the
 * margin come back again and are emitted again: everything downstream is idempotent (the ledger
 * plans each ticket once), and the cursor holds no order codes, so node static data holds nothing
 * personal.
 */
export interface OrderCursor {
	/** X-Page-Generated of the first page of the last run (ISO, UTC). */
	generated: string;
}

export const DEFAULT_SAFETY_MARGIN_MS = 5 * 60 * 1000;

export function cursorKey(instanceUrl: string, organizer: string, event: string): string {
	let host = instanceUrl;
	try {
		host = new URL(instanceUrl).host;
	} catch {
		// keep as given
	}
	return `${host}/${organizer}/${event}`;
}

/**
 * Microseconds since the epoch from a pretix datetime (ISO 8601 with up to six fraction digits and
 * `Z` or an offset). pretix keeps microseconds; Date.parse would cut them to milliseconds, and two
 * orders placed within the same millisecond must still compare correctly.
 */
export function isoToMicros(iso: unknown): number | undefined {
	if (typeof iso !== 'string') return undefined;
	const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(iso.trim());
	if (!m) return undefined;
	const [, date, hh, mm, ss = '00', fraction = '', zone = 'Z'] = m;
	let offset = 'Z';
	if (zone.toUpperCase() !== 'Z') {
		const digits = zone.replace(':', '');
		offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
	}
	const ms = Date.parse(`${date}T${hh}:${mm}:${ss}${offset}`);
	if (Number.isNaN(ms)) return undefined;
	return ms * 1000 + Number(fraction.padEnd(6, '0'));
}

function toMs(iso: string | undefined): number | undefined {
	if (typeof iso !== 'string') return undefined;
	const ms = Date.parse(iso);
	return Number.isNaN(ms) ? undefined : ms;
}

/** ISO timestamp with microseconds kept when there is no margin, else millisecond precision. */
export function modifiedSince(cursor: OrderCursor | undefined, marginMs = DEFAULT_SAFETY_MARGIN_MS): string | undefined {
	if (!cursor) return undefined;
	const ms = toMs(cursor.generated);
	if (ms === undefined) return undefined;
	return new Date(ms - Math.max(0, marginMs)).toISOString();
}

export function isValidCursor(value: unknown): value is OrderCursor {
	const c = value as OrderCursor;
	return !!c && typeof c === 'object' && typeof c.generated === 'string' && toMs(c.generated) !== undefined;
}

/**
 * The cursor to store after a run: the first page's X-Page-Generated, or — when a proxy stripped it
 * — the local time the run started, which the margin then covers.
 */
export function nextCursor(generated: string | undefined, runStartedAt: Date): OrderCursor {
	return { generated: toMs(generated) !== undefined ? (generated as string) : runStartedAt.toISOString() };
}
