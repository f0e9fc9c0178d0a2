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
	answers?: PretixAnswer[];
	[key: string]: unknown;
}

export interface PretixOrder {
	code: string;
	event?: string;
	status: string;
	testmode: boolean;
	email?: string | null;
	last_modified?: string;
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
