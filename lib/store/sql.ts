import {
	addCounts,
	EMPTY_COUNTS,
	type EventCounts,
	type HeldRow,
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
export const SUMMARY_COLUMNS = ['seen', 'invited', 'accepted', 'invalid', 'failed'] as const;

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
		addCounts(counts, one);
	}
	return perEvent;
}

export const STATS_SELECT = `count(*) AS seen,
	coalesce(sum(CASE WHEN state = 'claimed' THEN 1 ELSE 0 END), 0) AS pending,
	coalesce(sum(CASE WHEN outcome IN ('invited', 'accepted') THEN 1 ELSE 0 END), 0) AS invited,
	coalesce(sum(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END), 0) AS accepted,
	coalesce(sum(CASE WHEN outcome = 'invalid' THEN 1 ELSE 0 END), 0) AS invalid,
	coalesce(sum(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0) AS failed`;

export interface LedgerRowRecord {
	event: string;
	scope: string;
	subject: string;
	mxid: string | null;
	ord: string | null;
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
