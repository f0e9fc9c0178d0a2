import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeProperties,
	type JsonObject,
} from 'n8n-workflow';

import { assertSlug, parseAttendeeOptions, PretixApiError, resolveEventUrl, resolveOrganizerUrl, type Attendee, type AttendeeOptions, type EventRef, type PretixClient } from '../../../lib/pretix';

/** Shared by both pretix nodes: which credential type signs the requests. */
export const authenticationProperty: INodeProperties = {
	displayName: 'Authentication',
	name: 'authentication',
	type: 'options',
	options: [
		{
			name: 'OAuth2 (Connect with Pretix)',
			value: 'pretixOAuth2Api',
		},
		{
			name: 'Team API Token',
			value: 'pretixApi',
		},
	],
	default: 'pretixOAuth2Api',
};

export function eventSelection(resource: string, operations: string[]): INodeProperties[] {
	const show = { resource: [resource], operation: operations };
	return [
		{
			displayName: 'Event By',
			name: 'eventBy',
			type: 'options',
			displayOptions: { show },
			options: [
				{
					name: 'Event URL',
					value: 'url',
					description: 'The shop URL of the event, e.g. https://pretix.eu/myorg/myevent/ or a custom domain',
				},
				{
					// The value predates the resource locators; kept so saved workflows keep working.
					name: 'Organizer and Event',
					value: 'slugs',
					description: 'Pick them from a list, or give their URLs or slugs',
				},
			],
			default: 'url',
		},
		{
			displayName: 'Event URL',
			name: 'eventUrl',
			type: 'string',
			displayOptions: { show: { ...show, eventBy: ['url'] } },
			default: '',
			required: true,
			placeholder: 'https://pretix.eu/myorg/myevent/',
		},
		// Not required: an event given by URL names its organizer.
		organizerLocator({ ...show, eventBy: ['slugs'] }, false),
		eventLocator({ ...show, eventBy: ['slugs'] }),
	];
}

const SLUG_PATTERN = '^\\s*[A-Za-z0-9][A-Za-z0-9._-]{0,199}\\s*$';

/**
 * Organizer as a resource locator (list, URL, slug). The name `organizer` and plain-string values
 * saved before it was a locator keep working: see locatorOf().
 */
export function organizerLocator(show: Record<string, Array<string | boolean>>, required = true): INodeProperties {
	return {
		displayName: 'Organizer',
		name: 'organizer',
		type: 'resourceLocator',
		displayOptions: { show },
		default: { mode: 'list', value: '' },
		required,
		...(required ? {} : { hint: 'Not needed when the event is given by URL' }),
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchOrganizers', searchable: true },
			},
			{
				displayName: 'By URL',
				name: 'url',
				type: 'string',
				placeholder: 'https://pretix.eu/myorg/',
				validation: [{ type: 'regex', properties: { regex: '^\\s*https?://\\S+$', errorMessage: 'Not an http(s) URL' } }],
			},
			{
				displayName: 'By Slug',
				name: 'id',
				type: 'string',
				placeholder: 'myorg',
				validation: [{ type: 'regex', properties: { regex: SLUG_PATTERN, errorMessage: 'Not a pretix slug (letters, digits, ".", "-", "_")' } }],
			},
		],
	};
}

/** Event as a resource locator (list of the chosen organizer's events, shop URL, slug). */
export function eventLocator(show: Record<string, Array<string | boolean>>): INodeProperties {
	return {
		displayName: 'Event',
		name: 'event',
		type: 'resourceLocator',
		displayOptions: { show },
		default: { mode: 'list', value: '' },
		required: true,
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchEvents', searchable: true },
			},
			{
				displayName: 'By URL',
				name: 'url',
				type: 'string',
				placeholder: 'https://pretix.eu/myorg/myevent/',
				validation: [{ type: 'regex', properties: { regex: '^\\s*https?://\\S+$', errorMessage: 'Not an http(s) URL' } }],
			},
			{
				displayName: 'By Slug',
				name: 'id',
				type: 'string',
				placeholder: 'myevent',
				validation: [{ type: 'regex', properties: { regex: SLUG_PATTERN, errorMessage: 'Not a pretix slug (letters, digits, ".", "-", "_")' } }],
			},
		],
	};
}

/** A resource-locator value, or a plain string (parameters saved before they were locators) as a slug. */
export function locatorOf(value: unknown): { mode: string; value: string } {
	if (value && typeof value === 'object' && 'value' in value) {
		const locator = value as { mode?: unknown; value?: unknown };
		return { mode: typeof locator.mode === 'string' ? locator.mode : 'id', value: locator.value === undefined || locator.value === null ? '' : String(locator.value) };
	}
	return { mode: 'id', value: value === undefined || value === null ? '' : String(value) };
}

