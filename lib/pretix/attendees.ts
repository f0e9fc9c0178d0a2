import { ticketAccess, type Access, type AccessReason } from './access';
import { PretixApiError } from './errors';
import type { PretixAnswer, PretixOrder, PretixPosition } from './types';

export type OrderStatus = 'n' | 'p' | 'e' | 'c';

export interface AttendeeOptions {
	/** Identifier of the Matrix ID question, compared case-insensitively. Default `matrix`. */
	questionIdentifier?: string;
	/**
	 * Order statuses whose tickets grant access: `p` always; with `n` unpaid orders count too (e.g.
	 * invoice payment). Orders awaiting approval, canceled, expired and test-mode orders never do;
	 * `valid_if_pending` orders always do (pretix treats them like paid ones).
	 */
	statuses?: OrderStatus[];
	includeName?: boolean;
	includeEmail?: boolean;
	/**
	 * Also return tickets that do not grant access now (`access` pending or revoked, with the reason),
	 * so a workflow can withdraw what a revoked ticket granted. Default: only tickets with access.
	 */
	includeInactive?: boolean;
	/** Only positions of these products (add-on positions included when they match). */
	itemIds?: number[];
	variationIds?: number[];
	/** Only positions for this date of an event series (pretix sub-event id). */
	subevent?: number;
	/** The time validity windows are compared with (ms since epoch); default now. */
	now?: number;
}

export interface Attendee {
	organizer: string;
	event: string;
	orderCode: string;
	orderStatus: string;
	positionId: number;
	/** 1-based position number inside the order. */
	positionNumber: number;
	itemId: number;
	variationId: number | null;
	subeventId: number | null;
	/** Parent position id when this is an add-on (e.g. a workshop booked with a ticket). */
	addonTo: number | null;
	/** The raw answer to the Matrix ID question (not validated), or null when not answered. */
	matrixId: string | null;
	lastModified: string | null;
	/** Whether this ticket grants access now (lib/pretix/access.ts), and why. */
	access: Access;
	accessReason: AccessReason;
	attendeeName?: string | null;
	attendeeEmail?: string | null;
	orderEmail?: string | null;
}

export interface ExtractResult {
	attendees: Attendee[];
	/** Positions (or orders) that were not usable data at all (garbage), counted, never echoed. */
	malformed: number;
}

export function answerFor(answers: unknown, identifier: string): string | null {
	if (!Array.isArray(answers)) return null;
	const wanted = identifier.toLowerCase();
	for (const answer of answers as PretixAnswer[]) {
		if (answer && typeof answer === 'object' && typeof answer.question_identifier === 'string' && answer.question_identifier.toLowerCase() === wanted) {
			return typeof answer.answer === 'string' ? answer.answer : answer.answer === null || answer.answer === undefined ? null : String(answer.answer);
		}
	}
	return null;
}

function isPosition(value: unknown): value is PretixPosition {
	const p = value as PretixPosition;
	return !!p && typeof p === 'object' && Number.isInteger(p.id) && Number.isInteger(p.item);
}

/**
 * One attendee per ticket position of an order, each with its access verdict. Add-on positions
 * (e.g. a workshop booked with a ticket) are attendees of their own — a room mapped to the add-on
 * product receives them — and carry the parent position's answer, name and e-mail when they have
 * none. Without `includeInactive` only positions that grant access now are returned.
 */
