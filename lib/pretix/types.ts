/** The parts of pretix's API objects this package reads. pretix adds fields freely; we ignore the rest. */
export interface PretixPage<T> {
	count: number;
	next: string | null;
	previous: string | null;
	results: T[];
}

export interface PretixOrganizer {
	slug: string;
	name: string;
	public_url?: string;
}

export interface PretixEvent {
	slug: string;
	name: Record<string, string> | string;
	live?: boolean;
	testmode?: boolean;
	date_from?: string | null;
	date_to?: string | null;
	presale_start?: string | null;
	presale_end?: string | null;
	has_subevents?: boolean;
	timezone?: string;
	public_url?: string;
	[key: string]: unknown;
}

/**
 * One date of an event series (`has_subevents: true`): `GET /organizers/{o}/events/{e}/subevents/{id}/`
 * (`src/pretix/api/serializers/event.py` SubEventSerializer). Order positions point at it with
 * `subevent`. `date_to` may be null (then the date ends when it starts, for pretix's date filters).
 */
export interface PretixSubEvent {
	id: number;
	name: Record<string, string> | string;
	/** Slug of the series this date belongs to. */
	event: string;
	active: boolean;
	is_public?: boolean;
	date_from: string;
	date_to: string | null;
	date_admission?: string | null;
	presale_start?: string | null;
	presale_end?: string | null;
	location?: Record<string, string> | string | null;
	last_modified?: string;
	[key: string]: unknown;
}

export interface PretixQuestion {
	id: number;
	identifier: string;
	type: string;
	items: number[];
	[key: string]: unknown;
}

export interface PretixAnswer {
	question: number;
	answer: string;
	question_identifier: string;
	options?: number[];
	option_identifiers?: string[];
}

export interface PretixPosition {
	id: number;
	order?: string;
	positionid: number;
	canceled?: boolean;
	item: number;
	variation: number | null;
	attendee_name?: string | null;
	attendee_email?: string | null;
	addon_to: number | null;
	subevent?: number | null;
	/** Reasons the ticket is blocked (e.g. `["admin"]`), or null; a blocked ticket is not valid. */
	blocked?: string[] | null;
	/** Validity window of the ticket (ISO datetimes), or null for "no limit". */
	valid_from?: string | null;
	valid_until?: string | null;
	answers?: PretixAnswer[];
	[key: string]: unknown;
}

export interface PretixOrder {
	code: string;
	event?: string;
	status: string;
	testmode: boolean;
	email?: string | null;
	/** Creation time; the orders list is ordered by it and it never changes. */
	datetime?: string;
	last_modified?: string;
	/** With status `n`: waiting for the organizer's approval (with `c`: denied). */
	require_approval?: boolean;
	/** pretix treats a pending order with this flag like a paid one (e.g. for check-in). */
	valid_if_pending?: boolean;
	positions: PretixPosition[];
	[key: string]: unknown;
}

export interface PretixWebhook {
	id: number;
	enabled: boolean;
	target_url: string;
	all_events: boolean;
	limit_events: string[];
	action_types: string[];
	comment?: string | null;
}