/** The organizer slug of an organizer locator value (URLs resolved through pretix when needed). */
export async function resolveOrganizer(client: PretixClient, value: unknown): Promise<string> {
	const locator = locatorOf(value);
	if (locator.mode === 'url') return await resolveOrganizerUrl(client, locator.value);
	return assertSlug(locator.value, 'organizer');
}

export function attendeeOptionsProperty(resource: string, operations: string[]): INodeProperties {
	return attendeeOptionsCollection({ resource: [resource], operation: operations });
}

/** The attendee "Options" collection, shown where `show` matches (also used by Pretix Trigger). */
export function attendeeOptionsCollection(show: Record<string, Array<string | boolean>>): INodeProperties {
	return {
		displayName: 'Options',
		name: 'attendeeOptions',
		type: 'collection',
		placeholder: 'Add Option',
		displayOptions: { show },
		default: {},
		options: [
			{
				displayName: 'Date ID (Event Series)',
				name: 'subevent',
				type: 'string',
				default: '',
				placeholder: '123',
				description: 'Only tickets for this date of an event series (the number after the event in its shop URL)',
			},
			{
				displayName: 'Include Attendee E-Mail',
				name: 'includeEmail',
				type: 'boolean',
				default: false,
				description: 'Whether to output the attendee e-mail and the buyer e-mail (personal data; off by default)',
			},
			{
				displayName: 'Include Attendee Name',
				name: 'includeName',
				type: 'boolean',
				default: false,
				description: 'Whether to output the attendee name (personal data; off by default)',
			},
			{
				displayName: 'Include Tickets Without Access',
				name: 'includeInactive',
				type: 'boolean',
				default: false,
				description:
					'Whether to also output tickets that grant no access now (access "pending": unpaid, awaiting approval, not valid yet; "revoked": canceled, expired, blocked, denied), so Plan can withdraw what they granted. Every ticket carries access and accessReason.',
			},
			{
				displayName: 'Item IDs',
				name: 'itemIds',
				type: 'string',
				default: '',
				placeholder: '201, 203',
				description: 'Only attendees of these products (comma-separated pretix item IDs). Add-on products select the attendee they were booked for.',
			},
			{
				displayName: 'Matrix ID Question Identifier',
				name: 'questionIdentifier',
				type: 'string',
				default: 'matrix',
				description: 'The identifier of the pretix question that asks for the Matrix ID (compared case-insensitively)',
			},
			{
				displayName: 'Order Statuses',
				name: 'statuses',
				type: 'multiOptions',
				options: [
					{
						name: 'Paid',
						value: 'p',
					},
					{
						name: 'Pending',
						value: 'n',
					},
				],
				default: ['p'],
				description:
					'Orders in these states grant access. Pending: unpaid orders too (e.g. invoice payment). Orders awaiting approval, canceled, expired and test-mode orders never do; "valid if pending" orders always do.',
			},
			{
				displayName: 'Variation IDs',
				name: 'variationIds',
				type: 'string',
				default: '',
				placeholder: '11, 12',
				description: 'Only attendees of these product variations (comma-separated pretix variation IDs)',
			},
		],
	};
}

export function readAttendeeOptions(context: IExecuteFunctions, itemIndex: number): AttendeeOptions {
	return parseAttendeeOptions(context.getNodeParameter('attendeeOptions', itemIndex, {}) as IDataObject);
}

export function attendeeJson(attendee: Attendee): IDataObject {
	return { ...attendee } as unknown as IDataObject;
}

/** PretixApiError → the n8n error type that fits: bad input is the user's to fix, the rest is the API's. */
export function toNodeError(context: Pick<IExecuteFunctions, 'getNode'>, error: unknown, itemIndex?: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof PretixApiError) {
		if (error.kind === 'invalid_input') return new NodeOperationError(context.getNode(), error.message, { itemIndex, description: error.hint });
		const safe: JsonObject = { kind: error.kind, message: error.message };
		if (error.status !== undefined) safe.httpCode = String(error.status);
		return new NodeApiError(context.getNode(), safe, {
			itemIndex,
			message: error.message,
			description: error.hint,
			httpCode: error.status === undefined ? undefined : String(error.status),
		});
	}
	return new NodeOperationError(context.getNode(), error instanceof Error ? error.message : 'Unexpected error', { itemIndex });
}

export async function readEventRef(context: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<EventRef> {
	const by = context.getNodeParameter('eventBy', itemIndex, 'url') as string;
	if (by === 'slugs') {
		const event = locatorOf(context.getNodeParameter('event', itemIndex, ''));
		// An event URL names its organizer (custom domains included), so it wins over the organizer field.
		if (event.mode === 'url') return await resolveEventUrl(client, event.value);
		return { organizer: await resolveOrganizer(client, context.getNodeParameter('organizer', itemIndex, '')), event: assertSlug(event.value, 'event') };
	}
	return await resolveEventUrl(client, String(context.getNodeParameter('eventUrl', itemIndex, '') ?? ''));
}
