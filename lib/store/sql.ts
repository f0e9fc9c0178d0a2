import {
	addCounts,
	EMPTY_COUNTS,
	type EventCounts,
	type GrantQuery,
	type GrantRow,
	type HeldRow,
	type Transition,
	type MappingFilter,
	type Outcome,
	type PersonHashes,
	type RowState,
} from './types';

/** Pieces shared by the two SQL backends (sqlite.ts, postgres.ts). */

export interface GroupRow {
	event: string;
	state: string;
	outcome: string | null;
	n: number | string;
}

/** Summary rows keep these counts only; pending rows that are purged are no longer pending. */
export const SUMMARY_COLUMNS = ['seen', 'invited', 'accepted', 'invalid', 'failed', 'withdrawn'] as const;

/** Aggregates grouped rows per event (for the summary table). */
export function foldGroups(groups: GroupRow[]): Map<string, EventCounts> {
	const perEvent = new Map<string, EventCounts>();
	for (const group of groups) {
		let counts = perEvent.get(group.event);
		if (!counts) perEvent.set(group.event, (counts = { ...EMPTY_COUNTS }));
		const n = Number(group.n);
		const one: EventCounts = { ...EMPTY_COUNTS };
		one.seen = n;
		if (group.state === 'claimed') one.pending = n;
		if (group.outcome === 'invited' || group.outcome === 'accepted') one.invited = n;
		if (group.outcome === 'accepted') one.accepted = n;
		if (group.outcome === 'invalid') one.invalid = n;
		if (group.outcome === 'failed') one.failed = n;
		if (group.outcome === 'withdrawn') one.withdrawn = n;
		addCounts(counts, one);
	}
	return perEvent;
}

export const STATS_SELECT = `count(*) AS seen,
	coalesce(sum(CASE WHEN state = 'claimed' THEN 1 ELSE 0 END), 0) AS pending,
	coalesce(sum(CASE WHEN outcome IN ('invited', 'accepted') THEN 1 ELSE 0 END), 0) AS invited,
	coalesce(sum(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END), 0) AS accepted,
	coalesce(sum(CASE WHEN outcome = 'invalid' THEN 1 ELSE 0 END), 0) AS invalid,
	coalesce(sum(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
	coalesce(sum(CASE WHEN outcome = 'withdrawn' THEN 1 ELSE 0 END), 0) AS withdrawn`;

export interface LedgerRowRecord {
	event: string;
	scope: string;
	subject: string;
	mxid: string | null;
	ord: string | null;
	ticket?: string | null;
	sealed?: string | null;
	lease_until?: number | string;
	state: string;
	outcome: string | null;
	reason: string | null;
	attempts: number | string;
	created_at: number | string;
	updated_at: number | string;
	expires_at: number | string | null;
}

export function toHeldRow(row: LedgerRowRecord, person: PersonHashes): HeldRow {
	const matchedBy: HeldRow['matchedBy'] = [];
	if (row.mxid !== null && person.mxid.includes(row.mxid)) matchedBy.push('matrixId');
	if (row.ord !== null && person.order.includes(row.ord)) matchedBy.push('orderCode');
	if (person.subject.includes(row.subject)) matchedBy.push('subject');
	return {
		event: row.event,
		scope: row.scope,
		state: row.state as RowState,
		outcome: row.outcome as Outcome | null,
		reason: row.reason,
		attempts: Number(row.attempts),
		createdAt: Number(row.created_at),
		updatedAt: Number(row.updated_at),
		expiresAt: row.expires_at === null ? null : Number(row.expires_at),
		matchedBy,
	};
}

/** WHERE clause for mapping filters; `param(i)` renders the i-th placeholder. */
export function mappingWhere(
	filter: MappingFilter,
	param: (index: number) => string,
): { sql: string; values: string[] } {
	const clauses: string[] = [];
	const values: string[] = [];
	const add = (column: string, value: string) => {
		values.push(value);
		clauses.push(`${column} = ${param(values.length)}`);
	};
	if (filter.room !== undefined) add('room', filter.room);
	if (filter.event !== undefined) add('event', filter.event);
	if (filter.item !== undefined) add('item', filter.item ?? '');
	if (filter.variation !== undefined) add('variation', filter.variation ?? '');
	return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

export function toGrantRow(row: LedgerRowRecord): GrantRow {
	return {
		event: row.event,
		scope: row.scope,
		subject: row.subject,
		ticket: row.ticket ?? null,
		mxid: row.mxid,
		order: row.ord,
		sealed: row.sealed ?? null,
		state: row.state as RowState,
		outcome: row.outcome as Outcome | null,
		reason: row.reason,
		leaseUntil: Number(row.lease_until ?? 0),
		updatedAt: Number(row.updated_at),
	};
}

/** WHERE clause (without the keyword) for a grants query; `param(i)` renders the i-th placeholder. */
export function grantWhere(
	query: GrantQuery,
	param: (index: number) => string,
	list: (index: number, count: number) => string,
): { sql: string; values: string[] } {
	const clauses: string[] = [];
	const values: string[] = [];
	const add = (column: string, value: string) => {
		values.push(value);
		clauses.push(`${column} = ${param(values.length)}`);
	};
	if (query.event !== undefined) add('event', query.event);
	if (query.scope !== undefined) add('scope', query.scope);
	if (query.mxid !== undefined) add('mxid', query.mxid);
	if (query.tickets !== undefined) {
		if (query.tickets.length === 0) clauses.push('1 = 0');
		else {
			const first = values.length + 1;
			values.push(...query.tickets);
			clauses.push(`ticket IN (${list(first, query.tickets.length)})`);
		}
	}
	return { sql: clauses.length ? clauses.join(' AND ') : '1 = 1', values };
}

/** SQL condition for a Transition's source rows (the caller binds states/outcomes as text). */
export function transitionFrom(transition: Transition): { states: string[]; outcomes: string[] | null; nullOutcome: boolean } {
	const outcomes = transition.fromOutcomes;
	return {
		states: transition.fromStates,
		outcomes: outcomes ? (outcomes.filter((o) => o !== null) as string[]) : null,
		nullOutcome: outcomes ? outcomes.includes(null) : false,
	};
}

/**
 * Escapes LIKE wildcards, with `!` as the escape character (`ESCAPE '!'`). Mappings of one date of
 * an event series are stored under `<organizer>/<event>/<date id>`; the event's purge removes them
 * with `event LIKE '<organizer>/<event>/%'`.
 */
export function likeEscape(value: string): string {
	return value.replace(/[!%_]/g, (c) => `!${c}`);
}
