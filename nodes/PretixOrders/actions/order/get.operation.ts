import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { fetchOrderAttendees, type PretixClient } from '../../../../lib/pretix';
import { attendeeJson, attendeeOptionsProperty, eventSelection, readAttendeeOptions, readEventRef } from '../common';

export const description: INodeProperties[] = [
	...eventSelection('order', ['get']),
	{
		displayName: 'Order Code',
		name: 'code',
		type: 'string',
		displayOptions: { show: { resource: ['order'], operation: ['get'] } },
		default: '',
		required: true,
		placeholder: 'ABC12',
	},
	attendeeOptionsProperty('order', ['get']),
];

/** The order's active attendees, as "Attendee: Get Many" returns them (none for canceled orders). */
export async function execute(this: IExecuteFunctions, client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	const ref = await readEventRef(this, client, itemIndex);
	const options = readAttendeeOptions(this, itemIndex);
	const code = String(this.getNodeParameter('code', itemIndex, '') ?? '');
	const result = await fetchOrderAttendees(client, ref.organizer, ref.event, code, options);
	return result.attendees.map((attendee) => ({ json: attendeeJson(attendee), pairedItem: { item: itemIndex } }));
}
