import type { INodeProperties } from 'n8n-workflow';

import { show } from '../common';

export function roomProperty(operations: string[], required: boolean): INodeProperties {
	return {
		displayName: 'Room ID',
		name: 'room',
		type: 'string',
		default: '',
		required,
		placeholder: '!abc123:example.org',
		description: required
			? 'The Matrix room attendees are invited to (a matrix.to or matrix: link is stored as the room it names)'
			: 'Only mappings of this room (empty: any room)',
		displayOptions: show('roomMapping', operations),
	};
}

export function mappingEventProperty(operations: string[], required: boolean): INodeProperties {
	return {
		displayName: 'Event',
		name: 'event',
		type: 'string',
		default: '',
		required,
		placeholder: 'summit26',
		description: required
			? 'The pretix event (slug, or organizer/event as used in Claim)'
			: 'Only mappings of this event (empty: any event)',
		displayOptions: show('roomMapping', operations),
	};
}

export function filterProperties(operations: string[], forResolve: boolean): INodeProperties[] {
	if (forResolve) {
		return [
			{
				displayName: 'Item ID',
				name: 'item',
				type: 'string',
				default: '={{ $json.itemId }}',
				description: "The attendee's pretix item (product) ID",
				displayOptions: show('roomMapping', operations),
			},
			{
				displayName: 'Variation ID',
				name: 'variation',
				type: 'string',
				default: '={{ $json.variationId }}',
				description: "The attendee's pretix variation ID, if any",
				displayOptions: show('roomMapping', operations),
			},
			{
				displayName: 'Date ID',
				name: 'subevent',
				type: 'string',
				default: '={{ $json.subeventId }}',
				description: "The date of an event series the ticket is for (pretix sub-event ID), if any",
				displayOptions: show('roomMapping', operations),
			},
			{
				displayName: 'Add-On Of',
				name: 'addonTo',
				type: 'string',
				default: '={{ $json.addonTo }}',
				description: 'The parent position when the ticket is an add-on (unfiltered mappings leave add-ons out)',
				displayOptions: show('roomMapping', operations),
			},
		];
	}
	return [
		{
			displayName: 'Item ID',
			name: 'item',
			type: 'string',
			default: '',
			description: 'Only attendees with this pretix item (product) ID; empty for all items',
			displayOptions: show('roomMapping', operations),
		},
		{
			displayName: 'Variation ID',
			name: 'variation',
			type: 'string',
			default: '',
			description: 'Only attendees with this pretix variation ID; empty for all variations',
			displayOptions: show('roomMapping', operations),
		},
	];
}