export function extractAttendees(order: PretixOrder, context: { organizer: string; event?: string }, options: AttendeeOptions = {}): ExtractResult {
	const result: ExtractResult = { attendees: [], malformed: 0 };
	if (!order || typeof order !== 'object' || typeof order.code !== 'string' || !Array.isArray(order.positions)) {
		result.malformed++;
		return result;
	}
	const accessOptions = { grantPending: (options.statuses ?? ['p']).includes('n'), now: options.now ?? Date.now() };
	const identifier = options.questionIdentifier?.trim() || 'matrix';
	const itemFilter = options.itemIds?.length ? new Set(options.itemIds) : undefined;
	const variationFilter = options.variationIds?.length ? new Set(options.variationIds) : undefined;
	const byId = new Map<number, PretixPosition>();
	for (const position of order.positions) if (isPosition(position)) byId.set(position.id, position);
	const event = context.event ?? (typeof order.event === 'string' ? order.event : '');

	for (const position of order.positions) {
		if (!isPosition(position)) {
			result.malformed++;
			continue;
		}
		const verdict = ticketAccess(order, position, accessOptions);
		if (verdict.access !== 'granted' && !options.includeInactive) continue;
		if (itemFilter && !itemFilter.has(position.item)) continue;
		if (variationFilter && (position.variation === null || !variationFilter.has(position.variation))) continue;
		if (options.subevent !== undefined && position.subevent !== options.subevent) continue;
		const isAddon = position.addon_to !== null && position.addon_to !== undefined;
		const parent = isAddon ? byId.get(position.addon_to as number) : undefined;
		const own = answerFor(position.answers, identifier);
		const attendee: Attendee = {
			organizer: context.organizer,
			event,
			orderCode: order.code,
			orderStatus: typeof order.status === 'string' ? order.status : String(order.status ?? ''),
			positionId: position.id,
			positionNumber: position.positionid,
			itemId: position.item,
			variationId: position.variation ?? null,
			subeventId: position.subevent ?? null,
			addonTo: isAddon ? (position.addon_to as number) : null,
			matrixId: own ?? (parent ? answerFor(parent.answers, identifier) : null),
			lastModified: typeof order.last_modified === 'string' ? order.last_modified : null,
			access: verdict.access,
			accessReason: verdict.reason,
		};
		if (options.includeName) attendee.attendeeName = position.attendee_name ?? parent?.attendee_name ?? null;
		if (options.includeEmail) {
			attendee.attendeeEmail = position.attendee_email ?? parent?.attendee_email ?? null;
			attendee.orderEmail = order.email ?? null;
		}
		result.attendees.push(attendee);
	}
	return result;
}

function parseIdList(value: unknown, what: string): number[] | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const parts = Array.isArray(value) ? value.map(String) : String(value).split(/[\s,;]+/);
	const ids = parts.filter(Boolean).map((part) => Number(part));
	if (ids.some((id) => !Number.isSafeInteger(id) || id <= 0)) throw new PretixApiError('invalid_input', `${what} must be a comma-separated list of positive numbers.`);
	return ids.length ? ids : undefined;
}

/** Attendee options from node parameters (the "Options" collection), validated. */
export function parseAttendeeOptions(raw: Record<string, unknown> | undefined): AttendeeOptions {
	const options = raw ?? {};
	const statuses: OrderStatus[] = Array.isArray(options.statuses) ? (options.statuses as unknown[]).filter((s): s is OrderStatus => s === 'p' || s === 'n') : ['p'];
	if (statuses.length === 0) throw new PretixApiError('invalid_input', 'Select at least one order status.');
	const identifier = typeof options.questionIdentifier === 'string' && options.questionIdentifier.trim() ? options.questionIdentifier.trim() : 'matrix';
	if (!/^[A-Za-z0-9._-]{1,190}$/.test(identifier)) {
		throw new PretixApiError('invalid_input', 'The Matrix ID question identifier may only contain letters, digits, ".", "-" and "_".');
	}
	return {
		statuses,
		questionIdentifier: identifier,
		includeName: options.includeName === true,
		includeEmail: options.includeEmail === true,
		includeInactive: options.includeInactive === true,
		itemIds: parseIdList(options.itemIds, 'Item IDs'),
		variationIds: parseIdList(options.variationIds, 'Variation IDs'),
		subevent: parseIdList(options.subevent, 'Date ID')?.[0],
	};
}
