import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError, type JsonObject } from 'n8n-workflow';

import { assertSlug, parseAttendeeOptions, PretixApiError, resolveEventUrl, type Attendee, type AttendeeOptions, type EventRef, type PretixClient } from '../../../lib/pretix';

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
					name: 'Organizer and Event Slugs',
					value: 'slugs',
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
		{
			displayName: 'Organizer Slug',
			name: 'organizer',
			type: 'string',
			displayOptions: { show: { ...show, eventBy: ['slugs'] } },
			default: '',
			required: true,
			placeholder: 'myorg',
		},
		{
			displayName: 'Event Slug',
			name: 'event',
			type: 'string',
			displayOptions: { show: { ...show, eventBy: ['slugs'] } },
			default: '',
			required: true,
			placeholder: 'myevent',
		},
	];
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
				description: 'Orders in these states count. Canceled and test-mode orders never do.',
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
		return {
			organizer: assertSlug(context.getNodeParameter('organizer', itemIndex, ''), 'organizer'),
			event: assertSlug(context.getNodeParameter('event', itemIndex, ''), 'event'),
		};
	}
	return await resolveEventUrl(client, String(context.getNodeParameter('eventUrl', itemIndex, '') ?? ''));
}
