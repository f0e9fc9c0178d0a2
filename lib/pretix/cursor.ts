/**
 * Incremental order sync. pretix filters `last_modified >= modified_since` and tells us, in
 * `X-Page-Generated`, the server time taken before the query. The next run asks from that time minus
 * a safety margin (an order saved just before the snapshot may commit after it). Orders inside the
 * margin come back again; the cursor remembers their `last_modified` so they are not emitted twice.
 */
export interface OrderCursor {
	/** X-Page-Generated of the first page of the last run (ISO, UTC). */
	generated: string;
	/** code → last_modified of orders seen in the last run that fall inside the margin window. */
	recent: Record<string, string>;
}

export const DEFAULT_SAFETY_MARGIN_MS = 5 * 60 * 1000;
/** Bound on remembered orders per cursor, so node static data stays small. */
export const MAX_RECENT = 2000;

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
	return !!c && typeof c === 'object' && typeof c.generated === 'string' && toMs(c.generated) !== undefined && !!c.recent && typeof c.recent === 'object';
}

/** Whether an order was already emitted unchanged by the run that produced `cursor`. */
export function seenUnchanged(cursor: OrderCursor | undefined, code: string, lastModified: string | undefined): boolean {
	if (!cursor || lastModified === undefined) return false;
	return Object.prototype.hasOwnProperty.call(cursor.recent, code) && cursor.recent[code] === lastModified;
}

/**
 * The cursor to store after a run. `generated` is the first page's X-Page-Generated, or — when a
 * proxy stripped it — the local time the run started, which the margin then covers.
 */
export function nextCursor(generated: string | undefined, runStartedAt: Date, orders: Array<{ code: string; last_modified?: string }>, marginMs = DEFAULT_SAFETY_MARGIN_MS): OrderCursor {
	const at = toMs(generated) !== undefined ? (generated as string) : runStartedAt.toISOString();
	const windowStart = (toMs(at) as number) - Math.max(0, marginMs) * 2;
	const recent: Record<string, string> = {};
	const inWindow = orders.filter((o) => typeof o.code === 'string' && typeof o.last_modified === 'string' && (toMs(o.last_modified) ?? -Infinity) >= windowStart);
	inWindow.sort((a, b) => (toMs(b.last_modified) ?? 0) - (toMs(a.last_modified) ?? 0));
	for (const order of inWindow.slice(0, MAX_RECENT)) recent[order.code] = order.last_modified as string;
	return { generated: at, recent };
}
